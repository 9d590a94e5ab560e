// Question–document pairs for the study's retrieval embedder, from the users of the pretraining reading
// stream (fresh users, never memorized and never tested), and held-out retrieval cases to measure it on.
// Not the trainer (rag/embedder_train.h) and not the benchmark's users: test users are never drawn here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/study/pretrain_data.h"
#include "rag/embedder_train.h"

namespace edgellm::study {

struct EmbedderData {
  PretrainMix mix;            // whose reading stream the users come from (seed 1: the bases' mix)
  int64_t train_examples = 200'000;  // training users: the reading examples among stream positions [0, this)
  int64_t eval_from = 5'000'000;     // held-out users: reading examples from this stream position on
  int32_t queries = 8;        // queries per batch (each with its positive document)
  int32_t documents = 24;     // documents per batch: the positives, then negatives of the same user
};

// The population index of the user behind reading example k of the mix (pretrain_user), or −1 when
// example k is not a reading example.
int64_t reading_user(const PretrainMix& mix, int64_t k);

// Step `step`'s batch: one training user (a reading example drawn by the step), `queries` of its
// pretraining-template questions (never a test or fine-tuning wording) with one document stating each
// answer, and documents of the same user that state none of the batch's facts as further negatives; no
// document answers another query of the batch. Documents as the study's retriever sees them (document_line).
rag::EmbedBatch embedder_batch(const EmbedderData& d, int64_t step);
// The users embedder_batch draws from for steps [0, steps) (for tests: none is a test user).
std::vector<int64_t> embedder_train_users(const EmbedderData& d, int64_t steps);

// Held-out retrieval cases: n_users reading-stream users from eval_from on, each question of theirs (L1-L3,
// the test wording) over all their documents, relevant = every document of its evidence. `documents` holds
// the collections the cases point into (one per user; keep it alive while the cases are used).
std::vector<rag::RecallCase> embedder_eval_cases(const EmbedderData& d, int64_t n_users,
                                                 std::vector<std::vector<std::string>>& documents,
                                                 std::vector<int64_t>* users = nullptr);

}  // namespace edgellm::study
