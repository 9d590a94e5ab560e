// AWQ's scales folded into a block of any family (quant/awq_fold.h): where each linear's input comes from, and
// the exact division there. Not the search (quant/awq.h) and not the quantization that follows (quantize_model.cpp).
#include "quant/awq_fold.h"

#include <cmath>
#include <cstring>

#include "runtime/error.h"

namespace edgellm::quant {

namespace {

// A private f32 copy of a norm weight or a bias (it may be mmapped read-only), element i divided by s[i].
Tensor divided(const Tensor& t, const std::vector<float>& s) {
  const int64_t n = t.numel();
  EDGE_CHECK(static_cast<int64_t>(s.size()) == n, "awq: {} scales for {} ({} values)", s.size(), t.name, n);
  Tensor u = Tensor::empty({n});
  const Tensor f = t.dtype() == DType::F32 ? t : t.to(DType::F32);
  for (int64_t i = 0; i < n; ++i) u.data<float>()[i] = f.data<float>()[i] / s[i];
  u.name = t.name;
  return u;
}

std::vector<float> absmean(const float* X, int64_t n, int64_t K) {
  std::vector<double> acc(K, 0.0);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < K; ++k) acc[k] += std::fabs(X[t * K + k]);
  std::vector<float> out(K);
  for (int64_t k = 0; k < K; ++k) out[k] = static_cast<float>(acc[k] / double(n));
  return out;
}

}  // namespace

// AWQ's first half, as AutoAWQ's apply_scale: from one float walk's taps (a), search the scales s of each
// linear input and fold them exactly into what produces that input, so the float block computes the same
// function with W·diag(s) in its linears; the stages then quantize those weights. Where each input comes from:
//   q, k, v  ← the attention norm: its weight (and LayerNorm's bias, GPT-2) ÷ s. Gemma's norms are held as the
//              1 + w they multiply by (models/load_hf.cpp), so dividing that is exact too.
//   o        ← v's rows and bias: att is a softmax-weighted sum of v rows (weights summing to 1), so v/s gives
//              att/s. Under GQA a v channel feeds the same channel of every query head of its group: s is tied
//              across those heads (their mean |x| averaged) so that one v row can carry it.
//   gate, up ← the MLP norm (Gemma's pre-feedforward norm; its post-norms act on o's and down's outputs).
//   down     ← up's rows and bias when the MLP is gated: act(gate)·(up/s) = h/s. A plain GELU MLP (GPT-2) has
//              gelu(up/s) ≠ gelu(up)/s, so it is not folded: down keeps s = 1 (AWQ's clipping search only).
// Never folded: into q or k outputs (QK-norm and RoPE sit between them and attention), into the residual
// stream (shared by every block), or into the output head (tied to the input embedding in most families).
void awq_fold_block(const LlamaConfig& c, LlamaLayer& L, const BlockActs& a, int64_t n, const QuantSpec& spec,
                    const AwqOptions& opt) {
  const int64_t C = c.dim, F = c.ffn_dim, AD = c.q_dim(), HD = c.head_dim, G = Grid(spec).group;
  const bool gated = c.block.mlp != MlpKind::Gelu;
  std::vector<float> W[kNumLinearKinds];  // the float weights being scaled, (N, K) each; empty: untouched
  auto w = [&](LinearKind k) -> std::vector<float>& {
    std::vector<float>& v = W[static_cast<int>(k)];
    if (v.empty()) {
      const Tensor& t = L.weight(k);
      const int64_t N = t.shape()[0], K = t.shape().cols();
      v.resize(static_cast<size_t>(N * K));
      for (int64_t r = 0; r < N; ++r) dequantize_row(v.data() + r * K, t, r);
    }
    return v;
  };
  auto rows = [&](LinearKind k) { return L.weight(k).shape()[0]; };
  auto search = [&](std::initializer_list<LinearKind> kinds, const Tensor& XT, const std::vector<float>& am) {
    std::vector<AwqLinear> lins;
    for (LinearKind k : kinds) lins.push_back({w(k).data(), rows(k)});
    return awq_search_scales(lins, XT.shape().cols(), am.data(), XT.data<float>(), n, spec, opt);
  };
  auto scale_columns = [&](LinearKind k, const std::vector<float>& s) {  // W ← W·diag(s)
    std::vector<float>& v = w(k);
    const int64_t K = static_cast<int64_t>(s.size());
    for (int64_t r = 0; r < rows(k); ++r)
      for (int64_t j = 0; j < K; ++j) v[r * K + j] *= s[j];
  };
  auto divide_rows = [&](LinearKind k, Tensor& bias, const std::vector<float>& s) {  // W ← diag(s)⁻¹·W, b ← b / s
    std::vector<float>& v = w(k);
    const int64_t K = L.weight(k).shape().cols();
    for (int64_t r = 0; r < rows(k); ++r)
      for (int64_t j = 0; j < K; ++j) v[r * K + j] /= s[r];
    if (bias.defined()) bias = divided(bias, s);
  };
  auto fold_norm = [&](Tensor& weight, Tensor& bias, const std::vector<float>& s) {
    weight = divided(weight, s);
    if (bias.defined()) bias = divided(bias, s);
  };

  // All searches read the unscaled taps and weights (as AutoAWQ's); the folds below commute.
  std::vector<float> s_qkv, s_o, s_mlp, s_down;
  if (C % G == 0) s_qkv = search({LinearKind::Q, LinearKind::K, LinearKind::V}, a.xn1, absmean(a.xn1.data<float>(), n, C));
  if (AD % G == 0) {
    std::vector<float> am = absmean(a.att.data<float>(), n, AD);
    const int64_t group = c.n_heads / c.n_kv_heads;
    for (int64_t g = 0; g < c.n_kv_heads; ++g)
      for (int64_t j = 0; j < HD; ++j) {
        double m = 0;
        for (int64_t h = g * group; h < (g + 1) * group; ++h) m += am[h * HD + j];
        for (int64_t h = g * group; h < (g + 1) * group; ++h) am[h * HD + j] = static_cast<float>(m / double(group));
      }
    s_o = search({LinearKind::O}, a.att, am);
  }
  if (C % G == 0) {
    const std::vector<float> am = absmean(a.xn2.data<float>(), n, C);
    s_mlp = gated ? search({LinearKind::Gate, LinearKind::Up}, a.xn2, am) : search({LinearKind::Up}, a.xn2, am);
  }
  if (gated && F % G == 0) s_down = search({LinearKind::Down}, a.h, absmean(a.h.data<float>(), n, F));

  if (!s_qkv.empty()) {
    for (LinearKind k : {LinearKind::Q, LinearKind::K, LinearKind::V}) scale_columns(k, s_qkv);
    fold_norm(L.attn_norm, L.attn_norm_b, s_qkv);
  }
  if (!s_o.empty()) {
    scale_columns(LinearKind::O, s_o);
    std::vector<float> s_v(static_cast<size_t>(c.kv_dim()));  // v row g·HD + j carries query head g·group's s
    const int64_t group = c.n_heads / c.n_kv_heads;
    for (int64_t r = 0; r < c.kv_dim(); ++r) s_v[r] = s_o[(r / HD) * group * HD + r % HD];
    divide_rows(LinearKind::V, L.bv, s_v);
  }
  if (!s_mlp.empty()) {
    if (gated) scale_columns(LinearKind::Gate, s_mlp);
    scale_columns(LinearKind::Up, s_mlp);
    fold_norm(L.ffn_norm, L.ffn_norm_b, s_mlp);
  }
  if (!s_down.empty()) {
    scale_columns(LinearKind::Down, s_down);
    divide_rows(LinearKind::Up, L.b_up, s_down);
  }
  for (int k = 0; k < kNumLinearKinds; ++k) {
    if (W[k].empty()) continue;
    Tensor& t = L.weight(static_cast<LinearKind>(k));
    Tensor f = Tensor::empty(t.shape());
    std::memcpy(f.raw(), W[k].data(), W[k].size() * sizeof(float));
    f.name = t.name;
    t = std::move(f);
  }
}

}  // namespace edgellm::quant
