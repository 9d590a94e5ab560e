// Test-only minimal GGUF v3 / safetensors readers for the quantization fixture checks: tensor name ->
// (type, ne, raw bytes). Not the runtime's loader (runtime/gguf.h): no metadata values, no validation
// beyond bounds; throws std::runtime_error naming the file and field on anything malformed.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace edgellm::test {

struct MiniTensor {
  uint32_t type = 0;
  std::vector<uint64_t> ne;
  std::vector<uint8_t> bytes;
};

class MiniGguf {
 public:
  explicit MiniGguf(const std::string& path) : path_(path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot open");
    buf_.assign(std::istreambuf_iterator<char>(f), {});
    if (buf_.size() < 24 || std::memcmp(buf_.data(), "GGUF", 4) != 0) throw std::runtime_error(path + ": magic");
    pos_ = 4;
    if (u32() != 3) throw std::runtime_error(path + ": version is not 3");
    const uint64_t n_tensors = u64(), n_kv = u64();
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = str();
      const uint32_t t = u32();
      if (key == "general.alignment" && t == 4) {
        alignment = u32();
        continue;
      }
      skip_value(t);
    }
    struct Info {
      std::string name;
      MiniTensor t;
      uint64_t off;
    };
    std::vector<Info> infos;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      Info in;
      in.name = str();
      const uint32_t nd = u32();
      for (uint32_t d = 0; d < nd; ++d) in.t.ne.push_back(u64());
      in.t.type = u32();
      in.off = u64();
      infos.push_back(std::move(in));
    }
    const uint64_t data = (pos_ + alignment - 1) / alignment * alignment;
    for (size_t i = 0; i < infos.size(); ++i) {
      const uint64_t begin = data + infos[i].off;
      const uint64_t end = i + 1 < infos.size() ? data + infos[i + 1].off : buf_.size();
      if (end > buf_.size() || begin > end) throw std::runtime_error(path + ": tensor " + infos[i].name + ": offset");
      infos[i].t.bytes.assign(buf_.begin() + static_cast<int64_t>(begin), buf_.begin() + static_cast<int64_t>(end));
      order_.push_back(infos[i].name);
      tensors_[infos[i].name] = std::move(infos[i].t);
    }
  }
  const std::vector<std::string>& names() const { return order_; }
  // Raw bytes are trimmed to `n_bytes` by the caller (the last tensor's span runs to end of file,
  // others include alignment padding).
  const MiniTensor& at(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error(path_ + ": no tensor " + name);
    return it->second;
  }

 private:
  template <class T>
  T get() {
    if (pos_ + sizeof(T) > buf_.size()) throw std::runtime_error(path_ + ": truncated");
    T v;
    std::memcpy(&v, buf_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  std::string str() {
    const uint64_t n = u64();
    if (pos_ + n > buf_.size()) throw std::runtime_error(path_ + ": string length");
    std::string s(reinterpret_cast<const char*>(buf_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip_value(uint32_t t) {
    static const int kSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == 8) {
      str();
    } else if (t == 9) {
      const uint32_t et = u32();
      const uint64_t n = u64();
      for (uint64_t i = 0; i < n; ++i) skip_value(et);
    } else if (t < 13) {
      pos_ += static_cast<uint64_t>(kSize[t]);
    } else {
      throw std::runtime_error(path_ + ": metadata value type");
    }
  }
  std::string path_;
  std::vector<uint8_t> buf_;
  uint64_t pos_ = 0;
  std::map<std::string, MiniTensor> tensors_;
  std::vector<std::string> order_;
};

// The float32 tensor `key` of a safetensors file, found by scanning its JSON header.
inline std::vector<float> safetensors_f32(const std::string& path, const std::string& key) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  uint64_t hlen = 0;
  f.read(reinterpret_cast<char*>(&hlen), 8);
  std::string header(hlen, '\0');
  f.read(header.data(), static_cast<std::streamsize>(hlen));
  const size_t k = header.find("\"" + key + "\"");
  if (k == std::string::npos) throw std::runtime_error(path + ": no tensor " + key);
  const size_t o = header.find("\"data_offsets\":[", k);
  if (o == std::string::npos) throw std::runtime_error(path + ": " + key + ": data_offsets");
  size_t p = o + 16;
  const uint64_t a = std::stoull(header.substr(p)), b = std::stoull(header.substr(header.find(',', p) + 1));
  std::vector<float> v((b - a) / 4);
  f.seekg(static_cast<std::streamoff>(8 + hlen + a));
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(b - a));
  return v;
}

}  // namespace edgellm::test
