// Gold-context reading accuracy of a base on held-out users, by level.
// Not a sampler study: decoding is greedy, one question per forward pass over its prompt.
#include "bench/study/reading_eval.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "bench/study/metrics.h"
#include "runtime/error.h"

namespace edgellm::study {

std::vector<int32_t> gold_documents(const Question& q, int32_t max_docs) {
  std::vector<int32_t> pick;
  auto add = [&](int32_t d) {
    if (static_cast<int32_t>(pick.size()) < max_docs && std::find(pick.begin(), pick.end(), d) == pick.end())
      pick.push_back(d);
  };
  for (const auto& g : q.evidence)
    if (!g.empty()) add(*std::max_element(g.begin(), g.end()));
  for (const auto& g : q.evidence)
    for (int32_t d : g) add(d);
  std::sort(pick.begin(), pick.end());
  return pick;
}

std::string greedy_line(const Model& m, const std::string& prompt, int32_t max_new) {
  std::vector<int32_t> ids;
  if (m.tokenizer->bos_id() >= 0) ids.push_back(m.tokenizer->bos_id());
  const auto p = m.tokenizer->encode(prompt);
  ids.insert(ids.end(), p.begin(), p.end());
  const LlamaConfig& c = m.llama.config;
  const int64_t cap = std::min<int64_t>(c.max_ctx, static_cast<int64_t>(ids.size()) + max_new);
  if (static_cast<int64_t>(ids.size()) >= cap) return "";  // the prompt fills the context: no answer
  KvCache cache(c, cap);
  std::vector<float> logits(static_cast<size_t>(c.vocab));
  llama_forward(m.llama, cache, ids.data(), static_cast<int64_t>(ids.size()), logits.data(), false);
  std::string out;
  for (int32_t i = 0; i < max_new; ++i) {
    const int32_t id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (id == m.tokenizer->eos_id()) break;
    const std::string piece = m.tokenizer->token_to_piece(id);
    const size_t nl = piece.find('\n');
    if (nl != std::string::npos) {
      out += piece.substr(0, nl);
      break;
    }
    out += piece;
    if (cache.len >= cache.capacity) break;
    llama_forward(m.llama, cache, &id, 1, logits.data(), false);
  }
  return out;
}

ReadingEvalResult evaluate_reading(const Model& m, const PretrainMix& mix, const ReadingEvalOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  ReadingEvalResult r;
  for (int64_t ui = 0; ui < o.users; ++ui) {
    const User u = generate_user(mix.seed, mix.test_user_offset + o.first + ui, mix.generator);
    const std::string header = user_header(u);
    auto line = [&](int32_t d) { return document_text(u, u.documents[static_cast<size_t>(d)]).substr(header.size()); };
    int32_t asked[3] = {0, 0, 0};
    for (const Question& q : u.questions) {
      const int lv = static_cast<int>(q.level) - 1;
      if (lv < 0 || lv > 2) continue;  // fact questions only: L4-L5 are about taste and style
      if (o.max_questions > 0 && asked[lv] >= o.max_questions) continue;
      ++asked[lv];
      std::vector<int32_t> docs = gold_documents(q, o.max_docs);
      // Distractors: the user's other documents, spread over the corpus, deterministic per question.
      std::set<int32_t> evidence;
      for (const auto& g : q.evidence) evidence.insert(g.begin(), g.end());
      const int32_t nd = static_cast<int32_t>(u.documents.size());
      for (int32_t j = 0, added = 0; j < nd && added < o.distractors; ++j) {
        const int32_t d = static_cast<int32_t>((static_cast<int64_t>(j) * 7919 + static_cast<int64_t>(q.id.size()) * 31 +
                                                static_cast<int64_t>(asked[lv]) * 13) % nd);
        if (evidence.count(d) || std::find(docs.begin(), docs.end(), d) != docs.end()) continue;
        docs.push_back(d);
        ++added;
      }
      std::sort(docs.begin(), docs.end());
      std::vector<std::string> context;
      for (int32_t d : docs) context.push_back(line(d));
      const std::string prompt = reading_prompt(u, context, q.text);
      const std::string answer = greedy_line(m, prompt, o.max_new_tokens);
      ReadingSample s;
      s.id = q.id;
      s.level = "L" + std::to_string(lv + 1);
      s.prompt_tail = prompt.substr(prompt.size() > 160 ? prompt.size() - 160 : 0);
      s.gold = q.answer;
      s.answer = answer;
      s.correct = exact_match(answer, q.answer);
      r.level[lv].total += 1;
      r.level[lv].correct += s.correct;
      r.samples.push_back(std::move(s));
    }
    if (o.on_user) o.on_user(ui + 1, o.users, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace edgellm::study
