#!/bin/sh
# The long fuzz campaign: each named target runs until it has had CPU_SECONDS of CPU time (user + sys, measured
# by /usr/bin/time), in chunks of CHUNK wall seconds, JOBS targets at a time. CPU time, not wall time, is the
# quota because the campaign shares the machine (it runs under `nice`): a chunk that got half a core counts half.
# Every chunk appends a row to BUILD/fuzz-logs/campaign.tsv; a target's spent time is the sum of its rows, so a
# campaign stopped (Ctrl-C, a lost session) resumes where it was by running the same command again.
# A crash ends that target's campaign (its input is in BUILD/fuzz-crashes/); the others go on. Exit 1 if any crashed.
# Same flags as run.sh except -timeout: 60 s, since a chunk at nice 19 beside a build can stall an input for
# seconds of wall time without it being slow.
# usage: tests/fuzz/campaign.sh TARGET:CPU_SECONDS ...     env: JOBS=2, CHUNK=600, NICE=19, BUILD=build-san
#        tests/fuzz/campaign.sh --status                   per target: chunks, CPU-s, executions, last cov/ft, crashes
#   e.g. tests/fuzz/campaign.sh gguf:3600 lamp:3600      (build and seeds: tests/fuzz/run.sh 1 TARGET first)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-san}
JOBS=${JOBS:-2}
CHUNK=${CHUNK:-600}
NICE=${NICE:-19}
LEDGER=$BUILD/fuzz-logs/campaign.tsv
. "$ROOT/tests/fuzz/targets.sh"
if [ "${1:-}" = "--status" ]; then
  [ -f "$LEDGER" ] || { echo "campaign: no ledger at $LEDGER" >&2; exit 2; }
  awk -F'\t' 'NR > 1 {
      if (!($2 in n)) order[++k] = $2
      n[$2]++; cpu[$2] += $4; wall[$2] += $3; if ($5 != "?") ex[$2] += $5
      if ($6 != "?") last[$2] = $6 " / " $7
      if ($8 != 0 && $8 != 72) crash[$2]++
    } END {
      printf "%-16s %6s %9s %9s %12s %14s %7s\n", "target", "chunks", "cpu_s", "wall_s", "executions", "cov / ft", "crashes"
      for (i = 1; i <= k; i++) { t = order[i]
        printf "%-16s %6d %9.0f %9.0f %12d %14s %7d\n", t, n[t], cpu[t], wall[t], ex[t], last[t], crash[t] }
    }' "$LEDGER"
  exit 0
fi
[ -x /usr/bin/time ] || { echo "campaign: /usr/bin/time missing (Debian: time)" >&2; exit 2; }
[ $# -gt 0 ] || { sed -n 's/^# usage: //p' "$0" >&2; exit 2; }
mkdir -p "$BUILD/fuzz-logs" "$BUILD/fuzz-crashes"
for job in "$@"; do  # a missing binary or seed folder is a setup error, never a ledger row
  t=${job%%:*}
  [ -x "$BUILD/tests/fuzz/fuzz_$t" ] && [ -d "$BUILD/fuzz-seeds/$t" ] ||
    { echo "campaign: $BUILD/tests/fuzz/fuzz_$t or its seeds missing: run tests/fuzz/run.sh 1 $t first" >&2; exit 2; }
  mkdir -p "$BUILD/fuzz-corpus/$t"
done
[ -f "$LEDGER" ] || printf 'utc_start\ttarget\twall_s\tcpu_s\texecs\tcov\tft\trc\n' >"$LEDGER"

spent() {  # spent TARGET: CPU seconds in the ledger, rounded down
  awk -F'\t' -v t="$1" '$2 == t { s += $4 } END { printf "%d\n", s }' "$LEDGER"
}

crashed() {  # crashed TARGET: 0 if a chunk of it ended in a crash
  awk -F'\t' -v t="$1" '$2 == t && $8 != 0 && $8 != 72 { c = 1 } END { exit !c }' "$LEDGER"
}

chunk() {  # chunk TARGET SECONDS: one libFuzzer run, one ledger row; returns libFuzzer's exit code
  t=$1
  log=$BUILD/fuzz-logs/campaign-$t.log
  start=$(date -u +%Y-%m-%dT%H:%M:%S)
  rc=0
  OMP_NUM_THREADS=1 ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} /usr/bin/time -f 'campaign-time %e %U %S' -o "$log.time" \
    nice -n "$NICE" "$BUILD/tests/fuzz/fuzz_$t" "$BUILD/fuzz-corpus/$t" "$BUILD/fuzz-seeds/$t" \
    -dict="$(fuzz_dict "$t" "$BUILD")" -max_len="$(max_len "$t")" -max_total_time="$2" -timeout=60 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-crashes/$t-" >"$log" 2>&1 || rc=$?
  # /usr/bin/time reports a non-zero status on its own first line; the last line holds the times.
  set -- $(tail -1 "$log.time")
  wall=$2 cpu=$(echo "$3 $4" | awk '{ printf "%.1f", $1 + $2 }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1\t\2/p')
  [ -n "$cov" ] || cov="?	?"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$t" "$wall" "$cpu" "${execs:-?}" "$cov" "$rc" >>"$LEDGER"
  cp "$log" "$BUILD/fuzz-logs/campaign-$t-$start.log"
  return "$rc"
}

campaign() {  # campaign TARGET QUOTA: chunks until the quota is spent or the target crashes
  t=$1 quota=$2
  while ! crashed "$t"; do
    left=$((quota - $(spent "$t")))
    # Done within 10 CPU-s: spent rounds down, and a chunk's CPU time never lands on the quota exactly.
    [ "$left" -gt 10 ] || break
    # A chunk as long as the CPU still owed, but at least 300 s (or CHUNK) of wall time: each chunk first replays
    # the whole corpus, and on a busy machine a short one would be little else. Overshooting a quota only fuzzes more.
    secs=$CHUNK
    [ "$left" -lt "$secs" ] && secs=$left
    floor=300
    [ "$CHUNK" -lt "$floor" ] && floor=$CHUNK
    [ "$secs" -lt "$floor" ] && secs=$floor
    rc=0
    chunk "$t" "$secs" || rc=$?
    [ "$rc" -eq 72 ] && { echo "campaign: $t interrupted at $(spent "$t") CPU-s"; return 2; }  # libFuzzer's exit on SIGINT
  done
  if crashed "$t"; then echo "campaign: $t CRASHED after $(spent "$t") CPU-s (BUILD/fuzz-crashes/$t-*)"; return 1; fi
  echo "campaign: $t done, $(spent "$t") CPU-s"
}

# JOBS workers share one queue of TARGET:QUOTA lines, so a core never idles while targets are left.
QUEUE=$BUILD/fuzz-logs/campaign.queue.$$
printf '%s\n' "$@" >"$QUEUE"
worker() {
  fail=0
  while :; do
    job=$(flock "$QUEUE.lock" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' _ "$QUEUE")
    [ -n "$job" ] || break
    rc=0
    campaign "${job%%:*}" "${job#*:}" || rc=$?
    [ "$rc" -eq 2 ] && break  # interrupted: leave the rest of the queue for the next run
    [ "$rc" -eq 0 ] || fail=1
  done
  return $fail
}
pids=""
i=0
while [ $i -lt "$JOBS" ]; do worker & pids="$pids $!"; i=$((i + 1)); done
fail=0
for p in $pids; do wait "$p" || fail=1; done
rm -f "$QUEUE" "$QUEUE.lock"
exit $fail
