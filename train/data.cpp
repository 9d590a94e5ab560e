// Training data: parsing JSONL/plain text into scored token sequences and packing them into rows.
// Not a tokenizer: encoding is the model's Tokenizer; this only decides what is scored.
#include "train/data.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "models/chat_session.h"
#include "runtime/error.h"
#include "runtime/parse_meter.h"

namespace edgellm {

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

void push(Example& e, const std::vector<int32_t>& ids, bool scored) {
  for (int32_t id : ids) {
    e.ids.push_back(id);
    e.target.push_back(scored ? 1 : 0);
  }
}

void open_example(Example& e, const Tokenizer& tok) {
  if (tok.add_bos_default() && tok.bos_id() >= 0) push(e, {tok.bos_id()}, false);
}

void close_example(Example& e, const Tokenizer& tok) {
  if (tok.eos_id() >= 0) push(e, {tok.eos_id()}, true);
}

}  // namespace

Example example_from_text(const std::string& text, const Tokenizer& tok) {
  Example e;
  open_example(e, tok);
  push(e, tok.encode_long(text, {}, "a training example's tokens").vec(), true);
  close_example(e, tok);
  return e;
}

Example example_from_prompt(const std::string& prompt, const std::string& response, const Tokenizer& tok) {
  // Encode prompt+response as one text (as the model will see it); the prompt's tokens are the
  // prefix they share with the prompt's own encoding. If the tokenizer merges across the boundary,
  // encode the two parts separately instead.
  Example e;
  open_example(e, tok);
  const ChargedVector<int32_t> p = tok.encode_long(prompt, {}, "a training prompt's tokens"),
                               full = tok.encode_long(prompt + response, {}, "a training example's tokens");
  if (full.size() > p.size() && std::equal(p.begin(), p.end(), full.begin())) {
    push(e, p.vec(), false);
    push(e, std::vector<int32_t>(full.begin() + static_cast<std::ptrdiff_t>(p.size()), full.end()), true);
  } else {
    push(e, p.vec(), false);
    push(e, tok.encode_long(response, {}, "a training response's tokens").vec(), true);
  }
  close_example(e, tok);
  return e;
}

Example example_from_chat(const std::vector<ChatMessage>& messages, ChatTemplate chat, const Tokenizer& tok) {
  // Render the conversation up to each assistant turn (with the assistant header) and through it: the text between
  // the two is that turn as the model must produce it. Each piece is encoded on its own, as ChatSession feeds turns.
  Example e;
  std::string done;  // the text rendered so far
  auto add = [&](const std::string& upto, bool scored, const char* what) {
    if (!upto.starts_with(done))
      fail("chat template {}: the conversation's rendering up to {} does not extend the one before it, so its turns "
           "cannot be told apart for training",
           chat_template_name(chat), what);
    push(e, encode_chat_text(tok, upto.substr(done.size()), done.empty()), scored);
    done = upto;
  };
  bool any = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role != "assistant") continue;
    const std::span<const ChatMessage> before(messages.data(), i), through(messages.data(), i + 1);
    add(apply_chat_template(chat, before, true), false, "an assistant turn");
    add(apply_chat_template(chat, through, false), true, "the end of an assistant turn");
    any = true;
  }
  if (!any) fail("a chat example needs at least one assistant message to learn from");
  return e;
}

Example example_from_record(const DataRecord& r, const Tokenizer& tok, const ChatTemplate* chat, const std::string& file) {
  switch (r.kind) {
    case DataRecord::Kind::Text: return example_from_text(r.text, tok);
    case DataRecord::Kind::Pair: return example_from_prompt(r.prompt, r.response, tok);
    case DataRecord::Kind::Chat: break;
  }
  const std::string where = fmt::format("line {}", r.line);
  if (!chat)
    fail_format(file, where, "\"messages\" need a chat template: the model declares none edgellm recognises "
                             "(pass --chat-template)");
  try {
    return example_from_chat(r.messages, *chat, tok);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& err) {
    fail_format(file, where, "\"messages\": {}", err.what());
  }
}

Example example_from_json(const std::string& line, const Tokenizer& tok, const std::string& file, int64_t line_no,
                          const ChatTemplate* chat) {
  return example_from_record(parse_data_record(line, file, line_no), tok, chat, file);
}

namespace {

// Examples from the lines of a file: JSONL (one object a line) or paragraphs of plain text. What the examples and
// the paragraph being gathered hold is charged to the arena, so a file too large for the budget is refused with a
// BudgetError naming it as it is read, not after.
class ExampleBuilder {
 public:
  ExampleBuilder(const std::string& path, const Tokenizer& tok, const ChatTemplate* chat)
      : path_(path), tok_(tok), chat_(chat), charge_(fmt::format("{} (tokenized training examples)", path)),
        para_charge_(fmt::format("{} (one paragraph)", path)) {}

  void line(std::string_view line, int64_t n) {
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (!decided_ && !blank) {
      const size_t first = line.find_first_not_of(" \t\r");
      jsonl_ = ends_with(path_, ".jsonl") || ends_with(path_, ".json") || line[first] == '{';
      decided_ = true;
    }
    if (jsonl_) {
      if (!blank) add(example_from_json(std::string(line), tok_, path_, n, chat_), n);
    } else if (blank) {
      flush();
    } else {
      if (para_.empty()) para_line_ = n;
      else para_ += '\n';
      if (para_.size() + line.size() > para_.capacity()) {
        const size_t want = std::max(para_.size() + line.size(), para_.capacity() * 2);
        para_charge_.set(para_.capacity() + want);
        para_.reserve(want);
        para_charge_.set(para_.capacity());
      }
      para_ += line;
    }
  }

  std::vector<Example> finish() {
    flush();
    if (out_.empty()) fail("{}: no training examples found", path_);
    return std::move(out_);
  }

 private:
  void flush() {
    if (para_.find_first_not_of(" \t\r\n") != std::string::npos) add(example_from_text(para_, tok_), para_line_);
    para_.clear();
  }
  void add(Example e, int64_t line) {
    e.line = line;  // reported when the example is skipped (drop_untrainable)
    held_ += e.ids.capacity() * sizeof(int32_t) + e.target.capacity();
    if (out_.size() == out_.capacity()) out_.reserve(out_.capacity() * 2 + 16);
    charge_.set(held_ + out_.capacity() * sizeof(Example));
    out_.push_back(std::move(e));
  }

  const std::string& path_;
  const Tokenizer& tok_;
  const ChatTemplate* chat_;
  bool decided_ = false, jsonl_ = false;
  std::vector<Example> out_;
  size_t held_ = 0;
  ArenaCharge charge_;
  std::string para_;
  int64_t para_line_ = 0;  // the paragraph's first line
  ArenaCharge para_charge_;
};

}  // namespace

std::vector<Example> load_examples(const std::string& path, const Tokenizer& tok, const ChatTemplate* chat) {
  LineReader in(path, "the training data", kTrainLineMaxBytes);
  ExampleBuilder b(path, tok, chat);
  for (std::string_view line; in.next(line);) b.line(line, in.line_no());
  return b.finish();
}

std::vector<Example> parse_examples(const std::string& all, const std::string& path, const Tokenizer& tok,
                                    const ChatTemplate* chat) {
  ExampleBuilder b(path, tok, chat);
  int64_t n = 0;
  for (size_t pos = 0; pos < all.size();) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    b.line(std::string_view(all).substr(pos, nl - pos), ++n);
    pos = nl + 1;
  }
  return b.finish();
}

DroppedExamples drop_untrainable(std::vector<Example>& ex, int64_t T, const std::string& path) {
  DroppedExamples d;
  const size_t before = ex.size();
  std::erase_if(ex, [&](const Example& e) {
    // The first scored token is predicted from the prompt before it: in one row only when it sits at index <= T.
    const auto first = std::find(e.target.begin(), e.target.end(), uint8_t{1});
    const bool drop = first == e.target.end() || first - e.target.begin() > T;
    if (drop && d.count++ == 0) d.first_line = e.line;
    return drop;
  });
  if (ex.empty())
    fail("{}: none of its {} examples can train at --seq-len {}: each prompt is longer than that or nothing is scored",
         path, before, T);
  return d;
}

PackedData::PackedData(std::vector<Example> examples, int64_t seq_len, uint64_t seed, bool shuffle)
    : examples_(std::move(examples)), T_(seq_len), seed_(seed), shuffle_(shuffle) {
  EDGE_CHECK(T_ > 0, "sequence length must be positive, got {}", T_);
  EDGE_CHECK(!examples_.empty(), "no training examples");
  for (const Example& e : examples_) tokens_ += static_cast<int64_t>(e.ids.size());
  // (tokens − 1) targets, T per row, the last row padded.
  rows_ = std::max<int64_t>(1, (tokens_ - 1 + T_ - 1) / T_);
  // The examples and one epoch's stream (ids and scored flags of every token, twice).
  charge_.set(examples_.capacity() * sizeof(Example) + static_cast<size_t>(tokens_) * 2 * (sizeof(int32_t) + 1));
}

void PackedData::build_epoch(int64_t epoch) {
  std::vector<size_t> order(examples_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (shuffle_) {
    uint64_t s = seed_ * 0x100000001B3ULL + static_cast<uint64_t>(epoch) + 1;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[splitmix64(s) % i]);
  }
  stream_.clear();
  scored_.clear();
  for (size_t i : order) {
    stream_.insert(stream_.end(), examples_[i].ids.begin(), examples_[i].ids.end());
    scored_.insert(scored_.end(), examples_[i].target.begin(), examples_[i].target.end());
  }
  epoch_ = epoch;
}

void PackedData::row(int64_t g, int32_t* ids, int32_t* targets) {
  const int64_t epoch = g / rows_, r = g % rows_;
  if (epoch != epoch_) build_epoch(epoch);
  const int64_t n = static_cast<int64_t>(stream_.size());
  for (int64_t t = 0; t < T_; ++t) {
    const int64_t i = r * T_ + t;
    ids[t] = i < n ? stream_[static_cast<size_t>(i)] : stream_.back();
    targets[t] = (i + 1 < n && scored_[static_cast<size_t>(i + 1)]) ? stream_[static_cast<size_t>(i + 1)] : -1;
  }
}

}  // namespace edgellm
