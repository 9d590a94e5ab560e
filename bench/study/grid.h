// The study's grid: one RunSpec per (base, compression, method, data amount, seed), each evaluated at
// several step checkpoints and at every question level; named grids `quick` and `full`, shards, run ids.
// Not the runner (bench/study/run.h) nor the scheduler (bench/study/driver.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/dtype.h"

namespace edgellm::study {

// Compressions: f32 (the base widened), q8_0 and rtn4 (Q4_0; embeddings and output too) by round-to-nearest,
// gptq4 and awq4 (Q4_0 grid, calibrated), gptq3 (group-int 3-bit, group 32, symmetric, packed), gptq2
// (group-int 2-bit g32 asymmetric by GPTQ; the tied embedding/output matrix group-int 4-bit g32), rtn2
// (every matrix, embedding/output included, group-int 2-bit g32 asymmetric by round-to-nearest).
const std::vector<std::string>& compressions();
// The storage type a compression gives a matrix: `embedding` for token_embd/output, else a block linear (gptq3
// leaves the embedding/output matrix in f32). Fails on a name not in compressions().
DType compressed_type(const std::string& compression, bool embedding);
// Methods: none, rag-bm25, rag-dense, rag-hybrid, lora-r<k>, full, lora+rag (LoRA r8 + BM25 top-4),
// ft+qa (LoRA r8 on the documents plus QA pairs generated from them).
bool is_training_method(const std::string& method);
bool is_rag_method(const std::string& method);       // rag-* and lora+rag
bool is_finetune_only(const std::string& method);    // trains, retrieves nothing: lora-r*, full, ft+qa
bool is_retrieval_only(const std::string& method);   // retrieves, trains nothing: rag-*
std::string retriever_of(const std::string& method);  // "bm25" | "dense" | "hybrid" | ""
int lora_rank_of(const std::string& method);          // 0 for full and non-training methods
// The default learning rate of a training method (written in every row): LoRA 3e-3, full 3e-4.
double learning_rate_of(const std::string& method);
// The learning rates the grids sweep at the center point: default/3, default, default·10/3 (empty for
// methods without training). Every training run warms up over a tenth of its last checkpoint and decays
// by a cosine to lr/10 at it (the schedule is sized to the run's budget; earlier checkpoints are points on it).
std::vector<double> learning_rate_sweep(const std::string& method);

struct RunSpec {
  std::string base;         // model spec: .gguf path, HF directory or builtin:<preset>
  std::string compression = "f32";
  std::string method = "none";
  double data = 1.0;        // fraction of the user's documents available for learning
  int seed = 0;             // picks the test user(s), the data order and the LoRA init
  std::vector<int> checkpoints;  // optimizer steps evaluated within the one training run (empty: none)
  double lr = 0;            // 0 for methods without training
  int rank = 0;             // LoRA rank, 0 for full fine-tuning and non-training methods
  // Benchmark settings (part of the id, the same for every run of a grid).
  uint64_t bench_seed = 1;
  int64_t user_offset = 1'000'000;  // PretrainMix::test_user_offset: held-out users start here
  int users = 1;                    // test users per run (user_offset + seed·users + k)
  int batch = 8, seq_len = 64;      // rows × tokens per optimizer step
  std::string benchmark;            // "": the generated users; "lamp:DIR": a LaMP folder's (benchmark_source.h)
  int threads = 0;                  // not part of the id: how many threads the run may use
  // rag-dense / rag-hybrid: the embedding model (a trained embedder, `edgellm embedder`); empty: the base's
  // own hidden states. Part of the id when set (ids of runs without one are as before).
  std::string embedder;

  // 16 hex digits of FNV-1a over every factor value above except threads.
  std::string run_id() const;
  std::string to_json() const;
  static RunSpec from_json(const std::string& json);  // throws Error naming the field
};

struct GridOptions {
  std::string name = "quick";        // quick | full | tiny (tests)
  std::vector<std::string> bases;    // first = the center base
  int seeds = 3;
  std::string benchmark;             // every run's RunSpec::benchmark ("" or "lamp:DIR")
  int center_users = 20;  // test users (seeds) per configuration at the center point (quick: none, rag-bm25,
                          // lora-r8, ft+qa; full: every method); tests lower it
  std::string embedder;              // given to the rag-dense and rag-hybrid runs (empty: the base embeds)
};
// Deterministic, duplicate-free list of runs (same options → same list, same order).
std::vector<RunSpec> enumerate_grid(const GridOptions& o);
// Runs with index % n == i (0 <= i < n): disjoint, and their union is the grid.
std::vector<RunSpec> shard(const std::vector<RunSpec>& runs, int i, int n);
// Parses "i/n"; throws Error unless 0 <= i < n.
void parse_shard(const std::string& s, int& i, int& n);

}  // namespace edgellm::study
