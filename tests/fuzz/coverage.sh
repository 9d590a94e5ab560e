#!/bin/sh
# Source-based line coverage of the loaders reached by the fuzz corpora: builds the targets in build-cov/ with
# clang's -fprofile-instr-generate -fcoverage-mapping (and the fuzz tree's sanitizers), replays each target's
# corpus and seeds once (-runs=0), and prints llvm-cov's per-file report for the files the targets parse with.
# Not a fuzzer run: it measures what the campaign's corpora (BUILD/fuzz-corpus, by default build-san's) reach.
# usage: tests/fuzz/coverage.sh [TARGET ...]     env: CORPUS=build-san/fuzz-corpus, SEEDS=build-san/fuzz-seeds
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/fuzz/targets.sh"
TARGETS=${*:-$FUZZ_TARGETS}
B=$ROOT/build-cov
CORPUS=${CORPUS:-$ROOT/build-san/fuzz-corpus}
SEEDS=${SEEDS:-$ROOT/build-san/fuzz-seeds}
if [ ! -f "$B/build.ninja" ]; then
  FLAGS="-O1 -gline-tables-only -DNDEBUG -fprofile-instr-generate -fcoverage-mapping"
  cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_COMPILER=clang "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$FLAGS" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$FLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS=-fprofile-instr-generate -DEDGELLM_FUZZ=ON -DEDGELLM_BUILD_BENCH=OFF >/dev/null
fi
BINS=""
for t in $TARGETS; do BINS="$BINS fuzz_$t"; done
# shellcheck disable=SC2086
ninja -C "$B" -j"${NINJA_JOBS:-2}" $BINS
rm -rf "$B/prof"
mkdir -p "$B/prof"
OBJECTS=""
for t in $TARGETS; do
  dirs=""
  for d in "$CORPUS/$t" "$SEEDS/$t"; do [ -d "$d" ] && dirs="$dirs $d"; done
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0 LLVM_PROFILE_FILE="$B/prof/$t-%p.profraw" \
    "$B/tests/fuzz/fuzz_$t" -runs=0 -max_len="$(max_len "$t")" $dirs >"$B/prof/$t.log" 2>&1
  printf '%-16s %s inputs\n' "$t" "$(sed -n 's/.*INITED.*corp: \([0-9]*\).*/\1/p' "$B/prof/$t.log" | tail -1)"
  # llvm-cov takes the first binary as its argument and every further one after -object.
  if [ -z "$OBJECTS" ]; then OBJECTS="$B/tests/fuzz/fuzz_$t"; else OBJECTS="$OBJECTS -object $B/tests/fuzz/fuzz_$t"; fi
done
llvm-profdata merge -sparse "$B"/prof/*.profraw -o "$B/prof/all.profdata"
# The files that turn untrusted bytes into values: runtime's file formats, the model/tokenizer/adapter loaders,
# the training data and checkpoint readers, the RAG index and ingest, LaMP. llvm-cov 14 ignores a source list given
# with absolute paths against the build's relative ones, so the full report is filtered here.
LOADERS="runtime/gguf.cpp runtime/gguf_value.cpp runtime/safetensors.cpp runtime/safetensors_dir.cpp runtime/parse_meter.cpp
runtime/mmap_file.cpp models/hf_config.cpp models/hf_quant.cpp models/load_hf.cpp models/load_gguf.cpp models/llama_config.cpp
models/tokenizer_json.cpp models/sentencepiece_model.cpp models/tokenizer_gguf.cpp models/tokenizer.cpp
models/tokenizer_bpe.cpp models/tokenizer_spm.cpp models/pretokenize.cpp train/lora_io.cpp train/data.cpp train/trainer.cpp
rag/index_file.cpp rag/ingest.cpp bench/study/lamp.cpp"
# shellcheck disable=SC2086
llvm-cov report -instr-profile "$B/prof/all.profdata" $OBJECTS >"$B/prof/report.txt"
# Columns: regions, missed, cover, functions, missed, executed, lines, missed, cover, branches, missed, cover.
awk -v files="$LOADERS" 'BEGIN { n = split(files, f, /[ \n]+/); for (i = 1; i <= n; i++) want[f[i]] = i }
  $1 in want { row[$1] = $0; lines[$1] = $8; miss[$1] = $9; reg[$1] = $2; rmiss[$1] = $3 }
  END {
    printf "%-32s %7s %7s %8s %8s\n", "file", "lines", "missed", "lines %", "regions %"
    for (i = 1; i <= n; i++) { t = f[i]; if (!(t in row)) { printf "%-32s (not linked into these targets)\n", t; continue }
      L += lines[t]; M += miss[t]; R += reg[t]; RM += rmiss[t]
      printf "%-32s %7d %7d %7.1f%% %7.1f%%\n", t, lines[t], miss[t], 100 * (lines[t] - miss[t]) / lines[t], 100 * (reg[t] - rmiss[t]) / reg[t] }
    printf "%-32s %7d %7d %7.1f%% %7.1f%%\n", "all of the above", L, M, 100 * (L - M) / L, 100 * (R - RM) / R
  }' "$B/prof/report.txt"
echo "full report: $B/prof/report.txt; per line: llvm-cov show -instr-profile $B/prof/all.profdata $OBJECTS FILE"
