#!/usr/bin/env bash
# CI step: runs test_vulkan of the -DEDGELLM_VULKAN=ON tree that tools/build.sh makes (build/, or $BUILD) on
# Mesa's lavapipe (a Vulkan driver on the CPU), then the CLI end to end on the device. Not a GPU benchmark
# (tools/bench-vulkan.sh). Needs: tools/deps.sh build vulkan.
set -euo pipefail
cd "$(dirname "$0")/.."
FIXTURES=${EDGELLM_FIXTURES_DIR:-$(cd .. && pwd)/shared/fixtures}
B=${BUILD:-build}
export CCACHE_BASEDIR="$PWD"
# Reuses the tree's cache as it is (re-passing other -D values would rebuild every test).
[[ -f "$B/CMakeCache.txt" ]] || cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELLM_VULKAN=ON >/dev/null
grep -q '^EDGELLM_VULKAN:BOOL=ON' "$B/CMakeCache.txt" || cmake -S . -B "$B" -DEDGELLM_VULKAN=ON >/dev/null
ninja -C "$B" -j"$(nproc)" test_vulkan edgellm_cli
# lavapipe: pick its ICD explicitly when it is installed, so a GPU driver on the runner does not take over.
if [[ -z "${VK_ICD_FILENAMES:-}" ]]; then
  for f in /usr/share/vulkan/icd.d/lvp_icd.*.json; do
    [[ -f "$f" ]] && export VK_ICD_FILENAMES="$f" && break
  done
fi
export EDGELLM_VULKAN_TIMEOUT_MS=${EDGELLM_VULKAN_TIMEOUT_MS:-60000}
"$B"/edgellm info | sed -n '/^vulkan devices/,$p'
"$B"/tests/test_vulkan
# The discrete-GPU path (device-local buffers filled through staging copies), forced on lavapipe.
EDGELLM_VULKAN_STAGING=1 "$B"/tests/test_vulkan -tc='*logits match*,*context*'
# Training's gradients through the tiled f32 GEMM and split-K, which its tiny shapes would not pick (a few seconds).
EDGELLM_VULKAN_GEMM=128x64_8x4:3 "$B"/tests/test_vulkan -tc='*full training: every parameter*,*LoRA gradients*'
# The models' quantized prompts through the dequantizing tiles at every M (their prompts are shorter than the
# 32 rows that take them by default) and split-K (a few seconds).
EDGELLM_VULKAN_QGEMM=tiled:3 "$B"/tests/test_vulkan -tc='*logits match*,*kquant models*,*LoRA gradients*,*hold-out*'
# The tensor-core prompt tiles through their plain-code twin (lavapipe has no cooperative matrices): staging, edges,
# epilogue and split-K against f16-rounded double loops (about 40 s, most of it lavapipe compiling the twin).
EDGELLM_VULKAN_COOPMAT=emulate "$B"/tests/test_vulkan -tc='*tensor-core*,*coop by shape*'
# The models' decode steps through the matvecs with a lane per Q4_0/Q8_0 block, through every type staged (the
# default stages only the K-quants) and through words everywhere with the attention of one workgroup per head
# (which the split attention replaced as the default).
EDGELLM_VULKAN_MATVEC=blocks "$B"/tests/test_vulkan -tc='*logits match*,*fused decode*'
# The words path with 4 and 8 steps' loads in flight, with the weights' L2 prefetch recorded beside each dispatch.
for m in deep deep8; do
  EDGELLM_VULKAN_MATVEC=$m EDGELLM_VULKAN_PREFETCH=64 "$B"/tests/test_vulkan -tc='*logits match*,*fused decode*'
done
EDGELLM_VULKAN_MATVEC=wide "$B"/tests/test_vulkan -tc='*logits match*,*fused decode*,*kquant models*'
EDGELLM_VULKAN_MATVEC=words EDGELLM_VULKAN_ATTENTION_DECODE=head "$B"/tests/test_vulkan \
  -tc='*logits match*,*fused decode*,*kquant models*'
# The CLI path end to end: perplexity on the device equals the CPU's. The shaders use the dequantized weights in
# f32; the CPU's prompt-sized products quantize activations to 8 bits (as llama.cpp does), which moves this
# perplexity by about 8e-4 relative (899.27 vs 898.55), so the bound is 2e-3. test_vulkan checks the shaders
# against the CPU's f32 math at 1e-5.
m="$FIXTURES/kquant/model-q4_0.gguf"
cpu=$("$B"/edgellm perplexity -m "$m" -f "$FIXTURES/kquant/eval.txt" -c 128 | sed -n 's/.*PPL = \([0-9.]*\).*/\1/p')
gpu=$("$B"/edgellm perplexity -m "$m" -f "$FIXTURES/kquant/eval.txt" -c 128 --device vulkan | sed -n 's/.*PPL = \([0-9.]*\).*/\1/p')
echo "perplexity cpu $cpu vulkan $gpu"
awk -v a="$cpu" -v b="$gpu" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d / a < 2e-3) }' ||
  { echo "tools/test-vulkan.sh: perplexity differs between CPU ($cpu) and Vulkan ($gpu)" >&2; exit 1; }
# The same through the tensor-core tiles' twin (f16 operands; 898.57 against 898.55 here): the prompt's products
# at the model's shapes, the tile picked by shape.
coop=$(EDGELLM_VULKAN_COOPMAT=emulate EDGELLM_VULKAN_QGEMM=coop "$B"/edgellm perplexity -m "$m" \
  -f "$FIXTURES/kquant/eval.txt" -c 128 --device vulkan | sed -n 's/.*PPL = \([0-9.]*\).*/\1/p')
echo "perplexity cpu $cpu vulkan, tensor-core tiles' twin $coop"
awk -v a="$cpu" -v b="$coop" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d / a < 2e-3) }' ||
  { echo "tools/test-vulkan.sh: perplexity differs between CPU ($cpu) and the coop tiles ($coop)" >&2; exit 1; }
# Every family runs on the device: Gemma 2's fixture (soft-caps, sliding windows, GeGLU, post-norms; f32, so both
# sides multiply in f32) gives the CPU's perplexity to 1e-4 relative.
fam="$FIXTURES/families/gemma2/model"
head -c 4000 "$FIXTURES/kquant/eval.txt" >"$B/family-eval.txt"  # a few seconds on lavapipe
cpu=$("$B"/edgellm perplexity -m "$fam" -f "$B/family-eval.txt" -c 32 | sed -n 's/.*PPL = \([0-9.]*\).*/\1/p')
gpu=$("$B"/edgellm perplexity -m "$fam" -f "$B/family-eval.txt" -c 32 --device vulkan | sed -n 's/.*PPL = \([0-9.]*\).*/\1/p')
echo "gemma2 perplexity cpu $cpu vulkan $gpu"
awk -v a="$cpu" -v b="$gpu" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d / a < 1e-4) }' ||
  { echo "tools/test-vulkan.sh: gemma2 perplexity differs between CPU ($cpu) and Vulkan ($gpu)" >&2; exit 1; }
# LoRA fine-tuning: 4 steps on the device give the CPU's losses and gradient norms (loss.csv columns 2 and 4).
ft() {
  "$B"/edgellm finetune -m "$FIXTURES/tiny-llama/gguf/tiny-llama-f32.gguf" --data "$FIXTURES/kquant/eval.txt" \
    -o "$B/ft-$1" --steps 4 --batch 2 --seq-len 32 --lr 1e-2 --device "$1" --quiet \
    --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj >/dev/null
  cut -d, -f2,4 "$B/ft-$1/loss.csv"
}
diff <(ft cpu) <(ft vulkan) && echo "finetune --device vulkan: losses and gradient norms equal the CPU's"
# Full fine-tuning resident on the device (weights, gradients, AdamW's moments there): 4 steps give the CPU's
# losses and gradient norms to 1e-4 relative (the GPU's sums run in another order, so not to the last digit).
# Twice: tiny-llama, and Qwen3's fixture (QK-norm, the second-architecture base's block).
ftf() {
  "$B"/edgellm finetune -m "$2" --data "$FIXTURES/kquant/eval.txt" \
    -o "$B/ftf-$1" --method full --steps 4 --batch 2 --seq-len 32 --lr 1e-3 --device "$1" --quiet >/dev/null
  cut -d, -f2,4 "$B/ftf-$1/loss.csv" | tail -n +2
}
for m in "$FIXTURES/tiny-llama/gguf/tiny-llama-f32.gguf" "$FIXTURES/families/qwen3/model"; do
  paste -d, <(ftf cpu "$m") <(ftf vulkan "$m") | awk -F, '{ for (i = 1; i <= 2; ++i) { d = $i - $(i + 2); if (d < 0) d = -d;
    if (d > 1e-4 * ($i < 0 ? -$i : $i) + 1e-6) { print "row " NR ": cpu " $i " vulkan " $(i + 2); bad = 1 } } }
    END { exit bad }' && echo "finetune --method full --device vulkan ($m): losses and gradient norms equal the CPU's"
done
# The pipeline cache persists: a run that compiles pipelines writes it (VkPipelineCacheHeaderVersionOne: >= 32 bytes).
pc="$B/pipeline-cache.bin"
rm -f "$pc"
EDGELLM_VULKAN_PIPELINE_CACHE="$pc" "$B"/tests/test_vulkan -tc='*rmsnorm forward and backward*' >/dev/null
[[ $(stat -c %s "$pc" 2>/dev/null || echo 0) -ge 32 ]] || { echo "tools/test-vulkan.sh: no pipeline cache at $pc" >&2; exit 1; }
echo "pipeline cache written: $(stat -c %s "$pc") bytes"
