#!/usr/bin/env bash
# Prompt speed (pp64, pp512) of edgellm against llama.cpp's llama-bench on the same GGUFs and thread counts (issue 23:
# >= 1.2x for Q4_0, Q8_0, Q4_K, Q5_K, Q6_K and the Q4_K_M/Q5_K_M mixes), both tools alternating in one loop with the
# order flipped every round. Prints one markdown table. Not an installer and not a builder of llama.cpp.
# Usage: bench/prompt_vs_llamacpp.sh LLAMA_BENCH SOURCE   the seven GGUFs of issue 23 made from SOURCE (an f16/f32 GGUF
#                                                        or a Hugging Face directory) by `edgellm convert`, once, under
#                                                        DIR (Q4_0 Q8_0 Q4_K Q5_K Q6_K with --pure, Q4_K_M, Q5_K_M)
#        bench/prompt_vs_llamacpp.sh MODEL.gguf... LLAMA_BENCH   the given GGUFs instead
# Both tools load edgellm's GGUFs (llama-quantize's would do as well).
# Env: EL=build/edgellm  THREADS="1 2 4"  PROMPTS="64 512"  REPS=3  ROUNDS=2  DIR=build/prompt-models
#      TYPES="q4_0 q8_0 q4_k q5_k q6_k q4_k_m q5_k_m"
set -euo pipefail
usage="usage: bench/prompt_vs_llamacpp.sh LLAMA_BENCH SOURCE  |  bench/prompt_vs_llamacpp.sh MODEL.gguf... LLAMA_BENCH"
(($# >= 2)) || { echo "$usage" >&2; exit 2; }
EL=${EL:-build/edgellm}
read -r -a THREADS <<<"${THREADS:-1 2 4}"
read -r -a PROMPTS <<<"${PROMPTS:-64 512}"
read -r -a TYPES <<<"${TYPES:-q4_0 q8_0 q4_k q5_k q6_k q4_k_m q5_k_m}"
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
DIR=${DIR:-build/prompt-models}
[[ -x "$EL" ]] || { echo "no edgellm at $EL (set EL=)" >&2; exit 2; }
if (($# == 2)) && [[ "$1" != *.gguf && -x "$1" ]]; then
  LLAMA_BENCH=$1
  SOURCE=$2
  mkdir -p "$DIR"
  MODELS=()
  for t in "${TYPES[@]}"; do
    out="$DIR/$(basename "${SOURCE%.gguf}")-$t.gguf"
    pure=--pure
    [[ $t == *_[ms] ]] && pure=  # a mix: llama-quantize's choice of types per tensor
    [[ -s "$out" ]] || "$EL" convert -m "$SOURCE" --type "$t" $pure -o "$out" >&2
    MODELS+=("$out")
  done
else
  LLAMA_BENCH=${*: -1}
  MODELS=("${@:1:$#-1}")
fi
[[ -x "$LLAMA_BENCH" ]] || { echo "no llama-bench at $LLAMA_BENCH" >&2; exit 2; }

# The mean tokens/s of the ppN row of a llama-bench-shaped markdown table ("| ... | ppN | mean ± sd |").
pp_rate() { awk -F'|' '/ pp[0-9]+ / { split($(NF-1), a, " "); print a[1]; exit }'; }
run_tool() {  # tool model prompt threads: prints t/s
  case $1 in
    edgellm) "$EL" bench -m "$2" -p "$3" -n 0 -r "$REPS" --threads-list "$4" | pp_rate ;;
    llama) "$LLAMA_BENCH" -m "$2" -p "$3" -n 0 -r "$REPS" -t "$4" -o md 2>/dev/null | pp_rate ;;
  esac
}

declare -A sum cnt
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)
echo "# prompt tokens/s, $ROUNDS rounds, order flipped between rounds;$cpu, nproc $(nproc)"
echo "edgellm's panel kernels: $("$EL" info | grep -E 'i8_panel_(ukernel|pack_q4_k) ' | tr -s ' ' | tr '\n' ' ')"
for ((r = 0; r < ROUNDS; r++)); do
  order=(edgellm llama)
  ((r % 2)) && order=(llama edgellm)
  for m in "${MODELS[@]}"; do
    for p in "${PROMPTS[@]}"; do
      for t in "${THREADS[@]}"; do
        for tool in "${order[@]}"; do
          v=$(run_tool "$tool" "$m" "$p" "$t")
          echo "round $r $(basename "$m") pp$p threads $t $tool $v" >&2
          k="$tool|$m|$p|$t"
          sum[$k]=$(awk -v a="${sum[$k]:-0}" -v b="${v:-0}" 'BEGIN { print a + b }')
          cnt[$k]=$((${cnt[$k]:-0} + 1))
        done
      done
    done
  done
done
mean() { awk -v s="${sum[$1]:-0}" -v n="${cnt[$1]:-0}" 'BEGIN { if (n > 0) printf "%.1f", s / n; else printf "-" }'; }
echo "| model | test | threads | edgellm t/s | llama.cpp t/s | edgellm / llama.cpp |"
echo "|---|---|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  for p in "${PROMPTS[@]}"; do
    for t in "${THREADS[@]}"; do
      e=$(mean "edgellm|$m|$p|$t") l=$(mean "llama|$m|$p|$t")
      ratio=$(awk -v a="$e" -v b="$l" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')
      echo "| $(basename "$m") | pp$p | $t | $e | $l | $ratio |"
    done
  done
done
