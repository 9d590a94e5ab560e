// Training data: edgellm's JSONL records (models/data_records.h: text, prompt/response, messages) and plain text, tokenized with the model's
// tokenizer, shuffled per epoch from a seed and packed into rows of T tokens with a loss mask.
// The file is read a line at a time; the tokenized set is held in memory, charged to --mem-budget (on-device
// fine-tuning sets are small; one that does not fit the budget is refused as it is read).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/chat_template.h"
#include "models/data_records.h"
#include "models/tokenizer.h"
#include "runtime/user_data.h"

namespace edgellm {

// One tokenized example. target[i]: whether ids[i] is scored (predicted from ids[..i−1]).
// Prompt tokens and BOS are not scored; response (or text) tokens and the closing EOS are.
struct Example {
  std::vector<int32_t> ids;
  std::vector<uint8_t> target;
  int64_t line = 0;  // where it starts in its file (1-based; 0: not from a file), for reports
};

// JSONL when the file ends in .jsonl/.json or its first non-blank byte is '{': each non-blank line a record
// (models/data_records.h). "text" is scored whole; of "prompt"/"response" only the response; of "messages" (rendered
// by `chat`, which they need) only the assistant turns with their end-of-turn marks. Anything else is plain text:
// one example per blank-line-separated paragraph. Throws FormatError naming the file, "line N" and the field for a
// bad record, a chat record without a template, or a line over kTrainLineMaxBytes.
constexpr size_t kTrainLineMaxBytes = kDataRecordLineMaxBytes;
std::vector<Example> load_examples(const std::string& path, const Tokenizer& tok, const ChatTemplate* chat = nullptr);
// load_examples on the file's text already read (`path` decides JSONL vs text and names it in errors).
std::vector<Example> parse_examples(const std::string& text, const std::string& path, const Tokenizer& tok,
                                    const ChatTemplate* chat = nullptr);
// One record, or one line of JSONL (exposed for tests); `file` names it in errors.
Example example_from_record(const DataRecord& r, const Tokenizer& tok, const ChatTemplate* chat, const std::string& file);
Example example_from_json(const std::string& line, const Tokenizer& tok, const std::string& file, int64_t line_no,
                          const ChatTemplate* chat = nullptr);
Example example_from_text(const std::string& text, const Tokenizer& tok);
Example example_from_prompt(const std::string& prompt, const std::string& response, const Tokenizer& tok);
// A conversation rendered by `chat`: each assistant turn's rendering (its content and the template's end-of-turn
// mark) is scored, everything else (system, user turns, assistant headers) is not. Throws Error when the template
// does not render the turns as successive extensions of one text (then turns cannot be told apart).
Example example_from_chat(const std::vector<ChatMessage>& messages, ChatTemplate chat, const Tokenizer& tok);

// Examples that cannot train at rows of T tokens, dropped by drop_untrainable: those scoring nothing, and those
// whose prompt (the unscored tokens before the first scored one) is longer than T. Packed, such a prompt
// fills whole rows that score nothing and its response trains without the prompt in view.
struct DroppedExamples {
  int64_t count = 0;
  int64_t first_line = 0;  // of the first dropped example (0: none, or not from a file)
};
// Removes them from `ex` and says how many; throws Error naming `path` and T when nothing trainable remains.
DroppedExamples drop_untrainable(std::vector<Example>& ex, int64_t T, const std::string& path);

// Where the trainer gets its rows: row g (a global index across epochs) as ids and targets (T each,
// a negative target is masked). PackedData holds a tokenized set; a streaming source (the study's
// pretraining mix) generates rows on demand.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual int64_t seq_len() const = 0;
  virtual int64_t rows_per_epoch() const = 0;
  virtual void row(int64_t g, int32_t* ids, int32_t* targets) = 0;
};

// Packing, llama.cpp style: each epoch the examples are shuffled (seed + epoch) and concatenated
// into one token stream; row g of the epoch takes inputs stream[g·T .. g·T+T) and targets
// stream[g·T+1 .. g·T+T], a target masked (−1) unless scored. Rows may hold the end of one
// example and the start of the next: attention sees across the boundary (no cross-example
// masking), but BOS is never a target, so no loss is taken on guessing the next example's start.
// The last row is padded with masked targets. Rows are addressed by a global index across epochs,
// so a resumed run needs only the step number to find its place.
class PackedData final : public RowSource {
 public:
  PackedData(std::vector<Example> examples, int64_t seq_len, uint64_t seed, bool shuffle = true);
  int64_t seq_len() const override { return T_; }
  int64_t rows_per_epoch() const override { return rows_; }
  int64_t tokens() const { return tokens_; }
  // ids, targets (T) of global row g (epoch g / rows_per_epoch()).
  void row(int64_t g, int32_t* ids, int32_t* targets) override;

 private:
  void build_epoch(int64_t epoch);
  std::vector<Example> examples_;
  ArenaCharge charge_{"training data (packed tokens)"};
  int64_t T_;
  uint64_t seed_;
  bool shuffle_;
  int64_t rows_ = 0, tokens_ = 0, epoch_ = -1;
  std::vector<int32_t> stream_;
  std::vector<uint8_t> scored_;
};

}  // namespace edgellm
