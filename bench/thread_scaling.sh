#!/usr/bin/env bash
# Decode speed against thread count, and the busy-device ratio (issue 23): edgellm's thread pool, edgellm on OpenMP
# (EDGELLM_THREADS=omp, the path before the pool) and optionally a peer's llama-bench, alternating in one loop with the
# order flipped every round. Prints markdown tables. Not an installer and not a builder of the peer.
# Usage: bench/thread_scaling.sh MODEL.gguf [THREADS...]   (default threads: 1 2 4 8 12 16, those <= nproc)
# Env: EL=build/edgellm  LLAMA_BENCH=<path to llama-bench> (optional)  TG=64 REPS=3 ROUNDS=2
#      LOADED=1: also the busy-device case: both tools pinned to 2 CPUs that two busy loops also run on; LOADED=free:
#      two busy loops and the tools unpinned (the 2-core machine itself). The ratio of 2-thread to 1-thread decode
#      is what issue 23 asks to keep >= 0.8.
set -euo pipefail
MODEL=${1:?usage: bench/thread_scaling.sh MODEL.gguf [THREADS...]}
shift
EL=${EL:-build/edgellm}
TG=${TG:-64}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
NPROC=$(nproc)
if (($#)); then THREADS=("$@"); else THREADS=(); for t in 1 2 4 8 12 16; do ((t <= NPROC)) && THREADS+=("$t"); done; fi

# The mean tokens/s of the tg row of a llama-bench-shaped table ("| ... | tgN | mean ± sd |").
tg_rate() { awk -F'|' '/tg[0-9]/ { split($(NF-1), a, " "); print a[1]; exit }'; }
run_tool() {  # tool threads [prefix...]: prints t/s
  local tool=$1 t=$2
  shift 2
  case $tool in
    pool) "$@" env EDGELLM_THREADS=pool "$EL" bench -m "$MODEL" -p 0 -n "$TG" -r "$REPS" --threads-list "$t" | tg_rate ;;
    omp) "$@" env EDGELLM_THREADS=omp "$EL" bench -m "$MODEL" -p 0 -n "$TG" -r "$REPS" --threads-list "$t" | tg_rate ;;
    llama) "$@" "$LLAMA_BENCH" -m "$MODEL" -p 0 -n "$TG" -r "$REPS" -t "$t" -o md 2>/dev/null | tg_rate ;;
  esac
}
read -r -a TOOLS <<<"${TOOLS_LIST:-pool omp}"  # e.g. TOOLS_LIST=pool for a side-by-side with the peer only
[[ -n "${LLAMA_BENCH:-}" ]] && TOOLS+=(llama)

declare -A sum cnt
echo "# decode (tg$TG) tokens/s, $ROUNDS rounds, order flipped between rounds; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), nproc $NPROC"
echo "edgellm default thread count: $("$EL" info | awk -F: '/^threads/ {gsub(/ /, "", $2); print $2}')"
for ((r = 0; r < ROUNDS; r++)); do
  order=("${TOOLS[@]}")
  ((r % 2)) && order=($(printf '%s\n' "${TOOLS[@]}" | tac))
  for t in "${THREADS[@]}"; do
    for tool in "${order[@]}"; do
      v=$(run_tool "$tool" "$t")
      echo "round $r threads $t $tool $v" >&2
      sum[$tool,$t]=$(awk -v a="${sum[$tool,$t]:-0}" -v b="$v" 'BEGIN { print a + b }')
      cnt[$tool,$t]=$((${cnt[$tool,$t]:-0} + 1))
    done
  done
done
mean() { awk -v s="${sum[$1,$2]:-0}" -v n="${cnt[$1,$2]:-0}" 'BEGIN { if (n > 0) printf "%.1f", s / n; else printf "-" }'; }
if [[ -n "${LLAMA_BENCH:-}" ]]; then
  echo "| threads | edgellm (pool) | edgellm (OpenMP) | llama.cpp | pool / llama.cpp |"
  echo "|---:|---:|---:|---:|---:|"
else
  echo "| threads | edgellm (pool) | edgellm (OpenMP) | pool / OpenMP |"
  echo "|---:|---:|---:|---:|"
fi
for t in "${THREADS[@]}"; do
  p=$(mean pool "$t") o=$(mean omp "$t")
  if [[ -n "${LLAMA_BENCH:-}" ]]; then
    l=$(mean llama "$t")
    echo "| $t | $p | $o | $l | $(awk -v a="$p" -v b="$l" 'BEGIN { printf "%.2f", a / b }') |"
  else
    echo "| $t | $p | $o | $(awk -v a="$p" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"
  fi
done

if [[ "${LOADED:-0}" == 1 || "${LOADED:-0}" == free ]]; then
  # 1: the tools and one busy loop per CPU pinned to CPUs 0 and 1 (a 2-CPU device on a bigger host); free: two busy
  # loops and the tools left to the scheduler (the 2-core machine itself, as the issue measured it).
  pin=() busy0=() busy1=() where="two busy loops, nothing pinned"
  if [[ $LOADED == 1 ]]; then
    command -v taskset >/dev/null || { echo "LOADED=1 needs taskset (util-linux)" >&2; exit 2; }
    pin=(taskset -c 0,1) busy0=(taskset -c 0) busy1=(taskset -c 1) where="CPUs 0,1 shared with two busy loops"
  fi
  echo
  echo "# busy device: $where; tg$TG tokens/s, $ROUNDS rounds, order flipped between rounds"
  "${busy0[@]}" sh -c 'while :; do :; done' & b1=$!
  "${busy1[@]}" sh -c 'while :; do :; done' & b2=$!
  trap 'kill $b1 $b2 2>/dev/null' EXIT
  declare -A lsum
  for ((r = 0; r < ROUNDS; r++)); do
    order=(1 2)
    ((r % 2)) && order=(2 1)
    for tool in "${TOOLS[@]}"; do
      for t in "${order[@]}"; do
        v=$(run_tool "$tool" "$t" "${pin[@]}")
        echo "loaded round $r $tool threads $t $v" >&2
        lsum[$tool$t]=$(awk -v a="${lsum[$tool$t]:-0}" -v b="${v:-0}" 'BEGIN { print a + b }')
      done
    done
  done
  echo "| tool | 1 thread | 2 threads | 2 / 1 |"
  echo "|---|---:|---:|---:|"
  for tool in "${TOOLS[@]}"; do
    one=$(awk -v s="${lsum[${tool}1]}" -v n="$ROUNDS" 'BEGIN { printf "%.1f", s / n }')
    two=$(awk -v s="${lsum[${tool}2]}" -v n="$ROUNDS" 'BEGIN { printf "%.1f", s / n }')
    echo "| $tool | $one | $two | $(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }') |"
  done
fi
