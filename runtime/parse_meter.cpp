#include "runtime/parse_meter.h"

#include <algorithm>
#include <vector>

#include "runtime/arena.h"
#include "runtime/error.h"

namespace edgellm {

namespace {
constexpr size_t kCheckEvery = size_t{1} << 20;  // the arena's lock is taken once per MiB, not per value
}

ParseMeter::ParseMeter(std::string file, std::string field, size_t limit)
    : file_(std::move(file)), field_(std::move(field)), limit_(limit), next_check_(std::min(kCheckEvery, limit + 1)) {}

void ParseMeter::add(size_t bytes) {
  bytes_ += bytes;
  if (bytes_ >= next_check_) check();
}

void ParseMeter::check() {
  next_check_ = bytes_ + kCheckEvery;
  if (bytes_ > limit_)
    fail_format(file_, field_, "parsing it takes more than {} of memory, the limit for untrusted input",
                format_bytes(limit_));
  MemoryArena& a = default_arena();
  if (!a.would_fit(bytes_))
    throw BudgetError(fmt::format("{}: {}: parsing it takes more than {} of memory; the memory budget is {} with {} in use",
                                  file_, field_, format_bytes(bytes_), format_bytes(a.budget()), format_bytes(a.in_use())));
}

namespace {

using json = nlohmann::json;

// Builds nlohmann's tree from SAX events, metering it as it grows. Not nlohmann's callback parser: in 3.11 its
// end_object scans the whole enclosing container for discarded values, so an array of N objects (a LaMP profile,
// a safetensors header's N tensors) took O(N^2): 200k LaMP profile items ran for minutes. This is O(N).
class MeteredTreeBuilder {
 public:
  MeteredTreeBuilder(ParseMeter& meter, const std::string& file, const std::string& field, const JsonKeyHook& on_key)
      : meter_(meter), file_(file), field_(field), on_key_(on_key) {}

  json take() { return std::move(root_); }

  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(json::number_integer_t v) { return scalar(v); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(v); }
  bool string(json::string_t& v) {
    meter_.add(kSlot + kAlloc + text_bytes(v.size()));
    place(json(std::move(v)));
    return true;
  }
  bool binary(json::binary_t& v) {  // not produced by JSON text; here because the SAX interface requires it
    meter_.add(kSlot + kAlloc + v.size());
    place(json::binary(std::move(v)));
    return true;
  }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    meter_.add(kMember + text_bytes(k.size()));
    if (on_key_) on_key_(static_cast<int>(open_.size()), k);
    member_ = &open_.back()->get_ref<json::object_t&>()[k];
    return true;
  }
  template <class Exception>  // nlohmann passes parse_error, out_of_range (1e309) and others by their own type
  bool parse_error(std::size_t, const std::string&, const Exception& e) {
    // nlohmann's message ends with "; last read: '<the file's bytes>'": cut it, so that a file that is not JSON at all
    // (a model path pointed at /etc/passwd) never has its contents printed; the line and column stay.
    std::string why = e.what();
    if (const size_t cut = why.find("; last read:"); cut != std::string::npos) why.resize(cut);
    fail_format(file_, field_, "invalid JSON: {}", why);
  }

 private:
  // What nlohmann allocates (libstdc++, 64-bit; malloc's 16-byte header included): an object member is a map node
  // (key string + value, ~96 bytes), an array element a 16-byte slot in a vector that may be twice its size, a
  // string or container value one more allocation of 32-48 bytes, and any text over 15 bytes its own buffer.
  static constexpr size_t kMember = 96, kSlot = 32, kAlloc = 48;
  static size_t text_bytes(size_t n) { return n > 15 ? n + 1 : 0; }

  template <class V>
  bool scalar(V v) {
    meter_.add(kSlot);
    place(json(v));
    return true;
  }
  // Puts a value where the parser is: the root, the end of the open array, or the member whose key came last.
  json* place(json&& v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& top = *open_.back();
    if (top.is_array()) {
      auto& a = top.get_ref<json::array_t&>();
      a.push_back(std::move(v));
      return &a.back();
    }
    *member_ = std::move(v);
    return member_;
  }
  // A container's address is stable while it is open: nothing is added to its parent until it closes.
  bool open(json&& empty) {
    if (open_.size() >= static_cast<size_t>(kJsonMaxDepth))
      fail_format(file_, field_, "invalid JSON: nested deeper than {} levels", kJsonMaxDepth);
    meter_.add(kSlot + kAlloc);
    open_.push_back(place(std::move(empty)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  ParseMeter& meter_;
  const std::string& file_;
  const std::string& field_;
  const JsonKeyHook& on_key_;
  json root_;
  std::vector<json*> open_;
  json* member_ = nullptr;
};

}  // namespace

nlohmann::json parse_json_metered(std::string_view text, const std::string& file, const std::string& field,
                                  const JsonKeyHook& on_key, size_t limit) {
  ParseMeter meter(file, field, limit);
  MeteredTreeBuilder builder(meter, file, field, on_key);
  // Strict as json::parse: the whole text must be one value. The builder throws on any error.
  json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, true);
  return builder.take();
}

std::string json_brief(const nlohmann::json& v) {
  if (v.is_array()) return fmt::format("an array of {}", v.size());
  if (v.is_object()) return fmt::format("an object of {}", v.size());
  if (v.is_string() && v.get_ref<const std::string&>().size() > 40)
    return nlohmann::json(v.get_ref<const std::string&>().substr(0, 40)).dump() + "...";
  return v.dump();
}

}  // namespace edgellm
