// Consistency checks and the RoPE frequency table with its scalings (linear, llama3, dynamic, yarn, longrope).
// Not the cos/sin tables (models/llama.h rope_tables applies the positions and the attention factor).
#include "models/llama_config.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace edgellm {

void LlamaConfig::validate(const std::string& source) const {
  auto need = [&](bool ok, const char* field, int64_t v) {
    if (!ok) fail_format(source, field, "invalid value {}", v);
  };
  need(vocab > 0 && vocab < (int64_t{1} << 31), "vocab_size", vocab);
  need(dim > 0 && dim < (int64_t{1} << 20), "hidden_size", dim);
  need(ffn_dim > 0 && ffn_dim < (int64_t{1} << 22), "intermediate_size", ffn_dim);
  need(n_layers > 0 && n_layers < 4096, "num_hidden_layers", n_layers);
  need(n_heads > 0 && n_heads <= dim, "num_attention_heads", n_heads);
  need(n_kv_heads > 0 && n_kv_heads <= n_heads && n_heads % n_kv_heads == 0, "num_key_value_heads", n_kv_heads);
  need(head_dim > 0 && head_dim % 2 == 0 && head_dim <= 1024, "head_dim", head_dim);
  need(max_ctx > 0 && max_ctx <= (int64_t{1} << 24), "max_position_embeddings", max_ctx);
  if (!(rms_eps > 0 && rms_eps < 1)) fail_format(source, "rms_norm_eps", "invalid value {}", rms_eps);
  // Each float must be finite and positive: inf or NaN here gave PPL = nan with exit 0 (issue 24). `!(x > 0)`
  // is also true of NaN.
  auto positive = [&](float v, const char* field) {
    if (!(v > 0) || !std::isfinite(v)) fail_format(source, field, "invalid value {}: expected a finite number > 0", v);
  };
  positive(rope_theta, "rope_theta");
  if (rope_scaling != RopeScalingKind::None) positive(rope_factor, "rope_scaling.factor");
  if (rope_scaling == RopeScalingKind::Llama3) {
    positive(rope_low_freq_factor, "rope_scaling.low_freq_factor");
    positive(rope_high_freq_factor, "rope_scaling.high_freq_factor");
    need(rope_orig_ctx > 0, "rope_scaling.original_max_position_embeddings", rope_orig_ctx);
    // The smoothing band divides by their difference.
    if (!(rope_high_freq_factor > rope_low_freq_factor))
      fail_format(source, "rope_scaling.high_freq_factor", "{} must be greater than low_freq_factor {}",
                  rope_high_freq_factor, rope_low_freq_factor);
  }
  if (rope_scaling == RopeScalingKind::Yarn || rope_scaling == RopeScalingKind::LongRope) {
    need(rope_orig_ctx > 0, "rope_scaling.original_max_position_embeddings", rope_orig_ctx);
    positive(rope_attn_factor, "rope_scaling.attention_factor");
  }
  if (rope_scaling == RopeScalingKind::Yarn && !(rope_yarn_beta_fast > 0 && rope_yarn_beta_slow > 0))
    fail_format(source, "rope_scaling.beta_fast", "beta_fast {} and beta_slow {} must be positive", rope_yarn_beta_fast,
                rope_yarn_beta_slow);
  if (rope_scaling == RopeScalingKind::LongRope) {
    for (const auto* v : {&rope_long_factors, &rope_short_factors}) {
      const char* field = v == &rope_long_factors ? "rope_scaling.long_factor" : "rope_scaling.short_factor";
      if (static_cast<int64_t>(v->size()) != rope_dims() / 2)
        fail_format(source, field, "{} values for {} rotated pairs", v->size(), rope_dims() / 2);
      for (float x : *v)
        if (!(x > 0) || !std::isfinite(x)) fail_format(source, field, "value {} is not a finite number > 0", x);
    }
  }
  if (rope_theta_local != 0) positive(rope_theta_local, "rope_local_base_freq");
  if (!(block.partial_rotary > 0 && block.partial_rotary <= 1))
    fail_format(source, "partial_rotary_factor", "{} must be in (0, 1]", block.partial_rotary);
  if (rope_dims() < 2) fail_format(source, "partial_rotary_factor", "rotates {} dims of {}", rope_dims(), head_dim);
  if (!rope_freq_factors.empty() && static_cast<int64_t>(rope_freq_factors.size()) != rope_dims() / 2)
    fail_format(source, "rope_freqs.weight", "{} values for {} rotated pairs", rope_freq_factors.size(), rope_dims() / 2);
  if (!sliding_layers.empty() && static_cast<int64_t>(sliding_layers.size()) != n_layers)
    fail_format(source, "layer_types", "{} entries for {} layers", sliding_layers.size(), n_layers);
  if (!rope_layers.empty() && static_cast<int64_t>(rope_layers.size()) != n_layers)
    fail_format(source, "no_rope_layers", "{} entries for {} layers", rope_layers.size(), n_layers);
  need(block.sliding_window >= 0, "sliding_window", block.sliding_window);
  for (size_t i = 0; i < rope_freq_factors.size(); ++i)
    if (!(rope_freq_factors[i] > 0) || !std::isfinite(rope_freq_factors[i]))
      fail_format(source, "rope_freqs.weight", "value {} is {}: expected a finite number > 0", i, rope_freq_factors[i]);
}

int64_t LlamaConfig::rope_dims() const {
  if (block.partial_rotary == 1.0) return head_dim;
  // Hugging Face: int(head_dim × factor); llama.cpp's rope.dimension_count carries the same number.
  return static_cast<int64_t>(static_cast<double>(head_dim) * block.partial_rotary) / 2 * 2;
}

bool LlamaConfig::layer_slides(int64_t l) const {
  if (block.sliding_window <= 0) return false;
  if (sliding_layers.empty()) return block.sliding_every_layer;
  return sliding_layers[static_cast<size_t>(l)] != 0;
}

bool LlamaConfig::layer_ropes(int64_t l) const {
  if (block.positions != PositionKind::Rope) return false;
  return rope_layers.empty() || rope_layers[static_cast<size_t>(l)] != 0;
}

std::vector<float> LlamaConfig::rope_inv_freq(bool local, int64_t seq_len) const {
  const int64_t D = rope_dims(), half = D / 2;
  double theta = local && rope_theta_local > 0 ? rope_theta_local : rope_theta;
  if (!local && rope_scaling == RopeScalingKind::Dynamic && seq_len > max_ctx) {
    // NTK-aware: the base grows with the sequence beyond max_position_embeddings (transformers recomputes it in
    // the forward from max(position) + 1; in f32 there, since the length is a tensor).
    const float grow = rope_factor * static_cast<float>(seq_len) / static_cast<float>(max_ctx) - (rope_factor - 1.0f);
    theta = static_cast<float>(theta) * std::pow(grow, static_cast<float>(D) / static_cast<float>(D - 2));
  }
  // yarn: dims below `low` keep their frequency (extrapolate), above `high` are divided by the factor
  // (interpolate), a linear ramp between; the bounds are the dims that turn beta_fast and beta_slow times over
  // the original context.
  double low = 0, high = 0;
  if (!local && rope_scaling == RopeScalingKind::Yarn) {
    auto dim_of = [&](double rotations) {
      return D * std::log(static_cast<double>(rope_orig_ctx) / (rotations * 2 * M_PI)) / (2 * std::log(theta));
    };
    low = dim_of(rope_yarn_beta_fast), high = dim_of(rope_yarn_beta_slow);
    if (rope_yarn_truncate) low = std::floor(low), high = std::ceil(high);
    low = std::max(low, 0.0), high = std::min(high, static_cast<double>(D - 1));
    if (low == high) high += 0.001;  // as transformers: no zero-width ramp
  }
  const bool long_factors = seq_len > rope_orig_ctx;
  std::vector<float> f(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    double inv = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(D));
    if (local) {
      // Gemma 3's sliding layers use their own base without the global scaling.
    } else if (rope_scaling == RopeScalingKind::Linear) {
      inv /= rope_factor;
    } else if (rope_scaling == RopeScalingKind::Llama3) {
      // Long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
      const double low_wavelen = rope_orig_ctx / rope_low_freq_factor;
      const double high_wavelen = rope_orig_ctx / rope_high_freq_factor;
      const double wavelen = 2 * M_PI / inv;
      if (wavelen > low_wavelen) {
        inv /= rope_factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (rope_orig_ctx / wavelen - rope_low_freq_factor) /
                              (rope_high_freq_factor - rope_low_freq_factor);
        inv = (1 - smooth) * inv / rope_factor + smooth * inv;
      }
    } else if (rope_scaling == RopeScalingKind::Yarn) {
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      const double extrapolate = 1 - ramp;  // its weight
      inv = inv / rope_factor * (1 - extrapolate) + inv * extrapolate;
    } else if (rope_scaling == RopeScalingKind::LongRope) {
      // Long factors once the call reaches past the original context, short ones within it.
      inv /= (long_factors ? rope_long_factors : rope_short_factors)[static_cast<size_t>(i)];
    }
    if (!rope_freq_factors.empty() && !local) inv /= rope_freq_factors[static_cast<size_t>(i)];
    f[static_cast<size_t>(i)] = static_cast<float>(inv);
  }
  return f;
}

float LlamaConfig::rope_attention_factor(bool local) const {
  const bool scaled = rope_scaling == RopeScalingKind::Yarn || rope_scaling == RopeScalingKind::LongRope;
  return scaled && !local ? rope_attn_factor : 1.0f;
}

}  // namespace edgellm
