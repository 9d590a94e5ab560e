// Held-out prose perplexity and bits per byte of a base (prose_eval.h). Not a training loss: every
// position is scored with the model's own forward, from an empty cache per paragraph.
#include "bench/study/prose_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bench/study/pretrain.h"
#include "runtime/error.h"

namespace edgellm::study {

double ProsePerplexity::ppl() const { return tokens > 0 ? std::exp(nll / static_cast<double>(tokens)) : 0.0; }

double ProsePerplexity::bits_per_byte() const {
  return bytes > 0 ? nll / std::log(2.0) / static_cast<double>(bytes) : 0.0;
}

std::string ProsePerplexity::format() const {
  return fmt::format("ppl {:.2f} ({} tokens), {:.4f} bits/byte ({} bytes) on {} held-out paragraphs", ppl(), tokens,
                     bits_per_byte(), bytes, paragraphs);
}

ProsePerplexity prose_perplexity(const Model& m, const std::vector<std::string>& paragraphs, int64_t max_paragraphs) {
  EDGE_CHECK(m.tokenizer, "prose perplexity needs the model's tokenizer");
  ProsePerplexity r;
  const int64_t n = static_cast<int64_t>(paragraphs.size());
  const int64_t take = max_paragraphs > 0 ? std::min(max_paragraphs, n) : n;
  const int64_t V = m.llama.config.vocab, ctx = m.llama.config.max_ctx;
  for (int64_t i = 0; i < take; ++i) {
    const std::string& p = paragraphs[static_cast<size_t>(i * n / take)];  // evenly spaced
    Example e = encode_example({{p + "\n", true}}, *m.tokenizer);
    if (static_cast<int64_t>(e.ids.size()) > ctx) e.ids.resize(static_cast<size_t>(ctx));
    const int64_t T = static_cast<int64_t>(e.ids.size());
    if (T < 2) continue;
    const std::vector<float> logits = all_logits(m, e.ids);  // (T, V)
    for (int64_t t = 0; t + 1 < T; ++t) {
      const float* row = logits.data() + t * V;
      const float mx = *std::max_element(row, row + V);
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v] - mx));
      r.nll += std::log(z) + mx - row[e.ids[static_cast<size_t>(t + 1)]];
    }
    r.tokens += T - 1;
    r.bytes += static_cast<int64_t>(m.tokenizer->decode(std::span<const int32_t>(e.ids.data() + 1, static_cast<size_t>(T - 1))).size());
    ++r.paragraphs;
  }
  return r;
}

}  // namespace edgellm::study
