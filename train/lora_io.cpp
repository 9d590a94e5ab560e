// LoRA adapters in PEFT's and llama.cpp's formats, merging, and the GGUF export of a Llama model.
// Not a converter for other architectures: Llama-family tensors only, names as models/load_gguf.cpp reads them.
#include "train/lora_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "kernels/linear.h"
#include "models/hf_config.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "runtime/path_query.h"
#include "runtime/safetensors.h"
#include "train/peft_modules.h"

namespace edgellm {

namespace fs = std::filesystem;

namespace {

const char* gguf_linear_name(LinearKind k) {
  switch (k) {
    case LinearKind::Q: return "attn_q";
    case LinearKind::K: return "attn_k";
    case LinearKind::V: return "attn_v";
    case LinearKind::O: return "attn_output";
    case LinearKind::Gate: return "ffn_gate";
    case LinearKind::Up: return "ffn_up";
    case LinearKind::Down: return "ffn_down";
  }
  return "?";
}

bool is_qk(LinearKind k) { return k == LinearKind::Q || k == LinearKind::K; }

// Rows of `t` (any dtype, rows whole) reordered HF → GGUF (to_gguf) or back, per head of HD rows.
Tensor permute_rows(const Tensor& t, int64_t heads, int64_t HD, bool to_gguf) {
  const Tensor src = t.contiguous();
  Tensor out = Tensor::empty(src.shape(), src.dtype());
  const int64_t rows = src.shape()[0];
  EDGE_CHECK(rows == heads * HD, "{}: {} rows, expected {} heads × {}", t.name, rows, heads, HD);
  const size_t rb = src.nbytes() / static_cast<size_t>(rows);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < HD / 2; ++j)
      for (int half = 0; half < 2; ++half) {
        const int64_t hf = h * HD + j + half * HD / 2, gg = h * HD + 2 * j + half;
        const int64_t from = to_gguf ? hf : gg, to = to_gguf ? gg : hf;
        std::memcpy(out.raw() + static_cast<size_t>(to) * rb, src.raw() + static_cast<size_t>(from) * rb, rb);
      }
  out.name = t.name;
  return out;
}

int64_t heads_of(const LlamaConfig& c, LinearKind k) { return k == LinearKind::Q ? c.n_heads : c.n_kv_heads; }

Tensor f32_copy(const Tensor& t) {
  Tensor f = t.to(DType::F32);
  return f.storage() == t.storage() ? f.clone() : f.contiguous();
}

void attach(LlamaModel& m, int64_t layer, LinearKind kind, Tensor A, Tensor B, float alpha, bool rslora,
            bool b_in_gguf_order, const std::string& file, const std::string& name) {
  const LlamaConfig& c = m.config;
  if (layer < 0 || layer >= c.n_layers) fail_format(file, name, "layer {} is outside the model's {} layers", layer, c.n_layers);
  LlamaLayer& L = m.weights.layers[static_cast<size_t>(layer)];
  const Tensor& W = L.weight(kind);
  const int64_t out = W.shape().rows(), in = W.shape().cols();
  if (A.shape().ndim != 2 || B.shape().ndim != 2 || A.shape()[1] != in || B.shape()[0] != out ||
      B.shape()[1] != A.shape()[0])
    fail_format(file, name, "adapter shapes A {} / B {} do not fit the weight ({}, {})", A.shape().str(), B.shape().str(),
                out, in);
  const int64_t r = A.shape()[0];
  if (r < 1) fail_format(file, name, "adapter rank {}: must be at least 1", r);
  LoraPair& lp = L.lora[static_cast<int>(kind)];
  lp.A = f32_copy(A);
  lp.B = f32_copy(B);
  if (is_qk(kind) && b_in_gguf_order != qk_rows_gguf_order(c))
    lp.B = permute_rows(lp.B, heads_of(c, kind), c.head_dim, !b_in_gguf_order);
  lp.scale = rslora ? alpha / std::sqrt(static_cast<float>(r)) : alpha / static_cast<float>(r);
}

void clear_lora(LlamaModel& m) {
  for (auto& L : m.weights.layers)
    for (auto& lp : L.lora) lp = LoraPair();
}

}  // namespace

bool qk_rows_gguf_order(const LlamaConfig& c) { return c.rope_pairing == RopePairing::Interleaved; }

void qk_rows_hf_to_gguf(float* dst, const float* src, int64_t heads, int64_t HD, int64_t cols) {
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < HD; ++j) {
      const int64_t gg = h * HD + (j < HD / 2 ? 2 * j : 2 * (j - HD / 2) + 1);
      std::memcpy(dst + gg * cols, src + (h * HD + j) * cols, static_cast<size_t>(cols) * sizeof(float));
    }
}

void qk_rows_gguf_to_hf(float* dst, const float* src, int64_t heads, int64_t HD, int64_t cols) {
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < HD; ++j) {
      const int64_t gg = h * HD + (j < HD / 2 ? 2 * j : 2 * (j - HD / 2) + 1);
      std::memcpy(dst + (h * HD + j) * cols, src + gg * cols, static_cast<size_t>(cols) * sizeof(float));
    }
}

void save_peft_adapter(const LlamaModel& m, const LoraConfig& c, const std::string& base_model, const std::string& dir) {
  std::error_code ec;
  const fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) fail("{}: cannot create the adapter's parent directory: {}", dir, ec.message());
  SafetensorsWriter w;
  std::vector<Tensor> keep;
  std::set<std::string> targets;
  int rank = 0;
  // Under the family's PEFT module names: a fused module (qkv_proj, c_attn ...) is one pair, its linears' B rows
  // concatenated, which needs the A they share (train/peft_modules.h).
  for (int64_t l = 0; l < m.config.n_layers; ++l)
    for (const PeftModule& pm : peft_modules(m.config)) {
      const LlamaLayer& ly = m.weights.layers[static_cast<size_t>(l)];
      const LoraPair& first = ly.lora[static_cast<int>(pm.kinds[0])];
      if (!first.defined()) continue;
      const int64_t r = first.A.shape()[0], out = peft_rows_of(m.config, pm, pm.kinds.back()).second;
      Tensor B = Tensor::empty({out, r});
      for (LinearKind kind : pm.kinds) {
        const LoraPair& lp = ly.lora[static_cast<int>(kind)];
        const std::string name = peft_module_prefix(m.config, l, pm);
        if (!lp.defined() || lp.A.numel() != first.A.numel() || lp.scale != first.scale ||
            !std::equal(lp.A.data<float>(), lp.A.data<float>() + lp.A.numel(), first.A.data<float>()))
          fail("{}: PEFT's {} is one adapter on {} linears; layer {}'s {} has none or its own A, which PEFT cannot hold",
               dir, name, pm.kinds.size(), l, peft_module_name(kind));
        Tensor b = lp.B.contiguous();
        if (is_qk(kind) && qk_rows_gguf_order(m.config)) b = permute_rows(b, heads_of(m.config, kind), m.config.head_dim, false);
        const int64_t r0 = peft_rows_of(m.config, pm, kind).first;
        std::copy(b.data<float>(), b.data<float>() + b.numel(), B.data<float>() + r0 * r);
      }
      targets.insert(pm.name);
      rank = static_cast<int>(r);
      keep.push_back(B);
      const std::string prefix = peft_module_prefix(m.config, l, pm);
      w.add(prefix + ".lora_A.weight", first.A);
      w.add(prefix + ".lora_B.weight", B);
    }
  EDGE_CHECK(!targets.empty(), "save_peft_adapter: the model has no LoRA adapters");
  w.set_metadata("format", "pt");
  nlohmann::json j = {
      {"base_model_name_or_path", base_model},
      {"bias", "none"},
      {"fan_in_fan_out", m.config.arch == "gpt2"},  // PEFT's setting for GPT-2's Conv1D (in, out) weights
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"lora_alpha", c.alpha},
      {"lora_dropout", c.dropout},
      {"modules_to_save", nullptr},
      {"peft_type", "LORA"},
      {"r", rank},
      {"rank_pattern", nlohmann::json::object()},
      {"alpha_pattern", nlohmann::json::object()},
      {"target_modules", std::vector<std::string>(targets.begin(), targets.end())},
      {"task_type", "CAUSAL_LM"},
      {"use_dora", false},
      {"use_rslora", false},
  };
  // Tensors and config as one unit: with two renames a kill between them left an r that disagreed with the
  // tensors (issue 24).
  write_directory_atomic(dir, [&](const std::string& tmp) {
    w.write(tmp + "/adapter_model.safetensors");
    write_file_atomic(tmp + "/adapter_config.json", j.dump(2) + "\n");
  });
}

void save_lora_gguf(const LlamaModel& m, float alpha, const std::string& path) {
  GgufWriter w;
  w.set_string("general.architecture", m.config.arch);
  w.set_string("general.type", "adapter");
  w.set_string("general.name", "Adapter");
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", alpha);
  std::vector<Tensor> keep;
  for (int64_t l = 0; l < m.config.n_layers; ++l)
    for (int kk = 0; kk < kNumLinearKinds; ++kk) {
      const LoraPair& lp = m.weights.layers[static_cast<size_t>(l)].lora[kk];
      if (!lp.defined()) continue;
      const auto kind = static_cast<LinearKind>(kk);
      Tensor B = lp.B;
      if (is_qk(kind) && !qk_rows_gguf_order(m.config)) B = permute_rows(lp.B, heads_of(m.config, kind), m.config.head_dim, true);
      keep.push_back(B);
      const std::string base = fmt::format("blk.{}.{}.weight", l, gguf_linear_name(kind));
      w.add_tensor(base + ".lora_a", lp.A);
      w.add_tensor(base + ".lora_b", B);
    }
  w.write(path);
}

LoraConfig load_peft_adapter(LlamaModel& m, const std::string& config_json, const std::string& cfg_path,
                             const SafetensorsFile& f) {
  LoraConfig cfg;
  std::set<std::string> targets;
  clear_lora(m);
  const nlohmann::json j = parse_json_metered(config_json, cfg_path);
  if (!j.is_object()) fail_format(cfg_path, "json", "expected a JSON object, got {}", j.type_name());
  // Absent or null optional keys take PEFT's defaults; a key of the wrong type is an error (never nlohmann's).
  auto given = [&](const char* key, bool (nlohmann::json::*is)() const noexcept, const char* what) {
    if (!j.contains(key) || j[key].is_null()) return false;
    if (!(j[key].*is)()) fail_format(cfg_path, key, "expected {}, got {}", what, j[key].type_name());
    return true;
  };
  auto num = [&](const char* key, double def, double lo, double hi) {
    const double v = given(key, &nlohmann::json::is_number, "a number") ? j[key].get<double>() : def;
    if (!(v >= lo && v <= hi)) fail_format(cfg_path, key, "{} is outside [{}, {}]", v, lo, hi);
    return v;
  };
  auto flag = [&](const char* key) { return given(key, &nlohmann::json::is_boolean, "true or false") && j[key].get<bool>(); };
  if (given("peft_type", &nlohmann::json::is_string, "a string") && j["peft_type"] != "LORA")
    fail_format(cfg_path, "peft_type", "only LORA adapters are supported");
  if (flag("use_dora")) fail_format(cfg_path, "use_dora", "DoRA adapters are not supported");
  for (const char* pat : {"rank_pattern", "alpha_pattern"})
    if (j.contains(pat) && j[pat].is_object() && !j[pat].empty())
      fail_format(cfg_path, pat, "per-module ranks/alphas are not supported");
  if (j.contains("bias") && j["bias"].is_string() && j["bias"] != "none")
    fail_format(cfg_path, "bias", "only bias \"none\" is supported");
  cfg.rank = static_cast<int>(num("r", 8, 1, 1 << 20));
  cfg.alpha = static_cast<float>(num("lora_alpha", 8, -1e30, 1e30));
  cfg.dropout = static_cast<float>(num("lora_dropout", 0, 0, 1));
  const bool rslora = flag("use_rslora");
  // r, target_modules and peft_type are required: PEFT cannot load a config without them, and defaults here
  // made an empty adapter_config.json load with a guessed scale.
  for (const char* key : {"peft_type", "r", "target_modules"})
    if (!j.contains(key) || j[key].is_null()) fail_format(cfg_path, key, "required field is missing");
  if (!j["r"].is_number_integer()) fail_format(cfg_path, "r", "expected an integer, got {}", json_brief(j["r"]));
  // target_modules: a list of this model's linear names, or PEFT's "all-linear" (a regex string is not read).
  std::set<std::string> named;
  const nlohmann::json& tm = j["target_modules"];
  if (tm.is_string() && tm.get<std::string>() == "all-linear") {
    for (const PeftModule& pm : peft_modules(m.config)) named.insert(pm.name);
  } else if (tm.is_array() && !tm.empty()) {
    for (size_t i = 0; i < tm.size(); ++i) {
      if (!tm[i].is_string()) fail_format(cfg_path, fmt::format("target_modules[{}]", i), "expected a string, got {}", json_brief(tm[i]));
      const std::string name = tm[i].get<std::string>();
      try {
        check_peft_target(m.config, name);
      } catch (const Error& e) {
        fail_format(cfg_path, fmt::format("target_modules[{}]", i), "{}", e.what());
      }
      named.insert(name);
    }
  } else {
    fail_format(cfg_path, "target_modules", "expected a non-empty list of module names or \"all-linear\", got {}", json_brief(tm));
  }
  const std::string& st = f.path();
  // Every module of every layer by its PEFT prefix (base_model.model.model.layers.N.self_attn.q_proj ...).
  std::map<std::string, std::pair<int64_t, const PeftModule*>> prefixes;
  for (int64_t l = 0; l < m.config.n_layers; ++l)
    for (const PeftModule& pm : peft_modules(m.config)) prefixes[peft_module_prefix(m.config, l, pm)] = {l, &pm};
  static const std::regex re(R"((base_model\.model\.[\w.]+)\.lora_(A|B)(\.default)?\.weight)");
  for (const auto& info : f.tensors()) {
    std::smatch mm;
    // std::regex recurses per character: bound the name before matching it.
    if (info.name.size() > 256 || !std::regex_match(info.name, mm, re))
      fail_format(st, info.name.substr(0, 256), "not a LoRA tensor of a {} decoder layer", m.config.arch);
    if (mm[2] == "B") continue;
    const auto at = prefixes.find(mm[1]);
    if (at == prefixes.end()) fail_format(st, info.name.substr(0, 256), "not a LoRA tensor of a {} decoder layer", m.config.arch);
    const auto [layer, pm] = at->second;
    std::string bname = info.name;
    bname.replace(bname.rfind("lora_A"), 6, "lora_B");
    if (!f.has(bname)) fail_format(st, bname, "missing (its lora_A is present)");
    if (!named.count(pm->name))
      fail_format(cfg_path, "target_modules", "does not name {}, which {} has tensors for", pm->name, st);
    // The scale is alpha / r: an r that disagrees with the tensors' rank would scale by the wrong factor
    // silently. PEFT refuses that adapter; so does this.
    const Tensor A = f.tensor(info);
    if (A.shape().ndim == 2 && A.shape()[0] != cfg.rank)
      fail_format(cfg_path, "r", "{} disagrees with the rank {} of {} in {}", cfg.rank, A.shape()[0], info.name.substr(0, 256), st);
    // A fused module's B rows go to its linears in order; they share A and its dropout mask.
    const Tensor B = f.tensor(bname);
    const int64_t out = peft_rows_of(m.config, *pm, pm->kinds.back()).second;
    if (B.shape().ndim != 2 || B.shape()[0] != out)
      fail_format(st, bname, "shape {} does not fit {}'s {} output rows", B.shape().str(), pm->name, out);
    for (LinearKind kind : pm->kinds) {
      const auto [r0, r1] = peft_rows_of(m.config, *pm, kind);
      attach(m, layer, kind, A, B.slice(0, r0, r1), cfg.alpha, rslora, false, st, info.name);
      m.weights.layers[static_cast<size_t>(layer)].lora[static_cast<int>(kind)].dropout_as = static_cast<int>(pm->kinds[0]);
    }
    targets.insert(pm->name);
  }
  if (targets.empty()) fail("{}: the adapter has no LoRA tensors", st);
  cfg.targets.assign(targets.begin(), targets.end());
  return cfg;
}

LoraConfig load_lora(LlamaModel& m, const std::string& path) {
  if (is_directory_path(path)) {
    const std::string cfg_path = path + "/adapter_config.json";
    return load_peft_adapter(m, read_file(cfg_path, kHfConfigMaxBytes), cfg_path, SafetensorsFile::open(path + "/adapter_model.safetensors"));
  }
  LoraConfig cfg;
  cfg.targets.clear();
  std::set<std::string> targets;
  clear_lora(m);
  GgufFile f = GgufFile::open(path);
  if (f.get_string("general.type", "") != "adapter" || f.get_string("adapter.type", "") != "lora")
    fail_format(path, "general.type", "not a LoRA adapter GGUF (general.type \"adapter\", adapter.type \"lora\")");
  cfg.alpha = f.get_f32("adapter.lora.alpha", 0.0f);
  if (!std::isfinite(cfg.alpha)) fail_format(path, "adapter.lora.alpha", "{} is not a finite number", cfg.alpha);
  cfg.rank = 0;
  static const std::regex re(R"(blk\.(\d{1,9})\.(\w+)\.weight\.lora_(a|b))");
  for (const auto& info : f.tensors()) {
    std::smatch mm;
    if (info.name.size() > 256 || !std::regex_match(info.name, mm, re))
      fail_format(path, info.name.substr(0, 256), "not a LoRA tensor of a Llama block");
    if (mm[3] == "b") continue;
    const int64_t layer = std::stoll(mm[1]);
    int found = -1;
    for (int kk = 0; kk < kNumLinearKinds; ++kk)
      if (mm[2] == gguf_linear_name(static_cast<LinearKind>(kk))) found = kk;
    if (found < 0) fail_format(path, info.name, "unknown tensor '{}'", std::string(mm[2]));
    const auto kind = static_cast<LinearKind>(found);
    std::string bname = info.name;
    bname.back() = 'b';
    if (!f.find_tensor(bname)) fail_format(path, bname, "missing (its lora_a is present)");
    Tensor A = f.tensor(info);
    // One rank for the whole adapter, as in PEFT without rank_pattern: the returned config has one r.
    const int64_t r = A.shape().ndim == 2 ? A.shape()[0] : 0;
    if (cfg.rank != 0 && r != cfg.rank)
      fail_format(path, info.name, "rank {} differs from the rank {} of the adapter's other tensors", r, cfg.rank);
    cfg.rank = static_cast<int>(r);
    // llama.cpp: scale = alpha / rank, or 1 when alpha is 0.
    const float alpha = cfg.alpha == 0 ? static_cast<float>(cfg.rank) : cfg.alpha;
    attach(m, layer, kind, A, f.tensor(bname), alpha, false, true, path, info.name);
    targets.insert(peft_module_name(kind));
  }
  if (targets.empty()) fail("{}: the adapter has no LoRA tensors", path);
  cfg.targets.assign(targets.begin(), targets.end());
  return cfg;
}

void merge_lora(LlamaModel& m) {
  for (auto& L : m.weights.layers)
    for (int kk = 0; kk < kNumLinearKinds; ++kk) {
      LoraPair& lp = L.lora[kk];
      if (!lp.defined()) continue;
      Tensor& W = L.weight(static_cast<LinearKind>(kk));
      const DType keep = dtype_info(W.dtype()).block == 1 ? W.dtype() : DType::F32;
      const std::string name = W.name;
      const int64_t out = W.shape().rows(), in = W.shape().cols(), r = lp.A.shape()[0];
      Tensor f = Tensor::empty({out, in});
      for (int64_t o = 0; o < out; ++o) dequantize_row(f.data<float>() + o * in, W, o);
      const float* A = lp.A.data<float>();
      const float* B = lp.B.data<float>();
      // W[o, i] += scale · Σ_k B[o, k]·A[k, i]
      for (int64_t o = 0; o < out; ++o) {
        float* row = f.data<float>() + o * in;
        for (int64_t k = 0; k < r; ++k) {
          const float b = lp.scale * B[o * r + k];
          for (int64_t i = 0; i < in; ++i) row[i] += b * A[k * in + i];
        }
      }
      W = keep == DType::F32 ? f : f.to(keep);
      W.name = name;
      lp = LoraPair();
    }
}

std::vector<std::pair<std::string, Tensor>> hf_ordered_grads(LlamaGrad& g) {
  const LlamaConfig& c = g.model().config;
  std::vector<std::pair<std::string, Tensor>> out;
  static const std::regex qk(R"(model\.layers\.\d+\.self_attn\.(q|k)_proj\.weight)");
  for (size_t i = 0; i < g.params().size(); ++i) {
    const Param& p = g.params()[i];
    Tensor t = Tensor::empty(g.grad_tensors()[i].shape());
    std::smatch mm;
    if (qk_rows_gguf_order(c) && std::regex_match(p.name, mm, qk)) {
      const int64_t heads = mm[1] == "q" ? c.n_heads : c.n_kv_heads;
      qk_rows_gguf_to_hf(t.data<float>(), p.grad, heads, c.head_dim, p.n / (heads * c.head_dim));
    } else {
      std::copy(p.grad, p.grad + p.n, t.data<float>());
    }
    out.emplace_back(p.name, t);
  }
  return out;
}

}  // namespace edgellm
