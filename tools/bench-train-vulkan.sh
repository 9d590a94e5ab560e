#!/usr/bin/env bash
# Full training on a Vulkan GPU in one command: builds with -DEDGELLM_VULKAN=ON, checks on this GPU every
# gradient, AdamW step and cross-device checkpoint against the CPU (test_vulkan's training cases), then prints
# pretraining tokens/s and the fraction of the fp32 peak at ~1M, 4M, 16M and 25M parameters (bench_train_vulkan).
# Not a convergence run (random weights and tokens), not the inference benchmark (tools/bench-vulkan.sh).
# Usage: tools/bench-train-vulkan.sh [peak_tflops=66.9 (H100 SXM; PCIe 51.2)] [seq=256] [micro_batch=8] [steps=5]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build-vulkan}
export CCACHE_BASEDIR="$PWD"
[[ -f "$B/CMakeCache.txt" ]] || cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELLM_VULKAN=ON >/dev/null
grep -q '^EDGELLM_VULKAN:BOOL=ON' "$B/CMakeCache.txt" || cmake -S . -B "$B" -DEDGELLM_VULKAN=ON >/dev/null
ninja -C "$B" test_vulkan bench_train_vulkan >/dev/null
"$B"/tests/test_vulkan -tc='*full training*,*LoRA gradients*'
"$B"/bench/bench_train_vulkan "${1:-66.9}" "${2:-256}" "${3:-8}" "${4:-5}"
