// TokenStream: token_to_piece per token, holding back an incomplete UTF-8 tail.
#include "models/token_stream.h"

namespace edgellm {
namespace {

// Bytes at the end of s that start a UTF-8 sequence not yet complete (0 when s ends on a whole character).
size_t incomplete_tail(const std::string& s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back for the lead
    const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;  // only continuation bytes (or none): nothing to wait for
}

}  // namespace

std::string TokenStream::push(int32_t id) {
  pending_ += tok_.token_to_piece(id);
  const size_t hold = incomplete_tail(pending_);
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string TokenStream::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace edgellm
