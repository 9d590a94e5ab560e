// libFuzzer target: a PEFT adapter (adapter_config.json text, kPeftSeparator, adapter_model.safetensors bytes)
// -> load_peft_adapter onto builtin:tiny, then the logits of three tokens with the adapter attached.
// Not llama.cpp's LoRA GGUF: that is fuzz_lora_gguf (load_lora's other half, from a file on disk).
#include "fuzz_common.h"
#include "fuzz_train_setup.h"
#include "train/lora_io.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static Model model = load_model("builtin:tiny");
  const size_t cut = bytes.find(fuzz::kPeftSeparator);
  const std::string config(bytes.substr(0, cut));
  std::string st = cut == std::string_view::npos ? "" : std::string(bytes.substr(cut + fuzz::kPeftSeparator.size()));
  SafetensorsFile f = SafetensorsFile::parse(MappedFile::from_memory("fuzz/adapter_model.safetensors", std::move(st)));
  (void)load_peft_adapter(model.llama, config, "fuzz/adapter_config.json", f);
  (void)all_logits(model, {1, 2, 3});
}
