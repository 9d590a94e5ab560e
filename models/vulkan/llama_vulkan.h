// The forward pass of any family (models/arch.h) on a Vulkan device: weights uploaded once, the KV cache on the
// device, a whole forward recorded into one batch and submitted once. Not training (grad_vulkan.h).
#pragma once

#include <string>

#include "models/llama.h"

namespace edgellm {

// Uploads m's weights to Vulkan device `device` (-1: the default choice) and sets m.backend, so that
// llama_forward (and generate/all_logits/perplexity) run there. Weight types without a shader (BF16, Q4_1,
// Q5_K ...) are converted to f32 on upload, with a note on stderr. Throws Error when there is no device,
// BudgetError when the weights exceed the device budget.
void use_vulkan(LlamaModel& m, int device = -1);

}  // namespace edgellm
