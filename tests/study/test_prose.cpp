// Tests of the study's general prose: the paragraph definition, each source format's reader on small
// synthetic inputs, the held-out split's disjointness, and the carried export's round trip.
// Not a test of the real Debian packages' contents (CI does not install them).
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <set>

#include "bench/study/prose.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::study;
namespace fs = std::filesystem;

namespace {

// gzip of `text` with stored (uncompressed) deflate blocks: a valid gzip file made without zlib.
std::string gzip_stored(const std::string& text) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : text) crc = table[(crc ^ c) & 0xFF] ^ (crc >> 8);
  crc ^= 0xFFFFFFFFu;
  std::string out = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, '\xff'};
  auto le = [&](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  size_t i = 0;
  do {
    const size_t n = std::min<size_t>(65535, text.size() - i);
    out += static_cast<char>(i + n == text.size() ? 1 : 0);
    le(static_cast<uint32_t>(n), 2);
    le(static_cast<uint32_t>(~n & 0xFFFF), 2);
    out.append(text, i, n);
    i += n;
  } while (i < text.size());
  le(crc, 4);
  le(static_cast<uint32_t>(text.size()), 4);
  return out;
}

std::string b64(uint64_t v) {  // dictd's numbers
  static const std::string d = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  do {
    s.insert(s.begin(), d[v % 64]);
    v /= 64;
  } while (v);
  return s;
}

// A dictd database from (headword, entry) pairs: the .dict text and its .index.
std::pair<std::string, std::string> dictd(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string dict, index;
  for (const auto& e : entries) {
    index += e.first + "\t" + b64(dict.size()) + "\t" + b64(e.second.size()) + "\n";
    dict += e.second;
  }
  return {dict, index};
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string tmpdir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("edgellm_prose_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

const std::string kLong =
    "The first sentence of a long text is here, and it goes on for a while. ";  // 73 bytes

}  // namespace

TEST_CASE("ascii_normalize and clean_paragraph: one definition of a paragraph") {
  CHECK(ascii_normalize("caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x94 ok\xe2\x80\xa6 \xc3\x86sop") ==
        "cafe \"quoted\" -- ok... AEsop");
  CHECK(ascii_normalize("bad \xff byte, cut \xe2\x80") == "bad  byte, cut ");  // malformed bytes go
  CHECK(ascii_normalize("\xe4\xb8\xad!") == "!");                              // other code points go
  CHECK(clean_paragraph("  Hello\tWorld  \n  second LINE \n\n", false) == "hello world\n  second line");
  CHECK(clean_paragraph("  Hello\tWorld  \n  second LINE \n\n", true) == "hello world second line");
  CHECK(clean_paragraph("a\n%\nb", false) == "a\nb");  // never the carried form's separator
  CHECK(clean_paragraph(" \n \x01\n", true).empty());
}

TEST_CASE("append_paragraphs: long texts cut at sentence ends within the bounds, short ones dropped") {
  std::vector<std::string> out;
  append_paragraphs(out, "too short");
  CHECK(out.empty());
  std::string text;
  for (int i = 0; i < 40; ++i) text += kLong;  // 2920 bytes
  append_paragraphs(out, clean_paragraph(text, true));
  REQUIRE(out.size() >= 3);
  size_t total = 0;
  for (const auto& p : out) {
    CHECK(p.size() >= kMinParagraph);
    CHECK(p.size() <= kMaxParagraph);
    CHECK(p.back() == '.');  // cut after a sentence
    total += p.size() + 1;
  }
  CHECK(total == doctest::Approx(clean_paragraph(text, true).size()).epsilon(0.01));
  // No sentence end: cut at a space.
  out.clear();
  append_paragraphs(out, std::string(600, 'a') + " " + std::string(600, 'b'));
  REQUIRE(out.size() == 2);
  CHECK(out[0] == std::string(600, 'a'));
}

TEST_CASE("parse_fortunes: entries between % lines, cleaned, keyed by file and number") {
  const auto docs = parse_fortunes(
      "Q: What is the meaning of life, the universe and everything?\nA: Forty-two.\n%\nshort\n%\n"
      "He who laughs last thinks slowest, said someone once upon a time.\n",
      "wisdom");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].key == "wisdom:0");
  CHECK(docs[1].key == "wisdom:2");  // entry 1 was too short, the numbers stay
  CHECK(docs[0].paragraphs[0] == "q: what is the meaning of life, the universe and everything?\na: forty-two.");
}

TEST_CASE("parse_dictd: GCIDE, WordNet and plain entries; shared entries once; a bad index names the line") {
  const std::string gcide_entry =
      "Abdomen \\Ab*do\"men\\, n. [L. abdomen.]\n   1. (Anat.) The belly, or that part of the {body} between the\n"
      "      thorax and the pelvis.\n      [1913 Webster]\n\n";
  const auto [dict, index] = dictd({{"00-database-info", "This file was converted from the original database.\n"},
                                    {"Abdomen", gcide_entry}});
  const auto docs = parse_dictd(dict, index + "abdomen\t" + b64(dict.size() - gcide_entry.size()) + "\t" +
                                          b64(gcide_entry.size()) + "\n",
                                DictStyle::Gcide, "gcide.index");
  REQUIRE(docs.size() == 1);  // the database info skipped, the second headword's entry read once
  CHECK(docs[0].paragraphs ==
        std::vector<std::string>{"abdomen, n. [l. abdomen.] 1. (anat.) the belly, or that part of the body between the "
                                 "thorax and the pelvis."});

  const auto [wd, wi] = dictd({{"absolute", "absolute\n    adj 1: perfect or complete or pure; \"absolute loyalty\" [syn:\n"
                                            "         {absolute}, {downright}]\n"}});
  const auto wn = parse_dictd(wd, wi, DictStyle::WordNet, "wn.index");
  REQUIRE(wn.size() == 1);
  CHECK(wn[0].paragraphs[0] == "absolute adj 1: perfect or complete or pure; \"absolute loyalty\"");

  // No structured bindings here: clang 14 cannot capture them in doctest's CHECK lambdas.
  const auto plain = dictd({{"hacker", "hacker\n\n   A person who enjoys exploring the details of {programmable systems}.\n"}});
  const std::string& pd = plain.first;
  const std::string& pi = plain.second;
  CHECK(parse_dictd(pd, pi, DictStyle::Plain, "jargon.index")[0].paragraphs[0] ==
        "hacker a person who enjoys exploring the details of programmable systems.");

  CHECK_THROWS_WITH_AS(parse_dictd(pd, "hacker\tA\n", DictStyle::Plain, "j.index"), doctest::Contains("index line 1"),
                       FormatError);
  CHECK_THROWS_WITH_AS(parse_dictd(pd, "hacker\tA\t////\n", DictStyle::Plain, "j.index"),
                       doctest::Contains("past the end"), FormatError);
}

TEST_CASE("parse_groff: text with escapes resolved, macros' words kept, code, tables and boilerplate skipped") {
  const std::string page =
      ".\\\" a comment\n.TH SIGNAL 7 2023-01-01\n.SH NAME\nsignal \\- overview of signals\n.SH SYNOPSIS\n"
      ".B #include <signal.h>\n.SH DESCRIPTION\nLinux supports \\fBboth\\fP POSIX reliable signals\n"
      "and real\\(emtime signals, see\n.BR sigaction (2).\n.PP\nA second paragraph that is long enough to keep.\n"
      ".nf\nint main(void) { return 0; }\n.fi\n.TS\nallbox;\nl l.\n.TE\n"
      ".SH COLOPHON\nThis page is part of release 6.03 of the Linux man-pages project.\n";
  const ProseDocument d = parse_groff(page, "signal.7.gz");
  REQUIRE(d.paragraphs.size() == 2);
  CHECK(d.paragraphs[0] ==
        "linux supports both posix reliable signals and real--time signals, see sigaction(2).");
  CHECK(d.paragraphs[1] == "a second paragraph that is long enough to keep.");
  CHECK(parse_groff(".so man2/kill.2\n", "link").paragraphs.empty());
}

TEST_CASE("gunzip: gzip files round trip; a truncated one is refused") {
  if (!gunzip_available()) {
    CHECK_THROWS_WITH_AS(gunzip(gzip_stored("x"), "x.gz"), doctest::Contains("without zlib"), Error);
    return;
  }
  std::string text;
  for (int i = 0; i < 2000; ++i) text += kLong;  // more than one stored block
  CHECK(gunzip(gzip_stored(text), "t.gz") == text);
  const std::string gz = gzip_stored(text);
  CHECK_THROWS_AS(gunzip(gz.substr(0, gz.size() / 2), "t.gz"), FormatError);
}

TEST_CASE("prose_heldout: a pure function of the name, ~3% held out") {
  int held = 0;
  for (int i = 0; i < 20000; ++i) held += prose_heldout("gcide", "word" + std::to_string(i)) ? 1 : 0;
  CHECK(held > 20000 * kHeldoutPerMille / 1000 * 8 / 10);
  CHECK(held < 20000 * kHeldoutPerMille / 1000 * 12 / 10);
  CHECK(prose_heldout("gcide", "word17") == prose_heldout("gcide", "word17"));
}

TEST_CASE("load_debian_prose on a synthetic tree: every source read, missing ones listed, the split disjoint, the export round trip") {
  if (!gunzip_available()) return;  // the dictd and manual readers need zlib
  const fs::path root = tmpdir("root");
  // fortunes: 400 entries; a dictd database of 400 entries (dict-jargon); a manual page of manpages.
  std::string fortunes, page = ".TH X 1\n.SH DESCRIPTION\n";
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 400; ++i) {
    fortunes += "Fortune number " + std::to_string(i) + " says that patience is a kind of wisdom.\n%\n";
    entries.push_back({"word" + std::to_string(i), "word" + std::to_string(i) + "\n   The meaning of word " +
                                                      std::to_string(i) + " in plain English words.\n"});
    page += "Paragraph " + std::to_string(i) + " of the manual, long enough to be kept.\n.PP\n";
  }
  write(root / "usr/share/games/fortunes/wisdom", fortunes);
  write(root / "usr/share/games/fortunes/wisdom.dat", "binary index");
  const auto [dict, index] = dictd(entries);
  write(root / "usr/share/dictd/jargon.dict.dz", gzip_stored(dict));
  write(root / "usr/share/dictd/jargon.index", index);
  write(root / "usr/share/man/man1/x.1.gz", gzip_stored(page));
  write(root / "var/lib/dpkg/info/manpages.list", "/.\n/usr/share/man/man1\n/usr/share/man/man1/x.1.gz\n");

  const ProseCorpus c = load_debian_prose(root.string());
  CHECK(c.sources.size() == 3);
  CHECK(c.missing == std::vector<std::string>{"dict-gcide", "dict-wn", "dict-foldoc", "dict-devil"});
  CHECK(c.describe().find("MISSING packages: dict-gcide") != std::string::npos);
  CHECK(c.train.size() + c.heldout.size() == 400 + 400 + 400);
  CHECK(!c.heldout.empty());
  // Disjoint: no held-out paragraph is trained on, and each is where its document's hash puts it.
  const std::set<std::string> train(c.train.begin(), c.train.end());
  for (const auto& p : c.heldout) CHECK(train.count(p) == 0);
  for (int i = 0; i < 400; ++i) {
    const std::string p = "fortune number " + std::to_string(i) + " says that patience is a kind of wisdom.";
    CHECK(train.count(p) == (prose_heldout("fortunes", "wisdom:" + std::to_string(i)) ? 0u : 1u));
  }

  const std::string dir = tmpdir("export");
  export_prose(c, dir);
  const ProseCorpus back = read_prose_dir(dir);
  CHECK(back.train == c.train);
  CHECK(back.heldout == c.heldout);
  CHECK(back.missing == c.missing);
  CHECK(back.sources.size() == c.sources.size());
  // A changed shard is refused naming the file.
  { std::ofstream(dir + "/heldout.txt", std::ios::app) << "extra\n%\n"; }
  CHECK_THROWS_WITH_AS(read_prose_dir(dir), doctest::Contains("heldout.txt"), FormatError);
  fs::remove_all(dir);
  fs::remove_all(root);
}
