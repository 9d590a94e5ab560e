# Charges insn_count.so's per-block counts (tbs=FILE) to the functions of a static binary for the difference of two
# runs (the region of interest) and prints the heaviest functions per unit, mangled (pipe through c++filt). Not a
# call graph: inlined code counts toward the function it was inlined into; callees are listed on their own.
# Usage: awk -v units=N -v top=T -f insn_by_symbol.awk NM_FILE TBS_SHORT TBS_LONG
#        (NM_FILE: `nm -n --defined-only BINARY`; TBS lines: "vaddr n_insns executions", vaddr in hex)
function hex(s,    v, i) {
  v = 0
  s = tolower(s)
  for (i = 1; i <= length(s); ++i) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
  return v
}
function symbol_of(a,    lo, hi, mid) {  # the last code symbol starting at or below a
  lo = 0
  hi = n
  while (lo < hi) {
    mid = int((lo + hi + 1) / 2)
    if (start[mid] <= a) lo = mid; else hi = mid - 1
  }
  return lo ? name[lo] : "?"
}
FNR == 1 { ++file }
# Code symbols only (t/T text, w/W weak): data and absolute symbols would split functions wrongly.
file == 1 { if (NF == 3 && $2 ~ /^[tTwW]$/) { start[++n] = hex($1); name[n] = $3 } next }
{ total[symbol_of(hex($1))] += (file == 2 ? -1 : 1) * $2 * $3 }
END {
  for (s in total) all += total[s]
  printf "%16.0f  100.0%%  (all)\n", all / units
  for (k = 1; k <= top; ++k) {  # top is small: pick the largest remaining each time
    best = ""
    for (s in total) if (!(s in shown) && (best == "" || total[s] > total[best])) best = s
    if (best == "") break
    shown[best] = 1
    printf "%16.0f  %5.1f%%  %s\n", total[best] / units, 100 * total[best] / all, best
  }
}
