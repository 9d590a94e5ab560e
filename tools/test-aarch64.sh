#!/usr/bin/env bash
# Cross-builds runtime/ + kernels/ and their tests for aarch64 (static) and runs them under
# qemu-aarch64, so the NEON kernels really execute. The log names the ISA each test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere reuses earlier objects.
export CCACHE_BASEDIR="$PWD"
bash tools/deps.sh build cross
B=build-aarch64
mkdir -p $B/xinclude
for d in xsimd fmt doctest; do ln -sfn /usr/include/$d $B/xinclude/$d; done
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DEDGELLM_KERNELS_ONLY=ON -DEDGELLM_BUILD_BENCH=OFF -DEDGELLM_FMT_HEADER_ONLY=ON \
  -DXSIMD_INCLUDE_DIR=$PWD/$B/xinclude -DFMT_INCLUDE_DIR=$PWD/$B/xinclude -DDOCTEST_INCLUDE_DIR=$PWD/$B/xinclude >/dev/null
cmake --build $B -j"$(nproc)"
file $B/tests/test_kernels | sed 's/,.*static/: static/'
ctest --test-dir $B --output-on-failure -V 2>&1 | grep -E "edgellm tests: active ISA|vs scalar|test cases|Test +#|tests passed|tests failed|FAILED|ERROR" | uniq
ctest --test-dir $B --output-on-failure >/dev/null
