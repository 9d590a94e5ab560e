// `edgellm info [MODEL]`: with no MODEL, the CPU's features and the ISA each kernel uses;
// with a .gguf file, a .safetensors file or a Hugging Face directory, its metadata and tensors.
// Not a validator beyond what the readers check: it prints what the file says.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "models/hf_config.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/parallel.h"
#include "runtime/safetensors.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {
namespace fs = std::filesystem;

static void print_cpu_info() {
  const CpuFeatures& f = cpu_features();
  fmt::print("cpu:            {}\n", f.brand);
  fmt::print("features:       {}\n", f.str());
  fmt::print("threads:        {}\n", num_threads());
  fmt::print("compiled ISAs:  {}\n", compiled_isas_string());
  std::string avail;
  for (Isa i : available_isas()) avail += (avail.empty() ? "" : " ") + std::string(isa_name(i));
  fmt::print("usable ISAs:    {}\n", avail);
  fmt::print("active ISA:     {}{}\n", isa_name(active_isa()), std::getenv("EDGELLM_ISA") ? " (forced by EDGELLM_ISA)" : "");
  fmt::print("\n| kernel | ISA |\n|---|---|\n");
  for (const auto& [name, isa] : kernel_isa_list(kernels())) fmt::print("| {} | {} |\n", name, isa);
  fmt::print("{}", edgellm::cli::device_report());
}

// Running totals of a tensor table.
struct Totals {
  uint64_t tensors = 0, bytes = 0, elements = 0;
  std::map<std::string, uint64_t> by_type;
  void add(DType t, uint64_t bytes_, uint64_t elements_) {
    ++tensors;
    bytes += bytes_;
    elements += elements_;
    ++by_type[std::string(dtype_name(t))];
  }
  void print() const {
    std::string types;
    for (const auto& [t, n] : by_type) types += fmt::format("{}{}: {}", types.empty() ? "" : ", ", t, n);
    fmt::print("\ntotal: {} tensors, {} parameters, {} ({})\n", tensors, elements, format_bytes(bytes), types);
  }
};

static void print_gguf(const std::string& path) {
  const GgufFile g = GgufFile::open(path);
  fmt::print("file:        {}\n", path);
  fmt::print("format:      GGUF v{}, alignment {}, data at byte {}, {}\n", g.version(), g.alignment(),
             g.data_offset(), format_bytes(g.file()->size()));
  fmt::print("\n## metadata ({} keys)\n\n| key | type | value |\n|---|---|---|\n", g.metadata().size());
  for (const auto& [k, v] : g.metadata()) {
    std::string type(gguf_type_name(v.type()));
    if (v.type() == GgufType::ARRAY) type = fmt::format("array[{}]", gguf_type_name(v.to_array().elem));
    std::string value = v.str(16);
    std::replace(value.begin(), value.end(), '|', '/');  // keep the markdown table intact
    fmt::print("| {} | {} | {} |\n", k, type, value);
  }
  fmt::print("\n## tensors ({}; shape is row-major, the reverse of GGUF's ne)\n\n", g.tensors().size());
  fmt::print("| name | type | shape | bytes |\n|---|---|---|---|\n");
  Totals tot;
  for (const auto& t : g.tensors()) {
    fmt::print("| {} | {} | {} | {} |\n", t.name, dtype_name(t.dtype), t.shape.str(), t.nbytes);
    tot.add(t.dtype, t.nbytes, static_cast<uint64_t>(t.shape.numel()));
  }
  tot.print();
}

static void print_safetensors_tensors(const SafetensorsFile& f, Totals& tot, bool show_file) {
  for (const auto& t : f.tensors()) {
    const std::string file = show_file ? fmt::format(" {} |", fs::path(f.path()).filename().string()) : "";
    fmt::print("| {} | {} | {} | {} |{}\n", t.name, safetensors_dtype_name(t.dtype), t.shape.str(), t.end - t.begin,
               file);
    tot.add(t.dtype, t.end - t.begin, static_cast<uint64_t>(t.shape.numel()));
  }
}

static void print_safetensors_file(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  fmt::print("file:        {}\n", path);
  fmt::print("format:      safetensors, data at byte {}, {}\n", f.data_offset(), format_bytes(f.file()->size()));
  for (const auto& [k, v] : f.metadata()) fmt::print("metadata:    {} = {}\n", k, v);
  fmt::print("\n| name | type | shape | bytes |\n|---|---|---|---|\n");
  Totals tot;
  print_safetensors_tensors(f, tot, false);
  tot.print();
}

static void print_hf_dir(const std::string& dir) {
  const HFConfig c = load_hf_config(dir);
  fmt::print("directory:   {}\n", dir);
  fmt::print("config:      {}\n\n", c.path);
  std::string arch;
  for (const auto& a : c.architectures) arch += (arch.empty() ? "" : ", ") + a;
  const auto ids = [](const std::vector<int64_t>& v) {
    std::string s;
    for (int64_t x : v) s += fmt::format("{}{}", s.empty() ? "" : " ", x);
    return s.empty() ? std::string("-") : s;
  };
  fmt::print("| field | value |\n|---|---|\n");
  fmt::print("| model_type | {} |\n| architectures | {} |\n", c.model_type, arch);
  fmt::print("| hidden_size | {} |\n| intermediate_size | {} |\n| num_hidden_layers | {} |\n", c.hidden_size,
             c.intermediate_size, c.num_hidden_layers);
  fmt::print("| num_attention_heads | {} |\n| num_key_value_heads | {} |\n| head_dim | {} |\n",
             c.num_attention_heads, c.num_key_value_heads, c.head_dim);
  fmt::print("| vocab_size | {} |\n| max_position_embeddings | {} |\n", c.vocab_size, c.max_position_embeddings);
  fmt::print("| rms_norm_eps | {} |\n| rope_theta | {} |\n", c.rms_norm_eps, c.rope_theta);
  if (!c.rope_scaling.type.empty())
    fmt::print("| rope_scaling | {} (factor {}, low {}, high {}, original context {}) |\n", c.rope_scaling.type,
               c.rope_scaling.factor, c.rope_scaling.low_freq_factor, c.rope_scaling.high_freq_factor,
               c.rope_scaling.original_max_position_embeddings);
  fmt::print("| tie_word_embeddings | {} |\n| q/k/v bias | {} |\n| o bias | {} |\n", c.tie_word_embeddings,
             c.qkv_bias, c.o_bias);
  fmt::print("| bos ids | {} |\n| eos ids | {} |\n| dtype | {} |\n", ids(c.bos_token_ids), ids(c.eos_token_ids),
             c.torch_dtype.empty() ? "-" : c.torch_dtype);

  const SafetensorsDir st = SafetensorsDir::open(dir);
  const size_t nf = st.files().size();
  fmt::print("\n## tensors ({} in {} file{})\n\n", st.size(), nf, nf == 1 ? "" : "s");
  const bool many = nf > 1;
  fmt::print("| name | type | shape | bytes |{}\n|---|---|---|---|{}\n", many ? " file |" : "", many ? "---|" : "");
  Totals tot;
  for (const auto& f : st.files()) print_safetensors_tensors(f, tot, many);
  tot.print();
}

static void print_model_info(const std::string& model) {
  if (fs::is_directory(model)) return print_hf_dir(model);
  const std::string ext = fs::path(model).extension().string();
  if (ext == ".safetensors") return print_safetensors_file(model);
  if (ext == ".json" && fs::path(model).filename() == "config.json")
    return print_hf_dir(fs::path(model).parent_path().string());
  print_gguf(model);  // .gguf or anything else: the magic decides
}

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "info", "Show CPU features and kernel ISAs, or a model's metadata and tensors (.gguf, .safetensors, HF dir)");
  static std::string model;
  cmd->add_option("MODEL", model, "A .gguf file, a .safetensors file or a Hugging Face directory");
  cmd->callback([] {
    apply_global_options();
    if (model.empty()) print_cpu_info();
    else print_model_info(model);
  });
}

}  // namespace edgellm::cli
