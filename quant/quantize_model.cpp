// Block-by-block calibration and quantization of any family's model (RTN / GPTQ / AWQ), calibrating through the
// inference block (models/block.h) over several independent sequences. Not a general forward: no KV cache.
#include "quant/quantize_model.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "models/block.h"
#include "quant/awq_fold.h"
#include "runtime/error.h"

namespace edgellm::quant {

QuantMethod parse_quant_method(const std::string& s) {
  if (s == "rtn") return QuantMethod::Rtn;
  if (s == "gptq") return QuantMethod::Gptq;
  if (s == "awq") return QuantMethod::Awq;
  fail("quantize: unknown method '{}' (rtn, gptq, awq)", s);
}

const std::string& builtin_calibration_text() {
  static const std::string text =
      "The village lay at the bottom of a long valley, where the river bent twice before it reached the sea. "
      "In the mornings the fishermen pulled their boats onto the shingle and argued about the weather, the "
      "price of salt, and whether the new harbour wall would ever be finished. Children ran between the nets, "
      "and the baker's cart rattled along the only paved street, leaving a smell of bread behind it.\n\n"
      "A computer program is a sequence of instructions that a machine can execute. Programs are written in "
      "languages such as C, Python or Rust, then compiled or interpreted. A good program is correct first, "
      "then clear, and only then fast; measuring before optimising saves more time than any clever trick.\n\n"
      "Photosynthesis converts light energy into chemical energy. In the chloroplasts of plant cells, water is "
      "split, oxygen is released, and carbon dioxide is fixed into sugars through the Calvin cycle. Almost "
      "every food chain on Earth begins with this process.\n\n"
      "\"Where are you going?\" she asked, closing the book. \"To the station,\" he said. \"The last train leaves "
      "at nine, and if I miss it I will have to walk eleven miles in the rain.\" She laughed and handed him an "
      "umbrella that had belonged to her grandfather.\n\n"
      "In 1969 two astronauts walked on the Moon while a third orbited above them. The mission lasted eight "
      "days; the crew brought back 21.5 kilograms of rock and dust, which scientists still study today. The "
      "numbers 3, 14, 159 and 2653 appear in many textbooks, along with tables, lists, and equations like "
      "E = mc^2 or a^2 + b^2 = c^2.\n\n"
      "To make a simple soup, chop two onions, three carrots and a stick of celery. Soften them in butter, add "
      "a litre of stock and a handful of lentils, and let it simmer for forty minutes. Season with salt, "
      "pepper and a squeeze of lemon before serving.\n";
  return text;
}

namespace {

using Clock = std::chrono::steady_clock;

// The RoPE tables of a calibration walk over T positions from 0: the global base, and the sliding layers' own
// (Gemma 3). Empty where the model has none.
struct CalibRope {
  std::vector<float> cos, sin, cos_local, sin_local;  // (T, D/2) each
  CalibRope(const LlamaConfig& c, int64_t T) {
    const size_t half = static_cast<size_t>(T * c.rope_dims() / 2);
    cos.resize(half), sin.resize(half);
    rope_tables(c, 0, T, cos.data(), sin.data());
    if (c.rope_theta_local > 0) {
      cos_local.resize(half), sin_local.resize(half);
      rope_tables(c, 0, T, cos_local.data(), sin_local.data(), true);
    }
  }
};

// x (S·T, C) ← block l(x) when update_x: the inference block (models/block.h) over S independent sequences,
// in f32, with the layer's own options (window, RoPE base, NoPE). Its buffers are the taps: xn1 feeds q, k, v;
// att feeds o; xn2 feeds gate, up; h feeds down.
void calibration_forward(const LlamaConfig& c, const LlamaLayer& L, int64_t l, const CalibRope& rope,
                         std::vector<float>& x, int64_t S, int64_t T, BlockActs& a, bool update_x) {
  const int64_t n = S * T;
  a.allocate(c, n);
  std::vector<float> out(update_x ? 0 : n * c.dim);
  CpuBlockOps ops{c, L, S, T, 0, rope.cos.data(), rope.sin.data(), nullptr, nullptr, QuantMath::Exact};
  ops.layer = l;
  if (!rope.cos_local.empty()) ops.cos_local = rope.cos_local.data(), ops.sin_local = rope.sin_local.data();
  BlockBuffers<float*> b = a.buffers(x.data(), update_x ? x.data() : out.data());
  b.rstd1 = b.rstd2 = b.lse = nullptr;
  block_forward(ops, c, b, n);
}

std::vector<float> to_f32(const Tensor& W) {
  const int64_t N = W.shape()[0], K = W.shape().cols();
  std::vector<float> w(N * K);
  for (int64_t r = 0; r < N; ++r) dequantize_row(w.data() + r * K, W, r);
  return w;
}

// The tensor that replaces a weight: packed rows of the grid's type (a GGUF block type or group-int).
Tensor to_tensor(const QuantizedMatrix& q) {
  const Grid grid(q.spec);
  Tensor t = Tensor::empty({q.N, q.K}, grid.gguf_type());
  std::memcpy(t.raw(), q.data.data(), q.data.size());
  return t;
}

}  // namespace

void quantize_model(Model& model, const std::string& calib_text, const ModelQuantOptions& opt,
                    const std::function<void(const BlockReport&)>& progress) {
  LlamaModel& m = model.llama;
  const LlamaConfig& c = m.config;
  const int64_t C = c.dim;

  // Calibration: sequences of T tokens, each with BOS first, cut from the tokenized text, embedded as the
  // forward embeds them (models/llama.h embed_tokens: Gemma's √C, GPT-2's learned positions).
  int64_t S = 0, T = 0;
  std::vector<float> x;  // (S·T, C) hidden states entering the current block
  if (opt.method != QuantMethod::Rtn) {
    if (!model.tokenizer) fail("quantize: model '{}' has no tokenizer for the calibration text", m.source);
    EncodeOptions eo;
    const ChargedVector<int32_t> ids = model.tokenizer->encode_long(calib_text, eo, "quantize: the calibration tokens");
    T = std::min<int64_t>(opt.seq_len, std::min<int64_t>(c.max_ctx, static_cast<int64_t>(ids.size()) + 1));
    if (T < 2) fail("quantize: calibration text gives {} tokens; need at least 1", ids.size());
    S = std::max<int64_t>(1, std::min<int64_t>(opt.max_tokens / T, static_cast<int64_t>(ids.size()) / (T - 1)));
    x.resize(S * T * C);
    const int32_t bos = model.tokenizer->bos_id();
    std::vector<int32_t> seq(static_cast<size_t>(T));
    for (int64_t s = 0; s < S; ++s) {
      for (int64_t t = 0; t < T; ++t)
        seq[t] = t == 0 && bos >= 0 ? bos : ids[(s * (T - 1) + t - (bos >= 0 ? 1 : 0)) % ids.size()];
      embed_tokens(m, seq.data(), T, 0, x.data() + s * T * C);
    }
  }
  const int64_t n = S * T;
  const CalibRope rope(c, std::max<int64_t>(T, 1));

  BlockActs acts;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const auto t0 = Clock::now();
    LlamaLayer& L = m.weights.layers[static_cast<size_t>(l)];
    BlockReport rep;
    rep.layer = l;
    rep.n_layers = c.n_layers;
    // One stage: the linears that read the same input X (n, K). AWQ's scales are already folded into the
    // weights (awq_fold_block), so AWQ here is its clipping search on the block's current inputs.
    auto stage = [&](const std::vector<LinearKind>& kinds, const Tensor& XT, int64_t K) {
      const float* X = XT.defined() ? XT.data<float>() : nullptr;  // (n, K); none for RTN
      if (K % Grid(opt.spec).group != 0) {
        for (LinearKind kind : kinds) rep.kept[static_cast<int>(kind)] = true;
        return;
      }
      std::vector<double> H;
      if (opt.method == QuantMethod::Gptq) {
        H.assign(K * K, 0.0);
        hessian_accumulate(H.data(), X, n, K, 2.0 / double(n));
      }
      const std::vector<float> ones(static_cast<size_t>(K), 1.0f);
      for (LinearKind kind : kinds) {
        const std::vector<float> W = to_f32(L.weight(kind));
        const int64_t N = L.weight(kind).shape()[0];
        QuantizedMatrix q;
        switch (opt.method) {
          case QuantMethod::Rtn: q = rtn_quantize(W.data(), N, K, opt.spec); break;
          case QuantMethod::Gptq: q = gptq_quantize(W.data(), N, K, H.data(), opt.spec, opt.gptq); break;
          case QuantMethod::Awq: q = awq_quantize(W.data(), N, K, ones.data(), X, n, opt.spec, opt.awq); break;
        }
        if (n > 0) rep.rel_err[static_cast<int>(kind)] = relative_output_error(W.data(), q.values.data(), X, N, K, n);
        const std::string name = L.weight(kind).name;
        L.weight(kind) = to_tensor(q);
        L.weight(kind).name = name;
      }
    };
    const int64_t F = c.ffn_dim, AD = c.q_dim();
    const bool gated = c.block.mlp != MlpKind::Gelu;
    const std::vector<LinearKind> mlp_in =
        gated ? std::vector<LinearKind>{LinearKind::Gate, LinearKind::Up} : std::vector<LinearKind>{LinearKind::Up};
    if (opt.method == QuantMethod::Rtn) {
      stage({LinearKind::Q, LinearKind::K, LinearKind::V}, Tensor(), C);
      stage({LinearKind::O}, Tensor(), AD);
      stage(mlp_in, Tensor(), C);
      stage({LinearKind::Down}, Tensor(), F);
    } else {
      // Inside a block each stage sees the already quantized earlier ones (as GPTQ does).
      calibration_forward(c, L, l, rope, x, S, T, acts, false);
      if (opt.method == QuantMethod::Awq) {
        awq_fold_block(c, L, acts, n, opt.spec, opt.awq);
        calibration_forward(c, L, l, rope, x, S, T, acts, false);  // the taps of the folded block: xn1 / s ...
      }
      stage({LinearKind::Q, LinearKind::K, LinearKind::V}, acts.xn1, C);
      calibration_forward(c, L, l, rope, x, S, T, acts, false);
      stage({LinearKind::O}, acts.att, AD);
      calibration_forward(c, L, l, rope, x, S, T, acts, false);
      stage(mlp_in, acts.xn2, C);
      calibration_forward(c, L, l, rope, x, S, T, acts, false);
      stage({LinearKind::Down}, acts.h, F);
      calibration_forward(c, L, l, rope, x, S, T, acts, true);  // the quantized block's output feeds block l+1
    }
    rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (progress) progress(rep);
  }
}

}  // namespace edgellm::quant
