// KL divergence of a (quantized) model's next-token distributions to a reference model's, on the positions
// llama-perplexity scores (second half of each n_ctx chunk), as its --kl-divergence mode reports.
// Not a stored-logits file format: both models are run here, chunk by chunk.
#pragma once

#include <string>

#include "models/runner.h"

namespace edgellm::quant {

struct KlResult {
  double ppl = 0, ref_ppl = 0;  // exp(mean NLL) of the model and of the reference on the scored positions
  double ln_ratio_err = 0;      // standard error of ln(ppl/ref_ppl), paired per position (much smaller than PPL's own ±)
  double kl_mean = 0, kl_err = 0, kl_max = 0;  // KL(ref ‖ model) in nats: mean ± standard error, max
  double same_top = 0;          // fraction of positions where both argmax agree
  int64_t scored = 0;
};

// Both models must share the vocabulary size; the text is tokenized with m's tokenizer (BOS as perplexity()).
KlResult kl_divergence(const Model& m, const Model& ref, const std::string& text, int64_t n_ctx);

}  // namespace edgellm::quant
