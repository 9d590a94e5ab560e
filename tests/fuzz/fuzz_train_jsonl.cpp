// libFuzzer target: training data text -> parse_examples (JSONL when the first non-blank byte is '{', else
// paragraphs of plain text) with builtin:tiny's tokenizer, packed into rows of 16; reads two epochs' rows.
// Not the RAG documents' JSONL: that is fuzz_rag_jsonl.
#include <algorithm>

#include "fuzz_common.h"
#include "fuzz_train_setup.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static Model model = load_model("builtin:tiny");
  std::vector<Example> ex = parse_examples(std::string(bytes), "fuzz/train", *model.tokenizer);
  PackedData d(std::move(ex), 16, 3);
  int32_t ids[16], targets[16];
  const int64_t rows = std::min<int64_t>(2 * d.rows_per_epoch(), 64);
  for (int64_t g = 0; g < rows; ++g) d.row(g, ids, targets);
}
