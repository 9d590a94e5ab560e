#!/usr/bin/env python3
# Charges insn_count.so's per-block counts (tbs=FILE) to the functions of a static binary, for the difference of two
# runs (the region of interest), and prints the heaviest functions per unit. Not a call graph: inlined code counts
# toward the function it was inlined into, and a function's callees are listed separately.
# Usage: insn_by_symbol.py NM_FILE TBS_SHORT TBS_LONG UNITS TOP   (NM_FILE: `nm -n --defined-only BINARY`)
import bisect
import subprocess
import sys


def load_symbols(path):
    starts, names = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            # Code symbols only (t/T text, w/W weak); data and absolute symbols would split functions wrongly.
            if len(parts) == 3 and parts[1] in "tTwW":
                starts.append(int(parts[0], 16))
                names.append(parts[2])
    return starts, names


def per_symbol(path, starts, names):
    totals = {}
    with open(path) as f:
        for line in f:
            vaddr, n, execs = line.split()
            i = bisect.bisect_right(starts, int(vaddr, 16)) - 1
            name = names[i] if i >= 0 else "?"
            totals[name] = totals.get(name, 0) + int(n) * int(execs)
    return totals


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: insn_by_symbol.py NM_FILE TBS_SHORT TBS_LONG UNITS TOP")
    nm_file, short, long_, units, top = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    starts, names = load_symbols(nm_file)
    a, b = per_symbol(short, starts, names), per_symbol(long_, starts, names)
    diff = {k: (b.get(k, 0) - a.get(k, 0)) / units for k in set(a) | set(b)}
    total = sum(diff.values())
    rows = sorted(diff.items(), key=lambda kv: -kv[1])[:top]
    demangled = subprocess.run(["c++filt"], input="\n".join(k for k, _ in rows), capture_output=True, text=True,
                               check=True).stdout.splitlines()
    print(f"  {total:14.0f}  100.0%  (all)")
    for (_, v), name in zip(rows, demangled):
        print(f"  {v:14.0f}  {100 * v / total:5.1f}%  {name[:150]}")


if __name__ == "__main__":
    main()
