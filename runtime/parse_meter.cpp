#include "runtime/parse_meter.h"

#include <algorithm>

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

nlohmann::json parse_json_metered(std::string_view text, const std::string& file, const std::string& field,
                                  const nlohmann::json::parser_callback_t& inner, size_t limit) {
  using json = nlohmann::json;
  // What nlohmann allocates (libstdc++, 64-bit; malloc's 16-byte header included): an object member is a map node
  // (key string + value, ~96 bytes), an array element a 16-byte slot in a vector that may be twice its size, a
  // string or container value one more allocation of 32-48 bytes, and any text over 15 bytes its own buffer.
  constexpr size_t kMember = 96, kSlot = 32, kAlloc = 48;
  ParseMeter meter(file, field, limit);
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::key: {
        const size_t n = parsed.get_ref<const std::string&>().size();
        meter.add(kMember + (n > 15 ? n + 1 : 0));
        break;
      }
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        meter.add(kSlot + kAlloc);
        break;
      case json::parse_event_t::value:
        if (parsed.is_string()) {
          const size_t n = parsed.get_ref<const std::string&>().size();
          meter.add(kSlot + kAlloc + (n > 15 ? n + 1 : 0));
        } else {
          meter.add(kSlot);
        }
        break;
      default:
        break;
    }
    return inner ? inner(depth, ev, parsed) : true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    fail_format(file, field, "invalid JSON: {}", e.what());
  }
}

}  // namespace edgellm
