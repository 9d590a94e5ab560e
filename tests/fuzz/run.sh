#!/bin/sh
# Builds the libFuzzer targets in build-san/ (clang, ASan+UBSan) and runs each for SECONDS on generated seeds,
# JOBS targets at a time; fails on any crash, leak, sanitizer report, timeout or out-of-memory. Prints libFuzzer's
# final executions and coverage per target. Not the long campaign: that is this script with a large SECONDS.
# usage: tests/fuzz/run.sh [SECONDS=25] [TARGET ...]     env: JOBS=2, BUILD=build-san, EDGELLM_FIXTURES
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-25}
[ $# -gt 0 ] && shift
. "$ROOT/tests/fuzz/targets.sh"
TARGETS=${*:-$FUZZ_TARGETS}
BUILD=${BUILD:-$ROOT/build-san}
JOBS=${JOBS:-2}

# The same tree as tools/test-sanitize.sh (which also runs the unit suite in it).
if [ ! -f "$BUILD/build.ninja" ]; then
  FLAGS="-O1 -gline-tables-only -DNDEBUG"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_COMPILER=clang "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$FLAGS" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$FLAGS" \
    -DEDGELLM_FUZZ=ON -DEDGELLM_BUILD_BENCH=OFF >/dev/null
fi
started=$(date +%s)
BINS="fuzz_seedgen edgellm_cli"
for t in $TARGETS; do BINS="$BINS fuzz_$t"; done
# shellcheck disable=SC2086
ninja -C "$BUILD" -j"${NINJA_JOBS:-2}" $BINS
"$ROOT/tests/fuzz/make_seeds.sh" "$BUILD"

run_one() {  # run_one TARGET: fuzz it; its log in $BUILD/fuzz-logs/TARGET.log
  t=$1
  corpus=$BUILD/fuzz-corpus/$t
  mkdir -p "$corpus" "$BUILD/fuzz-crashes" "$BUILD/fuzz-logs"
  OMP_NUM_THREADS=1 ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$BUILD/tests/fuzz/fuzz_$t" "$corpus" "$BUILD/fuzz-seeds/$t" \
    -dict="$(fuzz_dict "$t" "$BUILD")" -max_len="$(max_len "$t")" -max_total_time="$SECONDS_EACH" -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-crashes/$t-" >"$BUILD/fuzz-logs/$t.log" 2>&1
}

report() {  # report TARGET RC: one line per target
  log=$BUILD/fuzz-logs/$1.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  covline=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  if [ "$2" -eq 0 ]; then status=ok; else status="CRASH (rc $2; see $log and $BUILD/fuzz-crashes/)"; fi
  printf '%-16s %5ss  execs %-9s %-22s %s\n' "$1" "$SECONDS_EACH" "${execs:-?}" "${covline:-cov: ?}" "$status"
}

fail=0
set -- $TARGETS
while [ $# -gt 0 ]; do
  batch=""
  i=0
  while [ $# -gt 0 ] && [ $i -lt "$JOBS" ]; do batch="$batch $1"; shift; i=$((i + 1)); done
  pids=""
  for t in $batch; do
    run_one "$t" &
    pids="$pids $!:$t"
  done
  for p in $pids; do
    rc=0
    wait "${p%%:*}" || rc=$?
    report "${p#*:}" "$rc"
    [ "$rc" -eq 0 ] || fail=1
  done
done
if [ "$fail" -ne 0 ]; then
  echo "fuzz: crashes found (reproduce: $BUILD/tests/fuzz/fuzz_TARGET CRASH_FILE)"
  for f in "$BUILD"/fuzz-logs/*.log; do
    grep -q -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|deadly signal' "$f" && { echo "== $f"; grep -E -A25 'ERROR:|runtime error|uncaught|terminate' "$f" | head -60; }
  done
  exit 1
fi
echo "fuzz: no crashes ($(echo $TARGETS | wc -w) targets, ${SECONDS_EACH} s each, $JOBS at a time: $(( $(date +%s) - started )) s in all)"
