// libFuzzer target: llama.cpp's LoRA adapter GGUF -> load_lora onto builtin:tiny (its GGUF half), then the logits
// of three tokens with the adapter attached. load_lora takes a path, so the bytes go to a .gguf in /dev/shm first.
// Not the GGUF container's target: fuzz_gguf parses any GGUF from memory.
#include "fuzz_common.h"
#include "fuzz_files.h"
#include "models/runner.h"
#include "train/lora_io.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static Model model = load_model("builtin:tiny");
  static const fuzz::SpillDir dir("lora_gguf");
  (void)load_lora(model.llama, dir.write("adapter.gguf", bytes));
  (void)all_logits(model, {1, 2, 3});
}
