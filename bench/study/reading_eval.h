// Gold-context reading evaluation of a base: for held-out users, each L1/L2/L3 question is asked
// with exactly its evidence documents in reading_prompt(), answered greedily up to the newline and
// scored by exact match (metrics.h). Not retrieval: the study's RAG runs live in run.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/study/pretrain_data.h"
#include "models/runner.h"

namespace edgellm::study {

struct ReadingEvalOptions {
  int64_t users = 20;          // held-out users mix.test_user_offset + first .. + users − 1
  int64_t first = 0;
  int32_t distractors = 0;     // extra documents of the same user (not evidence), placed chronologically
  int32_t max_docs = 5;        // the curriculum's largest context
  int32_t max_new_tokens = 24;
  int32_t max_questions = 0;   // per user and level; 0: all
  // Called after each user (users done, users in all, seconds so far): progress of a long evaluation.
  std::function<void(int64_t done, int64_t users, double seconds)> on_user;
};

struct LevelScore {
  int64_t correct = 0, total = 0;
  double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

struct ReadingSample {  // one answered question, for reports and debugging
  std::string id, level, prompt_tail, gold, answer;
  bool correct = false;
};

struct ReadingEvalResult {
  LevelScore level[3];  // L1, L2, L3
  std::vector<ReadingSample> samples;
  double seconds = 0;
};

// The gold context of a question: for each evidence group its latest document, then the groups'
// other documents, at most max_docs, in chronological order (as document lines without the header).
std::vector<int32_t> gold_documents(const Question& q, int32_t max_docs);

ReadingEvalResult evaluate_reading(const Model& m, const PretrainMix& mix, const ReadingEvalOptions& o);

// Greedy continuation of `prompt` up to (not including) the first newline, at most max_new tokens.
std::string greedy_line(const Model& m, const std::string& prompt, int32_t max_new);

}  // namespace edgellm::study
