#!/usr/bin/env bash
# Perplexity and KL of RTN / GPTQ / AWQ at 8, 4, 3 and 2 bits on a model edgellm trained itself
# (issue 6's table). Usage: bench/compress-ppl.sh [BASE.gguf] [OUTDIR]
# Held-out text: documents of study users the base never saw; calibration: memorized users' documents,
# so calibration and evaluation never share a sentence.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-bench/study/bases/base-s.gguf}
out=${2:-/tmp/compress-ppl}
bin=${EDGELLM_BIN:-build/edgellm}
threads=${THREADS:-1}
mkdir -p "$out"

"$bin" study gen --first 1000000 --users 40 --format text -o "$out/heldout.txt" >/dev/null
"$bin" study gen --first 0 --users 40 --format text -o "$out/calib.txt" >/dev/null

row() {  # model -> "PPL | ln(PPL/ref) ± | mean KL ± | same top-1"
  "$bin" -t "$threads" perplexity -m "$1" -f "$out/heldout.txt" -c 256 --ref "$base" >"$1.log" 2>&1
  sed -n 's/^PPL = \([0-9.]*\) .*ln(PPL\/ref) = \([-0-9.]*\) +\/- \([0-9.]*\)$/\1 | \2 ± \3/p' "$1.log" | tr -d '\n'
  sed -n 's/^Mean KLD: \([0-9.]*\) +\/- \([0-9.]*\).*same top p: \([0-9.]*%\).*/ | \1 ± \2 | \3/p' "$1.log"
}

echo "| type | method | PPL | ln(PPL/PPL(f16)) ± paired s.e. | mean KL to f16 ± s.e. | same top-1 |"
echo "|---|---|---:|---:|---:|---:|"
echo "| f16 | — | $(row "$base") |"
for type in q8_0 q4_0 uint4g128 int3g32 int3g128 int2g32; do
  for method in rtn gptq awq; do
    q="$out/$method-$type.gguf"
    "$bin" -t "$threads" quantize -m "$base" --method "$method" --type "$type" --calib "$out/calib.txt" \
      --calib-tokens 32768 --seq-len 256 -o "$q" >"$q.quant.log" 2>&1
    echo "| $type | $method | $(row "$q") |"
  done
done
