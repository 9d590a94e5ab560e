#!/usr/bin/env bash
# Benchmarks the Vulkan backend on this machine's GPU in one command: builds with -DEDGELLM_VULKAN=ON, checks the
# decode path on this GPU against the CPU (test_vulkan's model and matvec cases), makes random builtin models
# (110m and 1.1b at Q4_0 by default; no download), times prompt processing (pp512) and generation (tg128) with
# `edgellm bench` on the GPU and on the CPU, measures the GPU's memory bandwidth (triad shader) and prints
# tokens/s next to the bandwidth bound (bandwidth / weight bytes) and the fraction of it reached, then the decode
# step's per-token vkCmd*/dispatch/barrier/submit counts and t/s, per-op recorded vs fused and replayed
# (bench_decode_vulkan). Markdown to stdout, and to $OUT/bench-vulkan.md if $OUT is set.
# Not an installer: it needs no network and stops with a clear message when glslc or the Vulkan headers are missing.
# Usage: tools/bench-vulkan.sh [device]   (device: vulkan (default) or vulkan:N)
# Env: REPS=3 PP=512 TG=128 MODELS="110m:q4_0 1.1b:q4_0" (builtin preset:type ...), CPU_THREADS=4, CHECK=1
# (0 skips the tests), SPLITS="auto" (or e.g. "auto 1 2 4 8": the decode counts once per forced
# EDGELLM_VULKAN_MATVEC_SPLIT, K split over that many warps per row pair), EDGELLM_BIN=path (skip the build, use
# that binary; no tests, no counts).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${1:-vulkan}
REPS=${REPS:-3}
PP=${PP:-512}
TG=${TG:-128}
BUILD=${BUILD:-build-vulkan}
MODELS=${MODELS:-"110m:q4_0 1.1b:q4_0"}
CPU_THREADS=${CPU_THREADS:-4}
CHECK=${CHECK:-1}
SPLITS=${SPLITS:-auto}
WORK=${WORK:-/tmp/bench-vulkan-models}

if [[ -n "${EDGELLM_BIN:-}" ]]; then
  EL=$EDGELLM_BIN
  DECODE=""
else
  missing=()
  command -v cmake >/dev/null || missing+=("cmake")
  command -v ninja >/dev/null || missing+=("ninja-build")
  command -v glslc >/dev/null || missing+=("glslc")
  [[ -f /usr/include/vulkan/vulkan.h ]] || missing+=("libvulkan-dev")
  { ldconfig -p 2>/dev/null | grep -q "libvulkan.so.1" || ls /usr/lib/*/libvulkan.so.1 >/dev/null 2>&1; } || missing+=("libvulkan1")
  if ((${#missing[@]})); then
    echo "tools/bench-vulkan.sh: missing: ${missing[*]} (Debian packages; tools/deps.sh vulkan installs them)" >&2
    exit 2
  fi
  export CCACHE_BASEDIR="$PWD"
  [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELLM_VULKAN=ON >/dev/null
  grep -q '^EDGELLM_VULKAN:BOOL=ON' "$BUILD/CMakeCache.txt" || cmake -S . -B "$BUILD" -DEDGELLM_VULKAN=ON >/dev/null
  targets=(edgellm_cli bench_decode_vulkan)
  [[ $CHECK == 1 ]] && targets+=(test_vulkan)
  ninja -C "$BUILD" -j"$(nproc)" "${targets[@]}" >/dev/null
  EL="$BUILD/edgellm"
  DECODE="$BUILD/bench/bench_decode_vulkan"
  if [[ $CHECK == 1 ]]; then  # the fused decode step and its shaders on this GPU, against the CPU
    "$BUILD"/tests/test_vulkan -tc='*vulkan llama*,*matvec_fused*,*per weight type*' >&2
  fi
fi

"$EL" info | sed -n '/^vulkan devices/,$p' >&2
if ! "$EL" info | grep -q '^  vulkan:'; then
  echo "tools/bench-vulkan.sh: the Vulkan loader lists no device (is the GPU's ICD installed? vulkaninfo --summary)" >&2
  exit 3
fi

mkdir -p "$WORK"
bw_out=$("$EL" bench --device "$DEVICE")
echo "$bw_out" >&2
BW=$(echo "$bw_out" | sed -n 's/^bandwidth_gbs: //p')
GPU=$(echo "$bw_out" | sed -n '3p' | cut -d'|' -f2 | sed 's/^ *//; s/ *$//')

# rate FILE N_PROMPT N_GEN: avg t/s of that test from `edgellm bench -o csv`.
rate() { awk -F, -v p="$2" -v g="$3" 'NR > 1 && $(NF-3) == p && $(NF-2) == g { printf "%.1f", $(NF-1) }' "$1"; }

table="| model | weights (MiB) | test | t/s Vulkan | t/s CPU ($CPU_THREADS threads) | Vulkan / CPU | bound t/s (BW / weights) | % of bound |
|---|---:|---|---:|---:|---:|---:|---:|"
counts=""
for spec in $MODELS; do
  preset=${spec%%:*} type=${spec##*:}
  M="$WORK/builtin-$preset-$type.gguf"
  [[ -f "$M" ]] || "$EL" convert -m "builtin:$preset" --type "$type" -o "$M" >&2
  "$EL" bench -m "$M" --device "$DEVICE" -p "$PP" -n "$TG" -r "$REPS" -o csv >"$WORK/gpu.csv"
  "$EL" bench -m "$M" -p "$PP" -n "$TG" -r "$REPS" -t "$CPU_THREADS" -o csv >"$WORK/cpu.csv"
  cat "$WORK/gpu.csv" "$WORK/cpu.csv" >&2
  bytes=$(awk -F, 'NR == 2 { print $(NF-7) }' "$WORK/gpu.csv")
  mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
  for t in "pp$PP $PP 0" "tg$TG 0 $TG"; do
    read -r name np ng <<<"$t"
    g=$(rate "$WORK/gpu.csv" "$np" "$ng") c=$(rate "$WORK/cpu.csv" "$np" "$ng")
    ratio=$(awk -v g="$g" -v c="$c" 'BEGIN { printf "%.2f", (c > 0 ? g / c : 0) }')
    # Generation reads every weight once per token: t/s <= BW / bytes, and the fraction reached is
    # bytes × t/s / BW. Prompt processing reuses each weight across the batch (compute-bound): no such bound.
    if [[ $name == tg* ]]; then
      bound=$(awk -v bw="$BW" -v b="$bytes" 'BEGIN { printf "%.0f", bw * 1e9 / b }')
      pct=$(awk -v r="$g" -v bw="$BW" -v b="$bytes" 'BEGIN { printf "%.1f%%", 100 * b * r / (bw * 1e9) }')
    else
      bound="(compute-bound)" pct="-"
    fi
    table+=$'\n'"| $preset $type | $mib | $name | $g | $c | $ratio | $bound | $pct |"
  done
  if [[ -n "$DECODE" ]]; then
    for sp in $SPLITS; do
      [[ $sp == auto ]] && sp=""
      counts+=$'\n'"${sp:+EDGELLM_VULKAN_MATVEC_SPLIT=$sp: }$(EDGELLM_VULKAN_MATVEC_SPLIT=$sp "$DECODE" "$M" 64 8)"$'\n'
    done
  fi
done

report="## Vulkan on $GPU

Memory bandwidth (triad shader, best of 3): **$BW GB/s**. Models: random \`builtin:<preset>\` converted with
\`edgellm convert --type <type>\`; \`edgellm bench -m M --device $DEVICE -p $PP -n $TG -r $REPS\` and the same on
the CPU with \`-t $CPU_THREADS\`. The bound is bandwidth / weight bytes (the token-embedding table, read on the
CPU, is included: a slight overestimate); % of bound = weight bytes × t/s / bandwidth.

$table
"
if [[ -n "$counts" ]]; then
  report+="
### The decode step per token (bench_decode_vulkan MODEL 64 8)
$counts"
fi
echo "$report"
if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  echo "$report" >"$OUT/bench-vulkan.md"
  echo "written: $OUT/bench-vulkan.md" >&2
fi
