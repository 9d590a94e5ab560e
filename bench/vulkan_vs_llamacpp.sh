#!/usr/bin/env bash
# edgellm's Vulkan backend next to llama.cpp's on one GGUF and one GPU: `edgellm bench --device vulkan` and
# llama.cpp's `llama-bench -ngl 99` (all layers on the GPU) alternate for ROUNDS rounds, the order flipped every
# round (so neither always runs on a warmer or cooler GPU), and the medians of pp and tg t/s and their ratio
# are printed as markdown (to $OUT/vulkan-vs-llamacpp.md too if $OUT is set). Not a build of llama.cpp: pass
# the path of a llama-bench built with -DGGML_VULKAN=ON; nothing of llama.cpp is part of edgellm.
# Usage: bench/vulkan_vs_llamacpp.sh MODEL.gguf LLAMA_BENCH
# Env: ROUNDS=4 REPS=3 PP=512 TG=128 DEVICE=vulkan EDGELLM_BIN=build-vulkan/edgellm (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# != 2)); then
  echo "usage: bench/vulkan_vs_llamacpp.sh MODEL.gguf LLAMA_BENCH" >&2
  exit 2
fi
MODEL=$1
LB=$2
ROUNDS=${ROUNDS:-4}
REPS=${REPS:-3}
PP=${PP:-512}
TG=${TG:-128}
DEVICE=${DEVICE:-vulkan}
BUILD=${BUILD:-build-vulkan}
EL=${EDGELLM_BIN:-$BUILD/edgellm}
[[ -f "$MODEL" ]] || { echo "bench/vulkan_vs_llamacpp.sh: no model file $MODEL" >&2; exit 2; }
[[ -x "$LB" ]] || { echo "bench/vulkan_vs_llamacpp.sh: $LB is not an executable llama-bench" >&2; exit 2; }
if [[ ! -x "$EL" ]]; then
  export CCACHE_BASEDIR="$PWD"
  [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELLM_VULKAN=ON >/dev/null
  ninja -C "$BUILD" -j"$(nproc)" edgellm_cli >/dev/null
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Both print llama-bench's markdown table; the last two columns are the test (pp512, tg128) and "t/s ± sd".
# Appends "tool test t/s" lines to $TMP/runs.
run() {
  local tool=$1 out
  if [[ $tool == edgellm ]]; then
    out=$("$EL" bench -m "$MODEL" --device "$DEVICE" -p "$PP" -n "$TG" -r "$REPS")
  else
    out=$("$LB" -m "$MODEL" -ngl 99 -p "$PP" -n "$TG" -r "$REPS" -o md)
  fi
  echo "$out" >&2
  echo "$out" | awk -F'|' -v tool="$tool" '/^\|/ && $(NF-2) ~ /(pp|tg)[0-9]/ {
    t = $(NF-2); r = $(NF-1); gsub(/ /, "", t); split(r, a, "±"); gsub(/ /, "", a[1]); print tool, t, a[1] }' >>"$TMP/runs"
}

for ((i = 0; i < ROUNDS; ++i)); do
  if ((i % 2 == 0)); then run edgellm; run llama.cpp; else run llama.cpp; run edgellm; fi
done

# Median of the values of (tool, test).
median() {
  awk -v tool="$1" -v t="$2" '$1 == tool && $2 == t { print $3 }' "$TMP/runs" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
gpu=$("$EL" info | sed -n '/^vulkan devices/,$p' | sed -n '2p' | sed 's/^ *//')
table="| test | edgellm t/s | llama.cpp t/s | edgellm / llama.cpp |
|---|---:|---:|---:|"
for t in "pp$PP" "tg$TG"; do
  e=$(median edgellm "$t") l=$(median llama.cpp "$t")
  ratio=$(awk -v e="$e" -v l="$l" 'BEGIN { if (l + 0 > 0 && e + 0 > 0) printf "%.2f", e / l; else print "-" }')
  table+=$'\n'"| $t | $e | $l | $ratio |"
done
report="## edgellm Vulkan vs llama.cpp Vulkan

Model \`$(basename "$MODEL")\`, device: $gpu. $ROUNDS rounds, the order flipped each round; medians of the rounds'
means (each of $REPS repetitions): \`edgellm bench -m M --device $DEVICE -p $PP -n $TG -r $REPS\` and
\`$(basename "$LB") -m M -ngl 99 -p $PP -n $TG -r $REPS\`.

$table
"
echo "$report"
if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  echo "$report" >"$OUT/vulkan-vs-llamacpp.md"
fi
