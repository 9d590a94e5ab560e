#!/usr/bin/env bash
# Decode speed below 4 bits (issue 23 item 4): on the same GGUF files, edgellm's LUT GEMV (the default at M = 1 for
# Q2_K, Q3_K and 2/3-bit group-int weights), edgellm with EDGELLM_LUT=0 (Q2_K/Q3_K: their Q8_K integer dots;
# group-int: the dequantizing gint_dot) and llama.cpp's llama-bench, at 1, 2 and 4 threads, order flipped every
# round. A group-int file (edgellm's own tensor types) runs in edgellm only. Prints a markdown table.
# Not an installer, not a builder of llama.cpp, not a converter; make the files first, e.g. (1.1B, random weights):
#   edgellm convert -m builtin:1.1b --type q2_k -o 1.1b-q2_k.gguf              llama-quantize's Q2_K mix (Q2_K
#                                                                              matrices, Q3_K attn_output and
#                                                                              ffn_down, Q4_K attn_v, Q6_K output)
#   edgellm convert -m builtin:1.1b --type q2_k --pure -o 1.1b-q2_k-pure.gguf  every matrix Q2_K
#   edgellm convert -m builtin:1.1b --type q3_k -o 1.1b-q3_k.gguf              every matrix Q3_K (q3_k is a tensor
#                                                                              type, not a file type: always pure)
#   edgellm quantize -m F16.gguf --method rtn --type uint2g128 -o m-uint2g128.gguf   group-int, edgellm only
# Usage: bench/lowbit_vs_llamacpp.sh LLAMA_BENCH MODEL.gguf...
# Env: EL=build/edgellm  THREADS="1 2 4"  TG=64 REPS=3 ROUNDS=2
set -euo pipefail
LB=${1:?usage: bench/lowbit_vs_llamacpp.sh LLAMA_BENCH MODEL.gguf...}
shift
(($#)) || { echo "lowbit_vs_llamacpp: no MODEL.gguf given" >&2; exit 2; }
MODELS=("$@")
EL=${EL:-build/edgellm}
read -r -a THREADS <<<"${THREADS:-1 2 4}"
TG=${TG:-64}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
for f in "$LB" "$EL" "${MODELS[@]}"; do [[ -e "$f" ]] || { echo "lowbit_vs_llamacpp: $f does not exist" >&2; exit 2; }; done

# The mean tokens/s of the tg row of a llama-bench-shaped table ("| ... | tgN | mean ± sd |").
tg_rate() { awk -F'|' '/tg[0-9]/ { split($(NF-1), a, " "); print a[1]; exit }'; }
# The weight types of a model and their counts, from `edgellm info` ("q2_k×154 q3_k×66 ...").
types_of() { "$EL" info "$1" | awk -F'|' '/\.weight/ { gsub(/ /, "", $3); n[$3]++ } END { for (t in n) printf "%s×%d ", t, n[t] }'; }
is_gint() { types_of "$1" | grep -q 'gint'; }
run_tool() {  # tool model threads: prints t/s
  case $1 in
    lut) "$EL" bench -m "$2" -p 0 -n "$TG" -r "$REPS" --threads-list "$3" | tg_rate ;;
    nolut) EDGELLM_LUT=0 "$EL" bench -m "$2" -p 0 -n "$TG" -r "$REPS" --threads-list "$3" | tg_rate ;;
    llama) "$LB" -m "$2" -p 0 -n "$TG" -r "$REPS" -t "$3" -o md 2>/dev/null | tg_rate ;;
  esac
}
echo "# decode (tg$TG) tokens/s, $ROUNDS rounds, order flipped between rounds; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), nproc $(nproc)"
echo "# edgellm: $("$EL" info | awk -F'|' '$2 ~ /^ lut_gemv(_kquant)? / {gsub(/ /, "", $2); gsub(/ /, "", $3); printf "%s %s; ", $2, $3}')llama.cpp: $LB"
for m in "${MODELS[@]}"; do echo "# $m: $(types_of "$m")"; done
declare -A sum cnt
for ((r = 0; r < ROUNDS; r++)); do
  for m in "${MODELS[@]}"; do
    tools=(lut nolut)
    is_gint "$m" || tools+=(llama)
    ((r % 2)) && tools=($(printf '%s\n' "${tools[@]}" | tac))
    for t in "${THREADS[@]}"; do
      for tool in "${tools[@]}"; do
        v=$(run_tool "$tool" "$m" "$t")
        echo "round $r $m threads $t $tool $v" >&2
        sum[$m,$tool,$t]=$(awk -v a="${sum[$m,$tool,$t]:-0}" -v b="${v:-0}" 'BEGIN { print a + b }')
        cnt[$m,$tool,$t]=$((${cnt[$m,$tool,$t]:-0} + 1))
      done
    done
  done
done
mean() { awk -v s="${sum[$1,$2,$3]:-0}" -v n="${cnt[$1,$2,$3]:-0}" 'BEGIN { if (n > 0) printf "%.1f", s / n; else printf "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo "| model | threads | edgellm LUT | edgellm EDGELLM_LUT=0 | llama.cpp | LUT / llama.cpp | LUT / EDGELLM_LUT=0 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  for t in "${THREADS[@]}"; do
    a=$(mean "$m" lut "$t") d=$(mean "$m" nolut "$t") l=$(mean "$m" llama "$t")
    echo "| $(basename "$m") | $t | $a | $d | $l | $(ratio "$a" "$l") | $(ratio "$a" "$d") |"
  done
done
