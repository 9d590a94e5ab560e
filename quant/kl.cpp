// KL(ref ‖ model) and both perplexities over llama-perplexity's scored positions.
// Not parallel over chunks: each forward is already parallel inside.
#include "quant/kl.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/llama.h"
#include "runtime/error.h"

namespace edgellm::quant {

namespace {
// log-softmax of l (V) into out (double).
void log_softmax(const float* l, int64_t V, std::vector<double>& out) {
  float mx = l[0];
  for (int64_t i = 1; i < V; ++i) mx = std::max(mx, l[i]);
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(double(l[i]) - mx);
  const double lse = double(mx) + std::log(sum);
  out.resize(V);
  for (int64_t i = 0; i < V; ++i) out[i] = double(l[i]) - lse;
}
}  // namespace

KlResult kl_divergence(const Model& m, const Model& ref, const std::string& text, int64_t n_ctx) {
  const int64_t V = m.llama.config.vocab;
  if (ref.llama.config.vocab != V)
    fail("kl: vocabularies differ: {} has {}, reference {} has {}", m.llama.source, V, ref.llama.source,
         ref.llama.config.vocab);
  EDGE_CHECK(n_ctx >= 4, "kl needs a context of at least 4 tokens, got {}", n_ctx);
  EncodeOptions opt;
  opt.add_bos = m.tokenizer->add_bos_default();
  const ChargedVector<int32_t> tokens = m.tokenizer->encode_long(text, opt, "kl: the text's tokens");
  const int64_t n_chunk = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (n_chunk < 1) fail("kl: the text has {} tokens, fewer than one chunk of {}", tokens.size(), n_ctx);
  KvCache ca(m.llama.config, n_ctx), cb(ref.llama.config, n_ctx);
  std::vector<float> la(n_ctx * V), lb(n_ctx * V);
  std::vector<double> pa, pb;
  double nll = 0, nll_ref = 0, dnll2 = 0, kl = 0, kl2 = 0;
  KlResult r;
  int64_t same = 0;
  for (int64_t c = 0; c < n_chunk; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    if (opt.add_bos) chunk[0] = m.tokenizer->bos_id();
    ca.clear();
    cb.clear();
    llama_forward(m.llama, ca, chunk.data(), n_ctx, la.data(), true);
    llama_forward(ref.llama, cb, chunk.data(), n_ctx, lb.data(), true);
    for (int64_t j = n_ctx / 2; j < n_ctx - 1; ++j) {
      log_softmax(la.data() + j * V, V, pa);
      log_softmax(lb.data() + j * V, V, pb);
      const int32_t target = tokens[static_cast<size_t>(c * n_ctx + j + 1)];
      nll -= pa[target];
      nll_ref -= pb[target];
      dnll2 += (pb[target] - pa[target]) * (pb[target] - pa[target]);
      double d = 0;
      for (int64_t i = 0; i < V; ++i) d += std::exp(pb[i]) * (pb[i] - pa[i]);
      kl += d;
      kl2 += d * d;
      r.kl_max = std::max(r.kl_max, d);
      same += std::max_element(pa.begin(), pa.end()) - pa.begin() == std::max_element(pb.begin(), pb.end()) - pb.begin();
      ++r.scored;
    }
  }
  const double n = static_cast<double>(r.scored);
  r.ppl = std::exp(nll / n);
  r.ref_ppl = std::exp(nll_ref / n);
  r.kl_mean = kl / n;
  const double dmean = (nll - nll_ref) / n, dvar = dnll2 / n - dmean * dmean;
  r.ln_ratio_err = dvar > 0 && n > 1 ? std::sqrt(dvar / (n - 1)) : 0.0;
  const double var = kl2 / n - r.kl_mean * r.kl_mean;
  r.kl_err = var > 0 && n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  r.same_top = double(same) / n;
  return r;
}

}  // namespace edgellm::quant
