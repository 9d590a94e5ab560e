#!/usr/bin/env bash
# Builds and runs the whole test suite (CTest over the doctest binaries), printing CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
