// `edgellm rag index|query|ask`: build an index from documents, query it, answer with retrieval.
// Not library code: parsing and printing only; the work is in rag/.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "models/runner.h"
#include "rag/index.h"
#include "rag/prompt.h"
#include "runtime/error.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One line of a chunk's text, at most `max` bytes, cut at a UTF-8 character boundary.
std::string snippet(const std::string& text, size_t max = 100) {
  std::string s;
  for (char c : text) s += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

// hybrid when the index has vectors and a model can embed the question, else bm25.
rag::Mode pick_mode(const std::string& name, const rag::RagIndex& ix, bool have_model) {
  if (!name.empty()) return rag::mode_from_name(name);
  return (!ix.dense.empty() && have_model) ? rag::Mode::Hybrid : rag::Mode::Bm25;
}

void print_hits(const rag::RagIndex& ix, const std::vector<rag::Scored>& hits) {
  for (size_t i = 0; i < hits.size(); ++i) {
    const auto& c = ix.chunks[hits[i].chunk];
    fmt::print("{:>3}  {:>9.4f}  {}  [{}..{})  {}\n", i + 1, hits[i].score, ix.docs[c.doc].id, c.begin, c.end,
               snippet(c.text));
  }
}

}  // namespace

void add_rag_commands(CLI::App& app) {
  auto* rag_cmd = app.add_subcommand("rag", "Retrieval-augmented generation: index documents, query, ask");
  rag_cmd->require_subcommand(1);
  {
    auto* cmd = rag_cmd->add_subcommand("index", "Index .txt/.md/.jsonl files and folders into one index file");
    static std::string model, out, embedder;
    static std::vector<std::string> docs;
    static rag::IndexSettings s;
    static bool no_dense = false, add = false;
    cmd->add_option("-m,--model", model, "Model whose tokenizer chunks (and whose hidden states embed, without --embedder)")->required();
    cmd->add_option("--embedder", embedder, "A trained embedder (`edgellm embedder`) that embeds instead of -m; the index records it");
    cmd->add_option("docs", docs, "Files and folders")->required();
    cmd->add_option("-o,--output", out, "Index file")->required();
    cmd->add_option("--chunk-tokens", s.chunk_tokens, "Tokens per chunk")->check(CLI::PositiveNumber);
    cmd->add_option("--overlap", s.overlap, "Tokens of overlap between chunks")->check(CLI::NonNegativeNumber);
    cmd->add_option("--k1", s.bm25.k1, "BM25 k1");
    cmd->add_option("--b", s.bm25.b, "BM25 b");
    cmd->add_option("--embed-max-tokens", s.embed_max_tokens, "Tokens per chunk the embedding sees");
    cmd->add_flag("--no-dense", no_dense, "BM25 only: no vectors");
    cmd->add_flag("--int8", s.int8, "Store vectors as int8 with per-vector scales");
    cmd->add_flag("--add", add, "Add the documents to the existing index at -o (its settings are kept; concurrent runs wait for each other)");
    cmd->callback([] {
      apply_global_options();
      const auto t0 = std::chrono::steady_clock::now();
      s.dense = !no_dense;
      s.embed_model = !s.dense ? "" : embedder.empty() ? model : embedder;
      Model m = load_model(model);
      std::optional<Model> em;
      if (s.dense && !embedder.empty()) em = load_model(embedder);
      const rag::RagIndex ix = rag::write_index(out, docs, m, s, add, em ? &*em : nullptr);
      std::fprintf(stderr, "[%zu documents -> %zu chunks, %zu terms, %s vectors; %.2f s] %s\n", ix.docs.size(),
                   ix.chunks.size(), ix.bm25.terms.size(),
                   ix.dense.empty() ? "no" : (ix.dense.int8 ? "int8" : "f32"), seconds_since(t0), out.c_str());
    });
  }
  {
    auto* cmd = rag_cmd->add_subcommand("query", "Print the best chunks for a question");
    static std::string index, question, model, mode;
    static rag::QueryOptions q;
    cmd->add_option("index", index, "Index file")->required();
    cmd->add_option("question", question, "Question")->required();
    cmd->add_option("-k", q.k, "Chunks to return")->check(CLI::PositiveNumber);
    cmd->add_option("--mode", mode, "bm25 | dense | hybrid (default: hybrid with -m and vectors, else bm25)");
    cmd->add_option("-m,--model,--embedder", model, "Embedding model for dense/hybrid (default: the index's)");
    cmd->add_option("--rrf-k", q.rrf_k, "Reciprocal-rank fusion constant");
    cmd->callback([] {
      apply_global_options();
      const auto ix = rag::load_index(index);
      q.mode = pick_mode(mode, ix, !model.empty());
      std::optional<Model> m;
      if (q.mode != rag::Mode::Bm25) m = rag::load_embedder(ix, model);
      const auto t0 = std::chrono::steady_clock::now();
      auto hits = rag::retrieve(ix, question, q, m ? &*m : nullptr);
      const double s = seconds_since(t0);
      print_hits(ix, hits);
      std::fprintf(stderr, "[%zu hits of %zu chunks in %.2f ms]\n", hits.size(), ix.chunks.size(), s * 1e3);
    });
  }
  {
    auto* cmd = rag_cmd->add_subcommand("ask", "Retrieve chunks for a question, fill the prompt, generate the answer");
    static std::string model, index, question, mode, embed_model, tmpl_name;
    static rag::QueryOptions q;
    static rag::PromptOptions po;
    static SamplerParams sp;
    static int n = 256;
    static bool show_prompt = false, no_chat = false;
    sp.temperature = 0;
    cmd->add_option("-m,--model", model, "Model that answers")->required();
    cmd->add_option("index", index, "Index file")->required();
    cmd->add_option("question", question, "Question")->required();
    cmd->add_option("-k", q.k, "Chunks to retrieve")->check(CLI::PositiveNumber);
    cmd->add_option("--mode", mode, "bm25 | dense | hybrid (default: hybrid when the index has vectors)");
    cmd->add_option("--embed-model,--embedder", embed_model, "Embedding model (default: the index's)");
    cmd->add_option("--budget", po.budget_tokens, "Prompt token budget")->check(CLI::PositiveNumber);
    cmd->add_option("-n,--n-predict", n, "Tokens to generate")->check(CLI::NonNegativeNumber);
    cmd->add_option("--temp", sp.temperature, "Temperature (default 0 = greedy)");
    cmd->add_option("-s,--seed", sp.seed, "Sampling seed");
    cmd->add_flag("--show-prompt", show_prompt, "Print the prompt before the answer");
    cmd->add_flag("--no-chat-template", no_chat, "Plain prompt even if the model has a chat template");
    cmd->add_option("--chat-template,--template", tmpl_name,
                    "Chat template instead of the model's: llama2, llama3, chatml (qwen2, smollm), mistral, zephyr");
    add_lora_option(cmd);
    cmd->callback([] {
      apply_global_options();
      if (!tmpl_name.empty() && !chat_template_from_name(tmpl_name))
        fail("rag ask --chat-template: unknown template '{}' (llama2, llama3, chatml, mistral, zephyr)", tmpl_name);
      if (!tmpl_name.empty() && no_chat) fail("rag ask: --chat-template and --no-chat-template contradict each other");
      const auto ix = rag::load_index(index);
      Model m = load_model(model);
      q.mode = pick_mode(mode, ix, true);
      std::optional<Model> em;
      const std::string emb = embed_model.empty() ? ix.settings.embed_model : embed_model;
      // Another model than the answering one is checked before it is loaded; retrieve() checks whichever embeds.
      if (q.mode != rag::Mode::Bm25 && emb != model) em = rag::load_embedder(ix, emb);
      const Model* embedder = q.mode == rag::Mode::Bm25 ? nullptr : (em ? &*em : &m);
      auto hits = rag::retrieve(ix, question, q, embedder);
      // The adapter answers; it does not embed: the index's vectors were made by the bare model.
      apply_lora(m);
      if (!no_chat) po.chat = tmpl_name.empty() ? rag::model_chat_template(model) : chat_template_from_name(tmpl_name);
      // Prompt and answer share the context: keep at least half of it for the prompt.
      const int64_t ctx = m.llama.config.max_ctx;
      po.budget_tokens = std::min<int64_t>(po.budget_tokens, std::max<int64_t>(ctx - n, ctx / 2));
      n = static_cast<int>(std::min<int64_t>(n, ctx - po.budget_tokens));
      auto p = rag::build_rag_prompt(m, ix, question, hits, po);
      if (show_prompt) fmt::print("{}\n---\n", p.text);
      KvCache cache(m.llama.config, std::min<int64_t>(m.llama.config.max_ctx, static_cast<int64_t>(p.ids.size()) + n));
      Sampler sampler(sp);
      std::vector<int32_t> out;
      std::string shown;
      generate(m, cache, p.ids, n, sampler, [&](int32_t id) {
        out.push_back(id);
        const std::string text = m.tokenizer->decode(out);
        if (text.size() > shown.size() && text.compare(0, shown.size(), shown) == 0) {
          fmt::print("{}", text.substr(shown.size()));
          std::fflush(stdout);
          shown = text;
        }
        return true;
      });
      fmt::print("\n");
      std::fprintf(stderr, "[%zu of %zu retrieved chunks in a %zu-token prompt (%s template); %zu tokens generated]\n",
                   p.chunks_used, hits.size(), p.ids.size(), (po.chat ? chat_template_name(*po.chat) : std::string("plain")).c_str(),
                   out.size());
    });
  }
}

}  // namespace edgellm::cli
