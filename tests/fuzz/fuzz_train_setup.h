// The one training setup shared by the training fuzz targets and the seeds fuzz_seedgen writes for them:
// builtin:tiny, LoRA rank 2 on q/v, AdamW, rows of 16 tokens; and the PEFT input's file separator.
// Not a test fixture: a seed only has to be a valid file for exactly this setup.
#pragma once

#include <memory>
#include <string_view>

#include "models/runner.h"
#include "train/data.h"
#include "train/trainer.h"

namespace edgellm::fuzz {

// A PEFT adapter input is adapter_config.json's text, this line, then adapter_model.safetensors' bytes.
inline constexpr std::string_view kPeftSeparator = "\n#edgellm-fuzz: adapter_model.safetensors#\n";

inline TrainConfig train_config() {
  TrainConfig c;
  c.setup.lora = true;
  c.setup.lora_config.rank = 2;
  c.setup.lora_config.alpha = 4;
  c.setup.lora_config.targets = {"q_proj", "v_proj"};
  c.seq_len = 16;
  c.batch = 1;
  c.steps = 3;
  c.seed = 5;
  return c;
}

// builtin:tiny, two short examples packed into rows of 16, and a Trainer on them (made once per process).
struct TrainSetup {
  Model model = load_model("builtin:tiny");
  PackedData data{{example_from_text("Alice bakes bread in Paris.", *model.tokenizer),
                   example_from_prompt("Q: sky? A:", " blue", *model.tokenizer)},
                  16, 5};
  Trainer trainer{model.llama, data, train_config()};
};

}  // namespace edgellm::fuzz
