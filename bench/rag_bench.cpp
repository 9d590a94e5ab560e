// RAG benchmark: indexing throughput (chunking + BM25 in MB/s of text; dense embedding in chunks/s on a
// built-in model) and query latency p50/p99 at 100k chunks (BM25; dense f32 GEMM and int8, dim 768).
// Not a quality benchmark (tests/rag has Recall@5); synthetic text and vectors only, a plain main().
// Usage: rag_bench [N_CHUNKS=100000] [DENSE_MODEL=builtin:110m] [N_EMBED=16] [THREADS=all]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>

#include "rag/index.h"
#include "runtime/parallel.h"

using namespace edgellm;
using namespace edgellm::rag;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Process CPU seconds: on a shared, overloaded box the single-thread CPU time is the stable number.
double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Zipf-distributed words over a synthetic vocabulary, sentences of 8..20 words.
struct TextGen {
  std::mt19937_64 rng{42};
  std::vector<std::string> vocab;
  std::vector<double> cdf;
  explicit TextGen(int V) {
    const char* syl[] = {"ka", "lo", "mi", "ren", "tas", "vo", "qui", "ber", "don", "sel", "ut", "zan"};
    double acc = 0;
    for (int i = 0; i < V; ++i) {
      std::string w;
      for (int x = i + 1; x > 0; x /= 12) w += syl[x % 12];
      vocab.push_back(w);
      acc += 1.0 / (i + 1);
      cdf.push_back(acc);
    }
  }
  const std::string& word() {
    const double u = std::uniform_real_distribution<double>(0, cdf.back())(rng);
    return vocab[std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()];
  }
  std::string sentence() {
    std::string s;
    const int n = 8 + static_cast<int>(rng() % 13);
    for (int i = 0; i < n; ++i) s += (i ? " " : "") + word();
    return s + ". ";
  }
};

struct Pct {
  double p50, p99;
};
Pct percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))]; };
  return {at(0.50), at(0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n_chunks = argc > 1 ? std::atoll(argv[1]) : 100000;
  const std::string dense_model = argc > 2 ? argv[2] : "builtin:110m";
  const int n_embed = argc > 3 ? std::atoi(argv[3]) : 16;
  if (argc > 4) set_num_threads(std::atoi(argv[4]));
  fmt::print("edgellm rag_bench: {} threads\n", num_threads());

  // ---- indexing: chunking with a model tokenizer + BM25 build -----------------------------------
  TextGen gen(20000);
  Model tok_model = load_model("builtin:tiny");  // byte-fallback tokenizer, like the built-in presets
  std::vector<Document> docs;
  size_t bytes = 0;
  for (int d = 0; bytes < (size_t{16} << 20); ++d) {
    std::string t;
    for (int p = 0; p < 6; ++p) {
      for (int s = 0; s < 5; ++s) t += gen.sentence();
      t += "\n\n";
    }
    bytes += t.size();
    docs.push_back({fmt::format("doc{}", d), std::move(t), "{}"});
  }
  {
    RagIndex ix;
    ix.settings.dense = false;
    ix.settings.chunk_tokens = 256;
    ix.settings.overlap = 32;
    auto t0 = Clock::now();
    double c0 = cpu_now();
    add_documents(ix, docs, tok_model);  // chunking (tokenizer counts) + BM25 build
    const double s = since(t0), cs = cpu_now() - c0;
    std::vector<std::string_view> texts;
    for (auto& c : ix.chunks) texts.push_back(c.text);
    t0 = Clock::now();
    c0 = cpu_now();
    Bm25Index b;
    b.build(texts);
    const double sb = since(t0), csb = cpu_now() - c0;
    t0 = Clock::now();
    save_index(ix, "/tmp/edgellm_rag_bench.rag");
    const double ss = since(t0);
    t0 = Clock::now();
    auto back = load_index("/tmp/edgellm_rag_bench.rag");
    const double sl = since(t0);
    std::remove("/tmp/edgellm_rag_bench.rag");
    const double mb = bytes / 1e6;
    fmt::print("index BM25: {:.1f} MB text, {} docs -> {} chunks, {} terms\n", mb, docs.size(), ix.chunks.size(),
               ix.bm25.terms.size());
    fmt::print("  chunk+BM25 (tokenizer counts): {:.2f} MB/s wall ({:.2f} s), {:.2f} MB/s CPU ({:.2f} s)\n", mb / s, s,
               mb / cs, cs);
    fmt::print("  BM25 build alone:              {:.2f} MB/s wall ({:.2f} s), {:.2f} MB/s CPU ({:.2f} s)\n", mb / sb, sb,
               mb / csb, csb);
    fmt::print("  save (CRC32 + atomic write):   {:.2f} s; open + check: {:.2f} s\n", ss, sl);
  }

  // ---- dense indexing: embeddings from a built-in model -----------------------------------------
  if (n_embed > 0) {
    Model m = load_model(dense_model);
    std::vector<std::string> texts;
    for (int i = 0; i < n_embed; ++i) {
      std::string t;
      while (m.tokenizer->encode(t).size() < 120) t += gen.sentence();
      texts.push_back(t);
    }
    embed_texts(m, std::span<const std::string>(texts.data(), 1));  // warm-up
    auto t0 = Clock::now();
    const double c0 = cpu_now();
    auto v = embed_texts(m, texts);
    const double s = since(t0), cs = cpu_now() - c0;
    fmt::print("index dense: {} ({} params, dim {}): {} chunks of ~120 tokens: {:.3f} chunks/s wall ({:.2f} s), "
               "{:.3f} chunks/CPU-s ({:.2f} s)\n",
               dense_model, m.llama.n_params(), m.llama.config.dim, n_embed, n_embed / s, s, n_embed / cs, cs);
  }

  // ---- BM25 query latency at n_chunks ------------------------------------------------------------
  {
    std::vector<std::string> chunks;
    for (int64_t i = 0; i < n_chunks; ++i) chunks.push_back(gen.sentence() + gen.sentence() + gen.sentence());
    std::vector<std::string_view> views(chunks.begin(), chunks.end());
    Bm25Index b;
    auto t0 = Clock::now();
    b.build(views);
    fmt::print("BM25 at {} chunks ({} terms, {} postings): build {:.2f} s\n", n_chunks, b.terms.size(),
               b.postings.size(), since(t0));
    std::vector<double> lat, clat;
    for (int q = 0; q < 300; ++q) {
      std::string query;
      for (int w = 0; w < 4; ++w) query += gen.word() + " ";  // Zipf, like the text: common words too
      t0 = Clock::now();
      const double c0 = cpu_now();
      auto hits = b.search(query, 10);
      clat.push_back((cpu_now() - c0) * 1e3);
      lat.push_back(since(t0) * 1e3);
    }
    auto p = percentiles(lat), cp = percentiles(clat);
    fmt::print("  query (4 words, k=10, 300 queries): wall p50 {:.3f} ms, p99 {:.3f} ms; CPU p50 {:.3f} ms, p99 {:.3f} ms\n",
               p.p50, p.p99, cp.p50, cp.p99);
  }

  // ---- dense query latency at n_chunks, dim 768 --------------------------------------------------
  {
    const int64_t C = 768;
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    std::vector<float> v(static_cast<size_t>(n_chunks * C));
    for (auto& x : v) x = nd(rng);
    for (int64_t i = 0; i < n_chunks; ++i) l2_normalize(v.data() + i * C, C);
    for (bool int8 : {false, true}) {
      DenseStore st;
      st.dim = C;
      st.int8 = int8;
      st.append(v.data(), n_chunks);
      std::vector<float> q(16 * C);
      for (int64_t qi = 0; qi < 16; ++qi) {
        for (int64_t j = 0; j < C; ++j) q[qi * C + j] = nd(rng);
        l2_normalize(q.data() + qi * C, C);
      }
      dense_search(st, q.data(), 1, 10);  // warm-up
      std::vector<double> lat, clat;
      for (int r = 0; r < 50; ++r) {
        auto t0 = Clock::now();
        const double c0 = cpu_now();
        dense_search(st, q.data() + (r % 16) * C, 1, 10);
        clat.push_back((cpu_now() - c0) * 1e3);
        lat.push_back(since(t0) * 1e3);
      }
      auto p = percentiles(lat), cp = percentiles(clat);
      auto t0 = Clock::now();
      for (int r = 0; r < 5; ++r) dense_search(st, q.data(), 16, 10);
      const double batch_ms = since(t0) * 1e3 / 5;
      fmt::print("dense {} at {} x {}: 1 query wall p50 {:.2f} ms, p99 {:.2f} ms (CPU p50 {:.2f}, p99 {:.2f} ms); "
                 "batch of 16: {:.2f} ms wall ({:.2f} ms/query)\n",
                 int8 ? "int8" : "f32 ", n_chunks, C, p.p50, p.p99, cp.p50, cp.p99, batch_ms, batch_ms / 16);
    }
  }
  return 0;
}
