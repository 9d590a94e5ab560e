#!/usr/bin/env bash
# Cross-builds the whole library, the C API, the CLI and every test binary for aarch64 (static) and runs, under
# qemu-aarch64: the runtime and kernel suites in full (NEON really executes), then a subset that proves the models
# and their consumers on ARM against the same fixtures and tolerances as on x86. Not the study's plots (no arm64 cairo).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere reuses earlier objects.
export CCACHE_BASEDIR="$PWD"
bash tools/deps.sh build cross
B=build-aarch64
# The header-only deps, without the rest of the host's /usr/include (its libc headers are x86's).
mkdir -p $B/xinclude
for d in xsimd fmt doctest nlohmann CLI; do ln -sfn /usr/include/$d $B/xinclude/$d; done
X=$PWD/$B/xinclude
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DEDGELLM_BUILD_BENCH=OFF -DEDGELLM_FMT_HEADER_ONLY=ON -DXSIMD_INCLUDE_DIR=$X -DFMT_INCLUDE_DIR=$X \
  -DDOCTEST_INCLUDE_DIR=$X -DNLOHMANN_JSON_INCLUDE_DIR=$X -DCLI11_INCLUDE_DIR=$X >/dev/null
cmake --build $B -j"$(nproc)"
file $B/tests/test_kernels $B/edgellm | sed 's/,.*static/: static/'

echo "--- runtime and kernel suites in full"
ctest --test-dir $B --output-on-failure -V -R '^test_(runtime|kernels)$' 2>&1 |
  grep -E "edgellm tests: active ISA|vs scalar|test cases|Test +#|tests passed|tests failed|FAILED|ERROR" | uniq
ctest --test-dir $B --output-on-failure -R '^test_(runtime|kernels)$' >/dev/null
# qemu's default CPU (max) has i8mm, so the panel GEMM ran on smmla above; a dotprod CPU without i8mm runs its sdot body.
qemu-aarch64 -cpu neoverse-n1 $B/tests/test_kernels -tc="*i8_panel*" | grep -E "test cases|ERROR|FAILED" |
  sed 's/^/sdot panel (qemu -cpu neoverse-n1): /'

echo "--- models and consumers under qemu-aarch64"
FX=$(cd ../shared/fixtures && pwd)
export EDGELLM_FIXTURES="$FX" EDGELLM_UNDER_EMULATOR=1
q() { qemu-aarch64 "$@"; }
step() {  # step NAME COMMAND...: runs it, prints its time, stops the script on failure
  local name=$1 t0=$SECONDS; shift
  "$@" >"$B/aarch64-$name.log" 2>&1 || { cat "$B/aarch64-$name.log"; echo "aarch64 $name: FAILED"; exit 1; }
  grep -E "test cases:" "$B/aarch64-$name.log" || true
  echo "aarch64 $name: ok ($((SECONDS - t0)) s)"
}
t_all=$SECONDS
# Logits, activations and greedy ids of tiny-llama and tiny-qwen2 against transformers and llama.cpp's GGUFs (f32/f16,
# Q8_0/Q4_0), with the x86 tolerances (the same test code). The k-quant fixtures are checked block by block in
# test_kernels above; kquant's whole-text perplexities take minutes under qemu and stay x86-only.
step models q $B/tests/test_models -tc="tiny-llama from safetensors*,tiny-qwen2*,GGUF F32 and F16*,tiny-llama Q8_0 and Q4_0*"
# A LoRA step: logits, loss and lora_A/lora_B gradients against peft, one AdamW update against torch, and peft's
# adapter (PEFT and LoRA-GGUF) applied to the HF and GGUF bases.
step train q $B/tests/test_train -tc="LoRA: logits*,one AdamW step*,peft's fixture adapter*"
# RAG: BM25 against hand-computed scores, dense top-k against brute force, build/query through the C API.
step rag q $B/tests/test_rag -tc="BM25 scores*,dense top-k*,C API: rag*"
# The CLI's RAG: index tests/rag/data, then a BM25 query whose first hit is known (as CTest's cli_rag_query_bm25).
step rag_index q $B/edgellm rag index -m builtin:tiny tests/rag/data -o $B/aarch64.rag --chunk-tokens 64 --overlap 8
q $B/edgellm rag query $B/aarch64.rag "Who bakes sourdough in Lyon?" -k 2 --mode bm25 | grep -E "^  1 .* notes/bob.md" ||
  { echo "aarch64 rag query: bob.md is not the first hit"; exit 1; }
# The C API example compiled as C: load, tokenize, evaluate, sample, generate with a callback, error codes.
step c_api q $B/tests/c_api_example
# The CLI generating greedily from the HF fixture; where the native build is there, the text must be x86's.
gen=(generate -m "$FX/tiny-llama/model" -p "This program is free software" -n 8 --greedy --ignore-eos)
step cli q $B/edgellm "${gen[@]}"
if [[ -x build/edgellm ]]; then  # stdout only: stderr has the timing line
  cmp <(q $B/edgellm "${gen[@]}" 2>/dev/null) <(build/edgellm "${gen[@]}" 2>/dev/null) ||
    { echo "aarch64 cli: text differs from x86's"; exit 1; }
  echo "aarch64 cli: same text as the x86 build"
fi
echo "models and consumers under qemu-aarch64: $((SECONDS - t_all)) s"
