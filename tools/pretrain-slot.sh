#!/usr/bin/env bash
# One sitting of a study base's pretraining (a GPU machine's slot): join the checkpoint's parts, resume
# (or start), train until the slot is nearly spent, and leave the checkpoint split into parts of ≤ 15 MiB.
# Not a build and not a scheduler: it runs the edgellm already built, once.
#
# Usage: tools/pretrain-slot.sh SIZE ARCH OUTDIR SECONDS [extra pretrain options...]
#   SIZE s|m|l, ARCH llama|qwen3, SECONDS the slot's wall time (this script's whole run stays inside it).
# Environment:
#   EDGELLM    the binary (default build/edgellm)
#   PROSE_DIR  the carried general prose (`edgellm pretrain --export-prose DIR` on a machine with the packages;
#              default prose/ beside the repository root); it must be the same corpus in every sitting
#   DEVICE     vulkan (default) or cpu
#   RESERVE    seconds kept for start-up (tokenizer, resume) and the split (default 90)
#   THREADS    default nproc
#   PART_BYTES default 15728640 (15 MiB: only files ≤ 16 MiB come back from the GPU machine)
#
# Files: OUTDIR/checkpoint.safetensors.part-NNN and checkpoint.safetensors.sha256 (the whole checkpoint is
# removed once split and checked; the next sitting joins the parts and checks the sum), run.json, loss.csv,
# eval.csv, slot.log; after the last step also base-SIZE[-ARCH].gguf and recipe.md. A sitting that stops on
# the time budget writes no GGUF or evaluation (--checkpoint-only-on-stop); the one that reaches the last
# step evaluates and exports (if the slot ends during that, the next sitting does only that).
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n 2,22p "$0" >&2; exit 2; }
size=$1 arch=$2 out=$3 seconds=$4
shift 4
EDGELLM=${EDGELLM:-build/edgellm}
PROSE_DIR=${PROSE_DIR:-prose}
RESERVE=${RESERVE:-90}
THREADS=${THREADS:-$(nproc)}
PART_BYTES=${PART_BYTES:-15728640}
DEVICE=${DEVICE:-vulkan}
start=$(date +%s)

[[ -x $EDGELLM ]] || { echo "pretrain-slot: no edgellm at $EDGELLM (build it, or set EDGELLM)" >&2; exit 2; }
[[ -f $PROSE_DIR/MANIFEST.json ]] ||
  { echo "pretrain-slot: no carried prose at $PROSE_DIR (edgellm pretrain --export-prose DIR; set PROSE_DIR)" >&2; exit 2; }
mkdir -p "$out"
ckpt=$out/checkpoint.safetensors

# Join the parts a previous sitting left (the sum says they are all there and unchanged).
if [[ ! -f $ckpt ]] && compgen -G "$ckpt.part-*" >/dev/null; then
  [[ -f $ckpt.sha256 ]] || { echo "pretrain-slot: $ckpt.part-* without $ckpt.sha256" >&2; exit 1; }
  cat "$ckpt".part-* >"$ckpt.joining"
  want=$(cut -d' ' -f1 "$ckpt.sha256")
  got=$(sha256sum "$ckpt.joining" | cut -d' ' -f1)
  [[ $want == "$got" ]] || { echo "pretrain-slot: joined parts have sha256 $got, $ckpt.sha256 says $want" >&2; exit 1; }
  mv "$ckpt.joining" "$ckpt"
  echo "pretrain-slot: joined $(ls "$ckpt".part-* | wc -l) parts into $ckpt"
fi

budget=$((seconds - RESERVE - ($(date +%s) - start)))
((budget > 10)) || { echo "pretrain-slot: $seconds s leave no time to train after a reserve of $RESERVE s" >&2; exit 2; }
echo "pretrain-slot: $size $arch on $DEVICE, $THREADS threads, $budget s of training, prose $PROSE_DIR" | tee -a "$out/slot.log"
rc=0
"$EDGELLM" -t "$THREADS" pretrain --size "$size" --arch "$arch" --device "$DEVICE" --prose-dir "$PROSE_DIR" \
  --resume --checkpoint-only-on-stop --time-budget "$budget" -o "$out" "$@" 2>&1 | tee -a "$out/slot.log" || rc=$?

# Split whatever checkpoint there is (even after a failure: the last saved one is still good).
if [[ -f $ckpt ]]; then
  rm -f "$ckpt".part-*
  sha256sum "$ckpt" | sed "s|  .*|  checkpoint.safetensors|" >"$ckpt.sha256"
  split -b "$PART_BYTES" -d -a 3 "$ckpt" "$ckpt.part-"
  [[ $(cat "$ckpt".part-* | sha256sum | cut -d' ' -f1) == $(cut -d' ' -f1 "$ckpt.sha256") ]] ||
    { echo "pretrain-slot: the parts of $ckpt do not join back" >&2; exit 1; }
  rm "$ckpt"
  echo "pretrain-slot: checkpoint in $(ls "$ckpt".part-* | wc -l) parts of ≤ $PART_BYTES bytes" | tee -a "$out/slot.log"
fi
echo "pretrain-slot: done in $(($(date +%s) - start)) s of $seconds (edgellm exit $rc)" | tee -a "$out/slot.log"
exit "$rc"
