// A scored chunk and exact top-k selection, shared by BM25, dense and fused retrieval.
// Not approximate: every candidate is looked at; ties go to the lower chunk index (deterministic).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace edgellm::rag {

struct Scored {
  uint32_t chunk = 0;
  float score = 0;
};

inline bool better(const Scored& a, const Scored& b) {
  return a.score != b.score ? a.score > b.score : a.chunk < b.chunk;
}

// Keeps the k best of `cands` (score descending, chunk ascending on ties), sorted.
inline void keep_top_k(std::vector<Scored>& cands, size_t k) {
  if (cands.size() > k) {
    std::nth_element(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(k), cands.end(), better);
    cands.resize(k);
  }
  std::sort(cands.begin(), cands.end(), better);
}

// Top k of scores (N) indexed by chunk.
inline std::vector<Scored> top_k_dense(const float* scores, uint32_t n, size_t k) {
  std::vector<Scored> heap;  // min-heap on `better`: heap.front() is the worst kept
  heap.reserve(k + 1);
  auto worse = [](const Scored& a, const Scored& b) { return better(a, b); };
  for (uint32_t i = 0; i < n && k > 0; ++i) {
    Scored s{i, scores[i]};
    if (heap.size() < k) {
      heap.push_back(s);
      std::push_heap(heap.begin(), heap.end(), worse);
    } else if (better(s, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), worse);
      heap.back() = s;
      std::push_heap(heap.begin(), heap.end(), worse);
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  return heap;
}

}  // namespace edgellm::rag
