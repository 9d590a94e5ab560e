#!/usr/bin/env bash
# One clang tree (build-san/) with ASan+UBSan and libFuzzer's coverage (EDGELLM_FUZZ): the whole unit suite runs in
# it, then every fuzz target for FUZZ_SECONDS each (default 20, two at a time) from seeds generated in the tree.
# Any sanitizer report, crash or failing test fails the run. Not the long fuzz campaign: tests/fuzz/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere reuses earlier objects.
export CCACHE_BASEDIR="$PWD"
bash tools/deps.sh build sanitize
B=${BUILD:-build-san}
# -O1: the suite under ASan is as fast as at -O2 here and the tree compiles faster; line tables give symbolized
# reports at a fraction of -g's cost. No bench/, no shared library (EDGELLM_FUZZ leaves it out).
FLAGS="-O1 -gline-tables-only -DNDEBUG"
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$FLAGS" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$FLAGS" \
  -DEDGELLM_FUZZ=ON -DEDGELLM_BUILD_BENCH=OFF >/dev/null
cmake --build "$B" -j"$(nproc)"
(
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  # Third-party process-wide caches only (see the file); CLI subprocesses of the tests inherit it.
  export LSAN_OPTIONS="suppressions=$PWD/tests/asan/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir "$B" --output-on-failure -j"$(nproc)"
)
BUILD="$PWD/$B" JOBS="${FUZZ_JOBS:-2}" tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
