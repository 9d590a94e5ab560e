#!/usr/bin/env bash
# Decode speed below 4 bits (issue 23 item 4): edgellm's LUT GEMV on a 2/3-bit group-int model, the same model on
# edgellm's dequantizing path (EDGELLM_LUT=0), and llama.cpp's llama-bench on a Q2_K/Q3_K GGUF of the same weights
# (edgellm also runs that one: its K-quant integer dots), at 1, 2 and 4 threads, order flipped every round.
# Prints a markdown table. Not an installer, not a builder of llama.cpp, not a quantizer (see the usage below).
# Usage: bench/lowbit_vs_llamacpp.sh MODEL_EDGELLM MODEL_LLAMACPP LLAMA_BENCH [THREADS...]
#   MODEL_EDGELLM:  e.g. edgellm quantize -m F16.gguf --method rtn --type uint2g128 -o m-uint2g128.gguf
#   MODEL_LLAMACPP: e.g. edgellm quantize -m F16.gguf --method rtn --type q2_k --pure -o m-q2_k.gguf (both tools
#                   load it) or llama-quantize --pure F16.gguf m-q2_k.gguf Q2_K
# Env: EL=build/edgellm  TG=64 REPS=3 ROUNDS=2
set -euo pipefail
ME=${1:?usage: bench/lowbit_vs_llamacpp.sh MODEL_EDGELLM MODEL_LLAMACPP LLAMA_BENCH [THREADS...]}
ML=${2:?missing MODEL_LLAMACPP}
LB=${3:?missing LLAMA_BENCH (path to llama-bench)}
shift 3
EL=${EL:-build/edgellm}
TG=${TG:-64}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
if (($#)); then THREADS=("$@"); else THREADS=(1 2 4); fi
for f in "$ME" "$ML" "$LB" "$EL"; do [[ -e "$f" ]] || { echo "lowbit_vs_llamacpp: $f does not exist" >&2; exit 2; }; done

# The mean tokens/s of the tg row of a llama-bench-shaped table ("| ... | tgN | mean ± sd |").
tg_rate() { awk -F'|' '/tg[0-9]/ { split($(NF-1), a, " "); print a[1]; exit }'; }
run_tool() {  # tool threads: prints t/s
  case $1 in
    lut) "$EL" bench -m "$ME" -p 0 -n "$TG" -r "$REPS" --threads-list "$2" | tg_rate ;;
    dequant) EDGELLM_LUT=0 "$EL" bench -m "$ME" -p 0 -n "$TG" -r "$REPS" --threads-list "$2" | tg_rate ;;
    el_kq) "$EL" bench -m "$ML" -p 0 -n "$TG" -r "$REPS" --threads-list "$2" | tg_rate ;;
    llama) "$LB" -m "$ML" -p 0 -n "$TG" -r "$REPS" -t "$2" -o md 2>/dev/null | tg_rate ;;
  esac
}
TOOLS=(lut dequant el_kq llama)
echo "# decode (tg$TG) tokens/s, $ROUNDS rounds, order flipped between rounds; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), nproc $(nproc)"
echo "edgellm: $ME ($("$EL" info | awk -F'|' '$2 ~ /^ lut_gemv / {gsub(/ /, "", $3); print "lut_gemv " $3}')); llama.cpp: $ML"
declare -A sum cnt
for ((r = 0; r < ROUNDS; r++)); do
  order=("${TOOLS[@]}")
  ((r % 2)) && order=($(printf '%s\n' "${TOOLS[@]}" | tac))
  for t in "${THREADS[@]}"; do
    for tool in "${order[@]}"; do
      v=$(run_tool "$tool" "$t")
      echo "round $r threads $t $tool $v" >&2
      sum[$tool,$t]=$(awk -v a="${sum[$tool,$t]:-0}" -v b="${v:-0}" 'BEGIN { print a + b }')
      cnt[$tool,$t]=$((${cnt[$tool,$t]:-0} + 1))
    done
  done
done
mean() { awk -v s="${sum[$1,$2]:-0}" -v n="${cnt[$1,$2]:-0}" 'BEGIN { if (n > 0) printf "%.1f", s / n; else printf "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo "| threads | edgellm LUT | edgellm dequant (EDGELLM_LUT=0) | edgellm on the K-quant GGUF | llama.cpp | LUT / llama.cpp | LUT / dequant |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for t in "${THREADS[@]}"; do
  a=$(mean lut "$t") d=$(mean dequant "$t") k=$(mean el_kq "$t") l=$(mean llama "$t")
  echo "| $t | $a | $d | $k | $l | $(ratio "$a" "$l") | $(ratio "$a" "$d") |"
done
