# Sourced by run.sh and campaign.sh: every fuzz target, and the input size each is fuzzed at (its largest seed
# and some room to grow; a bigger -max_len only slows a target that never needs it).
# shellcheck shell=sh
FUZZ_TARGETS="gguf safetensors hf_config hf_model tokenizer_json tokenizer_model gpt2_tokenizer rag_index rag_jsonl
peft_adapter checkpoint train_jsonl lamp lora_gguf safetensors_dir rag_writer"

max_len() {
  case $1 in
    peft_adapter|lora_gguf|hf_model) echo 65536 ;;
    gguf|tokenizer_json|checkpoint) echo 32768 ;;
    tokenizer_model|rag_index|gpt2_tokenizer) echo 16384 ;;
    safetensors|safetensors_dir) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

# The -dict a target is fuzzed with: its own, and for targets that parse JSON, nested_json.dict after it (libFuzzer
# takes one file). Writes the merged file under $2 (the build directory) and prints its path. Needs $ROOT.
fuzz_dict() {
  dir=${ROOT:?}/tests/fuzz
  case $1 in
    hf_config|hf_model|tokenizer_json|gpt2_tokenizer|rag_jsonl|rag_index|peft_adapter|checkpoint|train_jsonl|lamp|safetensors|safetensors_dir)
      mkdir -p "$2/fuzz-dicts"
      cat "$dir/$1.dict" "$dir/nested_json.dict" >"$2/fuzz-dicts/$1.dict"
      echo "$2/fuzz-dicts/$1.dict" ;;
    rag_writer)  # an index file and JSONL documents: both readers' words
      mkdir -p "$2/fuzz-dicts"
      cat "$dir/rag_index.dict" "$dir/rag_jsonl.dict" "$dir/nested_json.dict" >"$2/fuzz-dicts/$1.dict"
      echo "$2/fuzz-dicts/$1.dict" ;;
    *) echo "$dir/$1.dict" ;;
  esac
}
