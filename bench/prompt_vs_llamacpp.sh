#!/usr/bin/env bash
# Prompt speed (pp64, pp512) of edgellm against llama.cpp's llama-bench on the same GGUFs and thread counts (issue 23:
# >= 1.2x for Q4_0, Q8_0, Q4_K, Q5_K, Q6_K and the Q4_K_M/Q5_K_M mixes), both tools alternating in one loop with the
# order flipped every round. Prints one markdown table. Not an installer and not a builder of llama.cpp.
# Usage: bench/prompt_vs_llamacpp.sh MODEL.gguf... LLAMA_BENCH   (e.g. models made by `edgellm convert --type q4_k_m`)
# Env: EL=build/edgellm  THREADS="1 2 4"  PROMPTS="64 512"  REPS=3  ROUNDS=2
set -euo pipefail
(($# >= 2)) || { echo "usage: bench/prompt_vs_llamacpp.sh MODEL.gguf... LLAMA_BENCH" >&2; exit 2; }
LLAMA_BENCH=${*: -1}
MODELS=("${@:1:$#-1}")
EL=${EL:-build/edgellm}
read -r -a THREADS <<<"${THREADS:-1 2 4}"
read -r -a PROMPTS <<<"${PROMPTS:-64 512}"
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
[[ -x "$EL" ]] || { echo "no edgellm at $EL (set EL=)" >&2; exit 2; }
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
echo "edgellm's panel kernel: $("$EL" info | grep -m1 i8_panel_ukernel | tr -s ' ')"
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
