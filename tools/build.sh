#!/usr/bin/env bash
# Configures and builds the native Release tree in build/ (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere reuses earlier objects.
export CCACHE_BASEDIR="$PWD"
bash tools/deps.sh build bench vulkan
# The Vulkan backend is built too (its tests run on Mesa's lavapipe when no GPU is present).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELLM_VULKAN=ON >/dev/null
cmake --build build -j"$(nproc)"
