// AdamW, SGD, clipping and schedules. Updates are elementwise per parameter, parallel over elements;
// the AdamW and norm passes are the kernel table's (adamw_f32, sumsq_f32: SIMD per ISA).
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernel_table.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"

namespace edgellm {
namespace {

constexpr int64_t kGrain = 1 << 14;

Tensor zeros_like_param(const Param& p) { return Tensor::zeros({p.n}, DType::F32); }

void check_same_params(const std::vector<std::string>& names, const std::vector<Param>& params, const char* who) {
  EDGE_CHECK(names.size() == params.size(), "{}: {} parameters now, {} when the state was made", who, params.size(),
             names.size());
  for (size_t i = 0; i < params.size(); ++i)
    EDGE_CHECK(names[i] == params[i].name, "{}: parameter {} is '{}', the state holds '{}'", who, i, params[i].name,
               names[i]);
}

const Tensor& find_state(const std::vector<std::pair<std::string, Tensor>>& s, const std::string& name, int64_t n) {
  for (const auto& [k, t] : s)
    if (k == name) {
      EDGE_CHECK(t.dtype() == DType::F32 && t.numel() == n, "optimizer state '{}': expected {} f32 values, got {} {}",
                 name, n, t.numel(), dtype_name(t.dtype()));
      return t;
    }
  fail("optimizer state '{}' is missing", name);
}

// Fixed-size pieces of every parameter, [param index, begin, end): the optimizer passes run them all in
// ONE parallel region, dynamically scheduled. A region per parameter (hundreds per step) made every
// barrier wait for a descheduled thread on a loaded machine.
struct Piece {
  size_t p;
  int64_t a, b;
};
std::vector<Piece> pieces(const std::vector<Param>& params, int64_t size) {
  std::vector<Piece> out;
  for (size_t i = 0; i < params.size(); ++i)
    for (int64_t a = 0; a < params[i].n; a += size) out.push_back({i, a, std::min(params[i].n, a + size)});
  return out;
}
template <class F>
void for_each_piece(const std::vector<Piece>& ps, F&& fn) {
  const int64_t n = static_cast<int64_t>(ps.size());
  parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) fn(ps[static_cast<size_t>(i)], i);
  });
}

}  // namespace

void AdamW::init(const std::vector<Param>& params) {
  if (names_.empty() && m_.empty()) {
    for (const Param& p : params) {
      names_.push_back(p.name);
      m_.push_back(zeros_like_param(p));
      v_.push_back(zeros_like_param(p));
    }
  }
  check_same_params(names_, params, "AdamW");
}

AdamWCoef adamw_coefficients(const AdamWConfig& cfg, int64_t step, float lr, float grad_scale) {
  const double bc1 = 1.0 - std::pow(cfg.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(cfg.beta2, static_cast<double>(step));
  AdamWCoef c;
  c.grad_scale = grad_scale;
  c.step_size = static_cast<float>(lr / bc1);
  c.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  c.decay = static_cast<float>(1.0 - lr * cfg.weight_decay);
  c.b1 = static_cast<float>(cfg.beta1), c.b2 = static_cast<float>(cfg.beta2), c.eps = static_cast<float>(cfg.eps);
  c.one_m_b1 = static_cast<float>(1.0 - cfg.beta1), c.one_m_b2 = static_cast<float>(1.0 - cfg.beta2);
  return c;
}

void AdamW::step(std::vector<Param>& params, float lr, float grad_scale) {
  init(params);
  ++step_;
  const AdamWCoef c = adamw_coefficients(c_, step_, lr, grad_scale);
  auto* const adamw = kernels().adamw_f32;
  profile::Scope prof("adamw", [] { return std::string(kernels().adamw_f32_isa); }, [&] {
    double n = 0;
    for (const Param& p : params) n += static_cast<double>(p.n);
    return profile::Cost{28 * n, 12 * n};
  });
  for_each_piece(pieces(params, kGrain * 4), [&](const Piece& q, int64_t) {
    const Param& p = params[q.p];
    adamw(p.value + q.a, m_[q.p].data<float>() + q.a, v_[q.p].data<float>() + q.a, p.grad + q.a, q.b - q.a, c);
  });
}

std::vector<std::pair<std::string, Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, Tensor>> s;
  for (size_t i = 0; i < names_.size(); ++i) {
    s.emplace_back("exp_avg." + names_[i], m_[i]);
    s.emplace_back("exp_avg_sq." + names_[i], v_[i]);
  }
  return s;
}

void AdamW::load_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps) {
  EDGE_CHECK(!names_.empty(), "AdamW::load_state: call init(params) first");
  for (size_t i = 0; i < names_.size(); ++i) {
    const int64_t n = m_[i].numel();
    const Tensor& m = find_state(s, "exp_avg." + names_[i], n);
    const Tensor& v = find_state(s, "exp_avg_sq." + names_[i], n);
    std::copy(m.data<float>(), m.data<float>() + n, m_[i].data<float>());
    std::copy(v.data<float>(), v.data<float>() + n, v_[i].data<float>());
  }
  step_ = steps;
}

void Sgd::init(const std::vector<Param>& params) {
  if (names_.empty()) {
    for (const Param& p : params) {
      names_.push_back(p.name);
      buf_.push_back(zeros_like_param(p));
    }
  }
  check_same_params(names_, params, "SGD");
}

void Sgd::step(std::vector<Param>& params, float lr, float grad_scale) {
  init(params);
  const bool first = step_ == 0;
  ++step_;
  for (size_t i = 0; i < params.size(); ++i) {
    Param& p = params[i];
    float* buf = buf_[i].data<float>();
    parallel_for(p.n, kGrain, [&](int64_t a, int64_t b) {
      for (int64_t j = a; j < b; ++j) {
        float g = p.grad[j] * grad_scale + c_.weight_decay * p.value[j];
        if (c_.momentum != 0.0f) {
          buf[j] = first ? g : c_.momentum * buf[j] + (1.0f - c_.dampening) * g;
          g = c_.nesterov ? g + c_.momentum * buf[j] : buf[j];
        }
        p.value[j] -= lr * g;
      }
    });
  }
}

std::vector<std::pair<std::string, Tensor>> Sgd::state() const {
  std::vector<std::pair<std::string, Tensor>> s;
  for (size_t i = 0; i < names_.size(); ++i) s.emplace_back("momentum_buffer." + names_[i], buf_[i]);
  return s;
}

void Sgd::load_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps) {
  EDGE_CHECK(!names_.empty(), "SGD::load_state: call init(params) first");
  for (size_t i = 0; i < names_.size(); ++i) {
    const int64_t n = buf_[i].numel();
    const Tensor& b = find_state(s, "momentum_buffer." + names_[i], n);
    std::copy(b.data<float>(), b.data<float>() + n, buf_[i].data<float>());
  }
  step_ = steps;
}

// Fixed blocks of kBlock elements, each summed on its own and the partial sums added in order, so the
// norm is the same for every thread count.
constexpr int64_t kBlock = 1 << 15;

double grad_global_norm(const std::vector<Param>& params) {
  auto* const sumsq = kernels().sumsq_f32;
  profile::Scope prof("grad_norm", [] { return std::string(kernels().sumsq_f32_isa); }, [&] {
    double n = 0;
    for (const Param& p : params) n += static_cast<double>(p.n);
    return profile::Cost{4 * n, 2 * n};
  });
  const std::vector<Piece> ps = pieces(params, kBlock);
  std::vector<double> part(ps.size(), 0.0);
  for_each_piece(ps, [&](const Piece& q, int64_t i) {
    part[static_cast<size_t>(i)] = sumsq(params[q.p].grad + q.a, q.b - q.a);
  });
  double ss = 0;
  for (double x : part) ss += x;  // in a fixed order: the same norm for every thread count
  return std::sqrt(ss);
}

float clip_coefficient(double norm, double max_norm) {
  return static_cast<float>(std::min(1.0, max_norm / (norm + 1e-6)));
}

double clip_grad_norm(std::vector<Param>& params, double max_norm) {
  const double norm = grad_global_norm(params);
  const float coef = clip_coefficient(norm, max_norm);
  if (coef < 1.0f) {
    auto* const scale = kernels().scale_forward;
    for_each_piece(pieces(params, kGrain * 4), [&](const Piece& q, int64_t) {
      float* g = params[q.p].grad + q.a;
      scale(g, g, coef, q.b - q.a);
    });
  }
  return norm;
}

void zero_grads(std::vector<Param>& params) {
  for_each_piece(pieces(params, kGrain * 4),
                 [&](const Piece& q, int64_t) { std::fill(params[q.p].grad + q.a, params[q.p].grad + q.b, 0.0f); });
}

LrSchedule lr_schedule_from_name(const std::string& name) {
  if (name == "constant") return LrSchedule::Constant;
  if (name == "linear") return LrSchedule::Linear;
  if (name == "cosine") return LrSchedule::Cosine;
  fail("unknown learning-rate schedule '{}': expected constant, linear or cosine", name);
}

float lr_at(LrSchedule s, float base_lr, float min_lr, int64_t step, int64_t warmup, int64_t total) {
  if (warmup > 0 && step < warmup) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  if (s == LrSchedule::Constant || total <= warmup) return base_lr;
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(total - warmup));
  if (s == LrSchedule::Linear) return static_cast<float>(base_lr + (min_lr - base_lr) * progress);
  return static_cast<float>(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace edgellm
