#!/usr/bin/env bash
# The threaded kernels under ThreadSanitizer: runtime/ + kernels/ and their tests (EDGELLM_KERNELS_ONLY) built
# by clang with -fsanitize=thread, run with 2+ threads; any report fails. Not the whole library (see test-sanitize.sh).
# OpenMP: clang's libomp is not built with TSan, so its barriers are invisible to TSan and every parallel_for would
# be reported as a race. libomp's OMPT tool Archer (libarcher.so, Debian's libomp-dev) tells TSan about them; with
# ignore_noninstrumented_modules=1 TSan also skips libomp's own uninstrumented code. GCC's libgomp has no such
# tool, hence clang here. No suppression file is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
bash tools/deps.sh build sanitize
B=${BUILD:-build-tsan}
FLAGS="-O1 -gline-tables-only -DNDEBUG -fsanitize=thread"
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$FLAGS" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DEDGELLM_KERNELS_ONLY=ON -DEDGELLM_BUILD_BENCH=OFF >/dev/null
cmake --build "$B" -j"$(nproc)"
ARCHER=$(dirname "$(readlink -f "$(command -v clang)")")/../lib/libarcher.so
[[ -f $ARCHER ]] || { echo "test-tsan: $ARCHER missing (Debian: libomp-dev)" >&2; exit 1; }
export OMP_TOOL_LIBRARIES=$ARCHER
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=1 ignore_noninstrumented_modules=1 second_deadlock_stack=1"
# Two threads at least even on a one-core machine (tests that set their own count keep it).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export ARCHER_OPTIONS="verbose=1"  # Archer says when it is active ("Archer detected OpenMP application with TSan")
# The canary: a real race in parallel_for must be reported (exit 66), or the clean run below proves nothing.
clang++ -std=c++20 -O1 -g -fsanitize=thread -fopenmp=libomp -I. tests/tsan/race_canary.cpp runtime/parallel.cpp \
  -o "$B/race_canary"
if TSAN_OPTIONS="$TSAN_OPTIONS exitcode=66 abort_on_error=0" "$B/race_canary" >"$B/race_canary.log" 2>&1; then
  echo "test-tsan: the race canary ran clean: TSan is not detecting races" >&2; exit 1
fi
grep -q "WARNING: ThreadSanitizer: data race" "$B/race_canary.log" || { cat "$B/race_canary.log" >&2; exit 1; }
echo "tsan: the race canary was reported (as it must be)"
"$B/tests/test_runtime"
"$B/tests/test_kernels"
echo "tsan: clean"
