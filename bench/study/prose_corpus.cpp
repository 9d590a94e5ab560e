// The prose corpus: which Debian packages it reads and where their files lie, the held-out split by
// document hash, and the carried form (shards + manifest). Not a format reader (prose_text.cpp, prose_dictd.cpp).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/study/prose.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/parse_meter.h"
#include "runtime/sha256.h"

namespace edgellm::study {
namespace fs = std::filesystem;

namespace {

enum class SourceKind { Fortunes, Dict, Manual };

struct SourceSpec {
  const char* name;
  const char* package;
  SourceKind kind;
  const char* stem;  // dictd database name (Dict) or the dpkg file list (Manual)
  DictStyle style;
};

// manpages-dev (2.8 MB more, the C library's reference) would take the carried corpus past the 60 MB the
// GPU machine takes. Bible (bible-kjv-text) is not here: its text is in bible-kjv's own compressed format (an "EC02"
// file with no published description), not plain or gzip'd text.
const std::vector<SourceSpec>& specs() {
  static const std::vector<SourceSpec> s = {
      {"fortunes", "fortunes", SourceKind::Fortunes, "", DictStyle::Plain},
      {"gcide", "dict-gcide", SourceKind::Dict, "gcide", DictStyle::Gcide},
      {"wordnet", "dict-wn", SourceKind::Dict, "wn", DictStyle::WordNet},
      {"foldoc", "dict-foldoc", SourceKind::Dict, "foldoc", DictStyle::Plain},
      {"jargon", "dict-jargon", SourceKind::Dict, "jargon", DictStyle::Plain},
      {"devil", "dict-devil", SourceKind::Dict, "devil", DictStyle::Plain},
      {"manpages", "manpages", SourceKind::Manual, "manpages", DictStyle::Plain},
  };
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("{}: cannot read", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ULL) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

// The documents of one source under `root`; false when its files are absent.
bool read_source(const SourceSpec& s, const fs::path& root, std::vector<ProseDocument>& docs) {
  std::error_code ec;
  if (s.kind == SourceKind::Fortunes) {
    const fs::path dir = root / "usr/share/games/fortunes";
    std::vector<fs::path> files;
    if (fs::is_directory(dir, ec))
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string(), ext = e.path().extension().string();
        // .dat: strfile's index; .u8: UTF-8 twins of other files; ascii-art: pictures, not prose.
        if (ext == ".dat" || ext == ".u8" || name == "ascii-art" || !e.is_regular_file(ec)) continue;
        files.push_back(e.path());
      }
    if (files.empty()) return false;
    std::sort(files.begin(), files.end());  // directory order is not portable
    for (const auto& f : files) {
      auto d = parse_fortunes(read_file(f), f.filename().string());
      docs.insert(docs.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
    }
    return true;
  }
  if (s.kind == SourceKind::Dict) {
    const fs::path dz = root / "usr/share/dictd" / (std::string(s.stem) + ".dict.dz");
    const fs::path idx = root / "usr/share/dictd" / (std::string(s.stem) + ".index");
    if (!fs::is_regular_file(dz, ec) || !fs::is_regular_file(idx, ec)) return false;
    docs = parse_dictd(gunzip(read_file(dz), dz.string()), read_file(idx), s.style, idx.string());
    return true;
  }
  // Manual pages: the package's own files, from dpkg's list (so pages of other packages never join).
  const fs::path list = root / "var/lib/dpkg/info" / (std::string(s.stem) + ".list");
  if (!fs::is_regular_file(list, ec)) return false;
  std::istringstream in(read_file(list));
  std::vector<std::string> pages;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("/usr/share/man/man", 0) == 0 && line.size() > 3 && line.substr(line.size() - 3) == ".gz" &&
        fs::is_regular_file(fs::symlink_status(root / line.substr(1), ec)))
      pages.push_back(line);
  std::sort(pages.begin(), pages.end());
  for (const std::string& p : pages) {
    const fs::path f = root / p.substr(1);
    ProseDocument d = parse_groff(gunzip(read_file(f), f.string()), fs::path(p).filename().string());
    if (!d.paragraphs.empty()) docs.push_back(std::move(d));
  }
  return !pages.empty();
}

constexpr size_t kShardBytes = 15u << 20;  // under the 16 MiB that comes back from the GPU machine

std::string join(const std::vector<std::string>& paras, size_t a, size_t b) {
  std::string s;
  for (size_t i = a; i < b; ++i) s += paras[i] + "\n%\n";
  return s;
}

std::vector<std::string> split_paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line == "%") {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += (cur.empty() ? "" : "\n") + line;
    }
  }
  return out;
}

}  // namespace

bool prose_heldout(const std::string& source, const std::string& key) {
  uint64_t h = fnv1a(key, fnv1a(std::string(1, '\0'), fnv1a(source)));
  h ^= h >> 33, h *= 0xff51afd7ed558ccdULL, h ^= h >> 33;  // fnv's low digits are weak: mix
  return static_cast<int>(h % 1000) < kHeldoutPerMille;
}

int64_t ProseCorpus::train_bytes() const {
  int64_t n = 0;
  for (const auto& p : train) n += static_cast<int64_t>(p.size());
  return n;
}

int64_t ProseCorpus::heldout_bytes() const {
  int64_t n = 0;
  for (const auto& p : heldout) n += static_cast<int64_t>(p.size());
  return n;
}

std::string ProseCorpus::describe() const {
  std::string s = fmt::format("{}: {} train paragraphs ({:.1f} MB), {} held-out ({:.2f} MB) from", origin, train.size(),
                              static_cast<double>(train_bytes()) / 1e6, heldout.size(),
                              static_cast<double>(heldout_bytes()) / 1e6);
  for (size_t i = 0; i < sources.size(); ++i)
    s += fmt::format("{} {} ({:.1f} MB)", i ? "," : "", sources[i].package,
                     static_cast<double>(sources[i].train_bytes + sources[i].heldout_bytes) / 1e6);
  if (!missing.empty()) {
    s += "; MISSING packages:";
    for (const auto& m : missing) s += " " + m;
    s += " (install: tools/deps.sh prose)";
  }
  return s;
}

const std::vector<std::string>& prose_packages() {
  static const std::vector<std::string> p = [] {
    std::vector<std::string> v;
    for (const auto& s : specs()) v.push_back(s.package);
    return v;
  }();
  return p;
}

ProseCorpus load_debian_prose(const std::string& root) {
  ProseCorpus c;
  c.origin = "Debian packages under " + root;
  for (const SourceSpec& s : specs()) {
    std::vector<ProseDocument> docs;
    if (!read_source(s, root, docs)) {
      c.missing.push_back(s.package);
      continue;
    }
    ProseSourceStats st{s.name, s.package};
    for (auto& d : docs) {
      const bool held = prose_heldout(s.name, d.key);
      auto& into = held ? c.heldout : c.train;
      for (auto& p : d.paragraphs) {
        (held ? st.heldout_bytes : st.train_bytes) += static_cast<int64_t>(p.size());
        into.push_back(std::move(p));
      }
      st.paragraphs += static_cast<int64_t>(d.paragraphs.size());
      ++st.documents;
    }
    c.sources.push_back(st);
  }
  return c;
}

void export_prose(const ProseCorpus& c, const std::string& dir) {
  fs::create_directories(dir);
  nlohmann::json files = nlohmann::json::array();
  auto write = [&](const std::string& name, const std::string& text, size_t n) {
    EDGE_CHECK(text.size() <= (16u << 20), "{}/{}: {} bytes is more than a 16 MiB shard", dir, name, text.size());
    write_file_atomic(dir + "/" + name, text);
    files.push_back({{"name", name}, {"bytes", text.size()}, {"paragraphs", n}, {"sha256", sha256_hex(text)}});
  };
  for (size_t a = 0, shard = 0; a < c.train.size(); ++shard) {
    size_t b = a, bytes = 0;
    while (b < c.train.size() && (b == a || bytes + c.train[b].size() + 3 <= kShardBytes)) bytes += c.train[b++].size() + 3;
    write(fmt::format("train-{:03}.txt", shard), join(c.train, a, b), b - a);
    a = b;
  }
  write("heldout.txt", join(c.heldout, 0, c.heldout.size()), c.heldout.size());
  nlohmann::json src = nlohmann::json::array();
  for (const auto& s : c.sources)
    src.push_back({{"name", s.name}, {"package", s.package}, {"documents", s.documents}, {"paragraphs", s.paragraphs},
                   {"train_bytes", s.train_bytes}, {"heldout_bytes", s.heldout_bytes}});
  const nlohmann::json m = {{"format", "edgellm-prose-1"},  {"origin", c.origin},
                            {"missing", c.missing},         {"heldout_per_mille", kHeldoutPerMille},
                            {"paragraph_bytes", {kMinParagraph, kMaxParagraph}},
                            {"sources", src},               {"files", files}};
  write_file_atomic(dir + "/MANIFEST.json", m.dump(1) + "\n");
}

ProseCorpus read_prose_dir(const std::string& dir) {
  const std::string mpath = dir + "/MANIFEST.json";
  if (!fs::exists(mpath)) fail("{}: no MANIFEST.json (write one with `edgellm pretrain --export-prose {}`)", dir, dir);
  ProseCorpus c;
  try {
    const nlohmann::json m = parse_json_metered(read_file(mpath), mpath);
    if (m.at("format") != "edgellm-prose-1") fail_format(mpath, "format", "expected edgellm-prose-1, got {}", json_brief(m.at("format")));
    c.origin = m.at("origin").get<std::string>() + " (carried in " + dir + ")";
    c.missing = m.at("missing").get<std::vector<std::string>>();
    for (const auto& s : m.at("sources"))
      c.sources.push_back({s.at("name"), s.at("package"), s.at("documents"), s.at("paragraphs"), s.at("train_bytes"),
                           s.at("heldout_bytes")});
    for (const auto& f : m.at("files")) {
      const std::string name = f.at("name"), path = dir + "/" + name;
      if (name.find('/') != std::string::npos) fail_format(mpath, "files.name", "'{}' is not a plain file name", name);
      const std::string text = read_file(path);
      if (sha256_hex(text) != f.at("sha256").get<std::string>())
        fail_format(path, "sha256", "the file differs from the one MANIFEST.json lists");
      auto paras = split_paragraphs(text);
      if (static_cast<int64_t>(paras.size()) != f.at("paragraphs").get<int64_t>())
        fail_format(path, "paragraphs", "{} paragraphs, MANIFEST.json says {}", paras.size(), f.at("paragraphs").get<int64_t>());
      auto& into = name == "heldout.txt" ? c.heldout : c.train;
      into.insert(into.end(), std::make_move_iterator(paras.begin()), std::make_move_iterator(paras.end()));
    }
  } catch (const nlohmann::json::exception& e) {
    fail_format(mpath, "MANIFEST.json", "{}", e.what());
  }
  return c;
}

}  // namespace edgellm::study
