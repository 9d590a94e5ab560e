// `edgellm quantize`: RTN, GPTQ or AWQ of a model's linear layers, written as GGUF, one progress line per block.
// Group-int results (intNgG) are written packed under edgellm's own tensor type ids (runtime/dtype.h).
// Not the quantizers themselves (quant/).
#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <optional>

#include "models/save_gguf.h"
#include "quant/quantize_model.h"
#include "runtime/error.h"
#include "runtime/file_lock.h"
#include "runtime/user_data.h"
#include "runtime/mmap_file.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

void add_quantize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a model with RTN, GPTQ or AWQ and write GGUF");
  static std::string model, out, method = "rtn", type = "q4_0", calib;
  static bool act_order = false, no_clip = false, pure = false;
  static int64_t calib_tokens = 1024, seq_len = 128;
  static float percdamp = 0.01f;
  cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>[:seed])")->required();
  cmd->add_option("--method", method, "rtn | gptq | awq");
  cmd->add_option("--type", type,
                  "Any case. q4_0 q4_1 q8_0 (any method); int<b>g<G> symmetric / uint<b>g<G> asymmetric group-int "
                  "(b 2,3,4,8; G 32,64,128); rtn also: any GGUF type (q4_k, q6_k ...) and llama-quantize's mixes (" +
                      file_type_names() + ")");
  cmd->add_flag("--pure", pure, "rtn: every matrix in the type's base type, as llama-quantize --pure (no mix)");
  cmd->add_option("--calib", calib, "Calibration text file (default: built-in paragraphs)");
  cmd->add_option("--calib-tokens", calib_tokens, "Calibration tokens in all");
  cmd->add_option("--seq-len", seq_len, "Calibration sequence length");
  cmd->add_option("--percdamp", percdamp, "GPTQ damping, fraction of mean diag(H)");
  cmd->add_flag("--act-order", act_order, "GPTQ: process columns by descending diag(H) (static groups)");
  cmd->add_flag("--no-clip", no_clip, "AWQ: skip the clipping search");
  cmd->add_option("-o,--output", out, "Output .gguf")->required();
  cmd->callback([] {
    apply_global_options();
    for (auto& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto t0 = std::chrono::steady_clock::now();
    quant::ModelQuantOptions o;
    o.method = quant::parse_quant_method(method);
    o.gptq.act_order = act_order;
    o.gptq.percdamp = percdamp;
    o.awq.clip = !no_clip;
    o.max_tokens = calib_tokens;
    o.seq_len = seq_len;
    const bool is_spec = quant::parse_quant_spec(type, o.spec);
    const OutputLock lock(out, OutputLock::Wait::Fail);
    Model m = load_model(model);
    const int64_t n_layers = m.llama.config.n_layers;

    // RTN to a GGUF type goes through the reference quantizers (byte-identical to llama-quantize's).
    if (!is_spec || (o.method == quant::QuantMethod::Rtn && quant::grid_kind(o.spec) != quant::GridKind::Gint)) {
      if (o.method != quant::QuantMethod::Rtn)
        fail("quantize: --type {} is only available with --method rtn (GPTQ/AWQ: q4_0 q4_1 q8_0 intNgG uintNgG)",
             type);
      const std::string what = save_llama_gguf_as(m, out, type, pure);
      fmt::print("wrote {} (rtn {}, {} parameters)\n", out, what, m.llama.n_params());
      return;
    }

    std::optional<UserText> calib_in;
    if (!calib.empty()) calib_in.emplace(read_user_file(calib, "the calibration text"));
    const std::string text = calib_in ? std::move(calib_in->text) : quant::builtin_calibration_text();
    fmt::print("quantize: {} {} ({}-bit, group {}, {}), {} blocks{}\n", method, type, o.spec.bits, o.spec.group,
               o.spec.symmetric ? "symmetric" : "asymmetric", n_layers,
               o.method == quant::QuantMethod::Rtn ? "" : ", calibration " + (calib.empty() ? "built-in" : calib));
    quant::quantize_model(m, text, o, [&](const quant::BlockReport& r) {
      std::string errs;
      static const char* names[] = {"q", "k", "v", "o", "gate", "up", "down"};
      const bool gate = m.llama.config.block.mlp != MlpKind::Gelu;  // GPT-2's MLP has none
      if (o.method != quant::QuantMethod::Rtn)
        for (int i = 0; i < 7; ++i)
          if (gate || i != static_cast<int>(LinearKind::Gate)) errs += fmt::format(" {} {:.2e}", names[i], r.rel_err[i]);
      for (int i = 0; i < 7; ++i)
        if (r.kept[i]) errs += fmt::format(" ({} kept: width not a multiple of {})", names[i], o.spec.group);
      const double so_far = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print("[{:>3}/{}] {:6.2f} s, ETA {:.0f} s{}\n", r.layer + 1, r.n_layers, r.seconds,
                 so_far / static_cast<double>(r.layer + 1) * static_cast<double>(r.n_layers - r.layer - 1),
                 errs.empty() ? "" : "  rel.err" + errs);
      std::fflush(stdout);
    });
    quant::save_quantized_gguf(m, out, o, type);
    fmt::print("wrote {} ({} {}, {:.1f} s)\n", out, method, type,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
}

}  // namespace edgellm::cli
