#!/usr/bin/env bash
# Benchmarks the Vulkan backend on this machine's GPU: builds with -DEDGELLM_VULKAN=ON, makes random ~1.1B
# models at Q4_0 and F16 (no download), times prompt processing (pp512) and generation (tg128) with
# `edgellm bench --device vulkan`, measures the GPU's memory bandwidth (triad shader) and prints tokens/s next
# to the bandwidth bound (bandwidth / model bytes) as a markdown table, to $OUT/bench-vulkan.md if $OUT is set.
# Not an installer: it needs no network and stops with a clear message when glslc or the Vulkan headers are missing.
# Usage: tools/bench-vulkan.sh [device]   (device: vulkan (default) or vulkan:N)
# Env: REPS=3 PP=512 TG=128 PRESET=1.1b (builtin preset), EDGELLM_BIN=path (skip the build, use that binary).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${1:-vulkan}
REPS=${REPS:-3}
PP=${PP:-512}
TG=${TG:-128}
BUILD=${BUILD:-build-vulkan}
PRESET=${PRESET:-1.1b}
WORK=${WORK:-/tmp/bench-vulkan-models}

if [[ -n "${EDGELLM_BIN:-}" ]]; then
  EL=$EDGELLM_BIN
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
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGELLM_VULKAN=ON -DEDGELLM_BUILD_TESTS=OFF \
    -DEDGELLM_BUILD_BENCH=OFF >/dev/null
  ninja -C "$BUILD" -j"$(nproc)" edgellm_cli >/dev/null
  EL="$BUILD/edgellm"
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

table="| model | weights (MiB) | test | t/s (Vulkan) | bound t/s (BW / weights) | % of bound |
|---|---:|---|---:|---:|---:|"
for type in q4_0 f16; do
  M="$WORK/builtin-$PRESET-$type.gguf"
  [[ -f "$M" ]] || "$EL" convert -m "builtin:$PRESET" --type "$type" -o "$M" >&2
  out=$("$EL" bench -m "$M" --device "$DEVICE" -p "$PP" -n "$TG" -r "$REPS")
  echo "$out" >&2
  while IFS='|' read -r _ model size _ backend _ test tps _; do
    [[ "$backend" =~ Vulkan ]] || continue
    mib=$(echo "$size" | sed 's/ MiB//; s/ //g')
    rate=$(echo "$tps" | awk '{print $1}')
    test=$(echo "$test" | tr -d ' ')
    # Generation reads every weight once per token: t/s <= BW / bytes. Prompt processing reuses each weight
    # across the batch (compute-bound), so it has no bandwidth bound of this kind.
    if [[ $test == tg* ]]; then
      bound=$(awk -v bw="$BW" -v mib="$mib" 'BEGIN { printf "%.1f", bw * 1e9 / (mib * 1048576) }')
      pct=$(awk -v r="$rate" -v b="$bound" 'BEGIN { printf "%.0f%%", 100 * r / b }')
    else
      bound="(compute-bound)"
      pct="-"
    fi
    table+=$'\n'"| $(echo "$model" | sed 's/^ *//; s/ *$//') | $mib | $test | $rate | $bound | $pct |"
  done <<<"$(echo "$out" | grep '^| ' | tail -n +3)"
done

report="## Vulkan on $GPU

Memory bandwidth (triad shader, best of 3): **$BW GB/s**. Models: random \`builtin:$PRESET\` converted with
\`edgellm convert --type q4_0|f16\`; \`edgellm bench -m M --device $DEVICE -p $PP -n $TG -r $REPS\`.
The bound is bandwidth / weight bytes (the token-embedding table, read on the CPU, is included: a slight overestimate).

$table
"
echo "$report"
if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  echo "$report" >"$OUT/bench-vulkan.md"
  echo "written: $OUT/bench-vulkan.md" >&2
fi
