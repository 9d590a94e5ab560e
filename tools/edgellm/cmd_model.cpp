// Model verbs: tokenize, generate, logits (.npy) and perplexity. MODEL is a .gguf file, a Hugging Face
// directory, or builtin:<preset>.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "models/runner.h"
#include "models/token_stream.h"
#include "quant/kl.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/user_data.h"
#include "tools/edgellm/commands.h"
#include "train/lora_io.h"

namespace edgellm::cli {
namespace {

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != tok.size() || v < 0 || v > INT32_MAX) fail("--ids: '{}' is not a token id", tok);
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) fail("--ids: no token ids given");
  return ids;
}

// float32 .npy, C order, shape (rows, cols): NumPy's format 1.0 with a 64-byte aligned header.
void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", rows, cols);
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  AtomicFile f(path);
  const uint16_t hlen = static_cast<uint16_t>(header.size());
  f.write("\x93NUMPY\x01\x00", 8);
  const uint8_t len_le[2] = {static_cast<uint8_t>(hlen & 0xff), static_cast<uint8_t>(hlen >> 8)};
  f.write(len_le, 2);
  f.write(header);
  f.write(data, static_cast<size_t>(rows * cols) * sizeof(float));
  f.commit();
}

// One verb runs per process, so the options can live here.
std::string g_lora, g_device = "cpu";

}  // namespace

void add_lora_option(CLI::App* cmd) {
  cmd->add_option("--lora", g_lora, "LoRA adapter (PEFT directory or LoRA .gguf), applied without merging");
  add_device_option(cmd, g_device);
}
void apply_lora(Model& m) {
  if (!g_lora.empty()) load_lora(m.llama, g_lora);
  apply_device(m.llama, g_device);
}

void add_sampling_options(CLI::App* cmd, SamplerParams& sp, bool& greedy) {
  cmd->add_option("--temp", sp.temperature, "Temperature (0 = greedy)");
  cmd->add_option("--top-k", sp.top_k, "Top-k (0 = off)");
  cmd->add_option("--top-p", sp.top_p, "Top-p (1 = off)");
  cmd->add_option("--min-p", sp.min_p, "Min-p (0 = off)");
  cmd->add_option("--repeat-penalty", sp.repeat_penalty, "Repetition penalty (1 = off)");
  cmd->add_option("--repeat-last-n", sp.repeat_last_n, "Tokens the penalty looks back over");
  cmd->add_option("-s,--seed", sp.seed, "Sampling seed");
  cmd->add_flag("--greedy", greedy, "Greedy decoding (same as --temp 0)");
}

void add_model_commands(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text, space-separated");
    static std::string model, text;
    static bool bos = false, special = false;
    cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
    cmd->add_option("text", text, "Text to tokenize")->required();
    cmd->add_flag("--bos", bos, "Prepend the BOS token");
    cmd->add_flag("--parse-special", special, "Match special tokens such as <s> in the text");
    cmd->callback([] {
      apply_global_options();
      Model m = load_model(model);
      EncodeOptions opt;
      opt.add_bos = bos;
      opt.parse_special = special;
      std::string out;
      for (int32_t id : m.tokenizer->encode_long(text, opt, "the text to tokenize"))
        out += (out.empty() ? "" : " ") + std::to_string(id);
      fmt::print("{}\n", out);
    });
  }
  {
    auto* cmd = app.add_subcommand("generate", "Generate text after a prompt");
    static std::string model, prompt, prompt_file;
    static int n = 64;
    static int64_t n_ctx = 0;
    static SamplerParams sp;
    static bool greedy = false, ignore_eos = false;
    cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
    auto* p_opt = cmd->add_option("-p,--prompt", prompt, "Prompt text");
    auto* f_opt = cmd->add_option("-f,--file", prompt_file, "Read the prompt from this file");
    p_opt->excludes(f_opt);
    cmd->add_option("-n,--n-predict", n, "Tokens to generate")->check(CLI::NonNegativeNumber);
    cmd->add_option("-c,--ctx-size", n_ctx, "Context size: prompt + generated tokens (0 = as many as needed)")
        ->check(CLI::NonNegativeNumber);
    add_sampling_options(cmd, sp, greedy);
    cmd->add_flag("--ignore-eos", ignore_eos, "Keep generating past the end-of-sequence token");
    add_lora_option(cmd);
    cmd->callback([] {
      apply_global_options();
      if (!prompt_file.empty()) prompt = read_user_file(prompt_file, "the prompt").text;  // bounded, charged while read
      else if (prompt.empty()) fail("generate needs a prompt: -p TEXT or -f FILE");
      Model m = load_model(model);
      apply_lora(m);
      if (greedy) sp.temperature = 0;
      EncodeOptions opt;
      opt.add_bos = m.tokenizer->add_bos_default();
      const std::vector<int32_t> ids = m.tokenizer->encode(prompt, opt);
      const int64_t want = static_cast<int64_t>(ids.size()) + n;
      const int64_t ctx = n_ctx > 0 ? n_ctx : std::min<int64_t>(m.llama.config.max_ctx, want);
      if (static_cast<int64_t>(ids.size()) > ctx)
        fail("generate: the prompt has {} tokens, more than the context of {} (-c)", ids.size(), ctx);
      const std::string warn = context_warning(m.llama.config, std::min(want, ctx), fmt::format("generate (-c {})", ctx));
      if (!warn.empty()) std::fprintf(stderr, "%s\n", warn.c_str());
      // The last position's logits give one token more than the cache holds (it is never fed back).
      if (want > ctx + 1)
        std::fprintf(stderr, "note: a context of %lld%s leaves room for %lld new tokens after the %zu of the prompt\n",
                     static_cast<long long>(ctx), n_ctx > 0 ? " (-c)" : " (the model's trained context; -c sets another)",
                     static_cast<long long>(ctx - static_cast<int64_t>(ids.size()) + 1), ids.size());
      KvCache cache(m.llama.config, ctx);
      Sampler sampler(sp);
      fmt::print("{}", prompt);
      std::fflush(stdout);
      size_t generated = 0;
      TokenStream stream(*m.tokenizer);
      const auto t0 = std::chrono::steady_clock::now();
      generate(m, cache, ids, n, sampler, [&](int32_t id) {
        ++generated;
        fmt::print("{}", stream.push(id));
        std::fflush(stdout);
        return true;
      }, ignore_eos);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print("{}\n", stream.flush());
      std::fflush(stdout);
      std::fprintf(stderr, "[%zu prompt tokens, %zu generated in %.2f s]\n", ids.size(), generated, s);
    });
  }
  {
    auto* cmd = app.add_subcommand("logits", "Write the logits of every position as float32 .npy (tokens, vocab)");
    static std::string model, ids_text, out_path;
    cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
    cmd->add_option("--ids", ids_text, "Token ids, space-separated, e.g. \"1 2 3\"")->required();
    cmd->add_option("-o,--output", out_path, "Output .npy file")->required();
    add_lora_option(cmd);
    cmd->callback([] {
      apply_global_options();
      Model m = load_model(model);
      apply_lora(m);
      const std::vector<int32_t> ids = parse_ids(ids_text);
      const std::vector<float> logits = all_logits(m, ids);
      write_npy(out_path, logits.data(), static_cast<int64_t>(ids.size()), m.llama.config.vocab);
      fmt::print("wrote {} ({} x {} float32)\n", out_path, ids.size(), m.llama.config.vocab);
    });
  }
  {
    auto* cmd = app.add_subcommand("perplexity", "Perplexity of a text file, computed as llama-perplexity does");
    static std::string model, file, ref;
    static int64_t n_ctx = 512, n_batch = 0;
    cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
    cmd->add_option("-f,--file", file, "Text file")->required();
    cmd->add_option("-c,--ctx-size", n_ctx, "Tokens per chunk")->check(CLI::Range(int64_t{4}, int64_t{1} << 20));
    cmd->add_option("-b,--batch-size", n_batch, "Tokens per forward (0: the whole chunk; 1: the decode path)")
        ->check(CLI::NonNegativeNumber);
    add_lora_option(cmd);
    cmd->add_option("--ref", ref, "Reference model: also report KL(ref || model) on the scored positions");
    cmd->callback([] {
      apply_global_options();
      Model m = load_model(model);
      apply_lora(m);
      const UserText in = read_user_file(file, "the text to score");
      const std::string& text = in.text;
      const std::string warn = context_warning(m.llama.config, n_ctx, fmt::format("perplexity -c {}", n_ctx));
      if (!warn.empty()) std::fprintf(stderr, "%s\n", warn.c_str());
      if (!ref.empty()) {
        const Model r0 = load_model(ref);
        const quant::KlResult k = quant::kl_divergence(m, r0, text, n_ctx);
        fmt::print("PPL = {:.4f}  ref PPL = {:.4f}  ln(PPL/ref) = {:.5f} +/- {:.5f}\n", k.ppl, k.ref_ppl,
                   std::log(k.ppl / k.ref_ppl), k.ln_ratio_err);
        fmt::print("Mean KLD: {:.6f} +/- {:.6f}  max {:.6f}  same top p: {:.3f}%  ({} positions)\n", k.kl_mean, k.kl_err,
                   k.kl_max, 100.0 * k.same_top, k.scored);
        return;
      }
      const auto t0 = std::chrono::steady_clock::now();
      const PerplexityResult r = perplexity(m, text, n_ctx, [&](const PerplexityResult& p) {
        if (p.chunks == 1) {  // as llama-perplexity: the time of one pass and the ETA of all, up front
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          std::fprintf(stderr, "perplexity: %lld chunks of %lld, %.2f s per pass, ETA %.1f s\n",
                       static_cast<long long>(p.total_chunks), static_cast<long long>(n_ctx), s,
                       s * static_cast<double>(p.total_chunks - 1));
        }
        fmt::print("[{}]{:.4f},", p.chunks, p.running.back());
        std::fflush(stdout);
      }, n_batch);
      fmt::print("\nFinal estimate: PPL = {:.4f} +/- {:.5f}\n", r.ppl, r.ppl_err);
    });
  }
}

}  // namespace edgellm::cli
