#!/usr/bin/env bash
# Guest instructions per token of decode (tg) and prompt (pp) for edgellm and llama.cpp's llama-bench, both aarch64
# builds of the same GGUFs, counted under qemu-aarch64 by bench/qemu/insn_count.so on one thread (issue 23). Prints one
# markdown table. Not a timer (qemu cannot see stalls; bench/RESULTS.md says why the count is still a fair proxy) and
# not a builder of either tool.
# Usage: bench/insn_count.sh EDGELLM LLAMA_BENCH MODEL.gguf...   (static aarch64 binaries: tools/test-aarch64.sh builds
#        build-aarch64/edgellm; llama-bench from a cross build of llama.cpp, see bench/RESULTS.md)
# Env: CPU=neoverse-n1 (qemu -cpu: both tools see the same features)  N_GEN=16  N_PROMPT=64
#      TOP=0 (> 0: also each tool's TOP heaviest functions per token)  WORK=a temporary directory (logs, counts)
#
# The region of interest is one repetition of llama-bench-style tests: each figure is the count of a run with -r 2
# minus that of the same run with -r 1, so loading, repacking, warm-up and exit cancel; decode divides by N_GEN tokens
# (positions 0..N_GEN-1 of an empty cache, one token per call), prompt by N_PROMPT (one batch of N_PROMPT tokens).
set -euo pipefail
(($# >= 3)) || { echo "usage: bench/insn_count.sh EDGELLM LLAMA_BENCH MODEL.gguf..." >&2; exit 2; }
EL=$1 LB=$2
shift 2
MODELS=("$@")
CPU=${CPU:-neoverse-n1}
N_GEN=${N_GEN:-16}
N_PROMPT=${N_PROMPT:-64}
TOP=${TOP:-0}
QEMU=${QEMU:-qemu-aarch64}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
for b in "$EL" "$LB"; do
  [[ -x "$b" ]] || { echo "insn_count.sh: $b is not an executable" >&2; exit 2; }
  file -L "$b" | grep -q "ARM aarch64.*statically linked" ||
    { echo "insn_count.sh: $b is not a static aarch64 binary" >&2; exit 2; }
done

SO=$WORK/insn_count.so
gcc -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -o "$SO" "$HERE/qemu/insn_count.c" -lpthread

count() {  # count TOOL MODEL N_PROMPT N_GEN REPS TAG: prints the run's guest instructions
  local tool=$1 model=$2 p=$3 n=$4 r=$5 tag=$6 args cmd
  args="out=$WORK/$tag.out"
  ((TOP > 0)) && args+=",tbs=$WORK/$tag.tbs"
  case $tool in
    edgellm) cmd=("$EL" bench -m "$model" -p "$p" -n "$n" -r "$r" -t 1) ;;
    llama.cpp) cmd=("$LB" -m "$model" -p "$p" -n "$n" -r "$r" -t 1 --no-warmup) ;;
  esac
  nice "$QEMU" -cpu "$CPU" -plugin "$SO,$args" "${cmd[@]}" >"$WORK/$tag.log" 2>&1 ||
    { cat "$WORK/$tag.log" >&2; echo "insn_count.sh: $tool failed on $model (log $WORK/$tag.log)" >&2; exit 1; }
  read -r _ _ insns _ vcpus _ <"$WORK/$tag.out"
  # The inline counters are not atomic; a second guest thread running kernels would make the count unreliable.
  ((vcpus == 1)) || echo "insn_count.sh: warning: $tool ran $vcpus threads on $model ($tag)" >&2
  echo "$insns"
}

per_token() {  # per_token TOOL MODEL N_PROMPT N_GEN UNITS TAG: instructions of one repetition / UNITS
  local a b
  a=$(count "$1" "$2" "$3" "$4" 1 "$6-r1")
  b=$(count "$1" "$2" "$3" "$4" 2 "$6-r2")
  echo "$(( (b - a) / $5 ))"
}

symbols() {  # symbols TOOL BINARY TAG UNITS: the heaviest functions of that difference
  [[ -s "$WORK/$1.nm" ]] || aarch64-linux-gnu-nm -n --defined-only "$2" >"$WORK/$1.nm"
  echo "$1, $3 ($4 tokens), instructions per token by function:"
  awk -v units="$4" -v top="$TOP" -f "$HERE/qemu/insn_by_symbol.awk" "$WORK/$1.nm" "$WORK/$3-r1.tbs" "$WORK/$3-r2.tbs" |
    c++filt | cut -c1-160
}

qv=$("$QEMU" --version | head -1 | awk '{print $3}')
echo "# guest instructions per token, qemu-aarch64 $qv -cpu $CPU, 1 thread;" \
  "tg$N_GEN and pp$N_PROMPT, one repetition (-r 2 minus -r 1); logs in $WORK"
kernels='^\| (vec_dot_q4_0_q8_0|vec_dot_q4_k_q8_k|quantize_q8_0|quantize_q8_k|i8_panel_ukernel) \|'
echo "edgellm kernels: $("$QEMU" -cpu "$CPU" "$EL" info 2>&1 | grep -E "$kernels" | tr -s ' ' | paste -sd';')"
declare -A tg pp
for m in "${MODELS[@]}"; do
  name=$(basename "$m" .gguf)
  for tool in edgellm llama.cpp; do
    bin=$EL
    [[ $tool == llama.cpp ]] && bin=$LB
    tg[$tool|$m]=$(per_token "$tool" "$m" 0 "$N_GEN" "$N_GEN" "$tool-$name-tg")
    pp[$tool|$m]=$(per_token "$tool" "$m" "$N_PROMPT" 0 "$N_PROMPT" "$tool-$name-pp")
    echo "$name $tool: tg ${tg[$tool|$m]} pp ${pp[$tool|$m]} insns/token" >&2
    if ((TOP > 0)); then
      symbols "$tool" "$bin" "$tool-$name-tg" "$N_GEN" >&2
      symbols "$tool" "$bin" "$tool-$name-pp" "$N_PROMPT" >&2
    fi
  done
done
echo
echo "| tool | model | decode insns/token | prompt insns/token | decode vs llama.cpp | prompt vs llama.cpp |"
echo "|---|---|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  for tool in edgellm llama.cpp; do
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
    echo "| $tool | $(basename "$m" .gguf) | ${tg[$tool|$m]} | ${pp[$tool|$m]} |" \
      "$(ratio "${tg[$tool|$m]}" "${tg[llama.cpp|$m]}") | $(ratio "${pp[$tool|$m]}" "${pp[llama.cpp|$m]}") |"
  done
done
