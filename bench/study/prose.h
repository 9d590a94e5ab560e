// General English prose for the study's bases, from Debian packages: one definition of a paragraph,
// a reader per source format (fortune files, dictd databases, groff manual pages), the held-out split
// by document hash, and the carried form (shards in a directory). Not a downloader, not a tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgellm::study {

// ---- a paragraph --------------------------------------------------------------------------------

// Paragraphs the stream trains on are between these many bytes (a longer text is cut at sentence
// ends; a shorter one is dropped): ~10 to ~300 tokens of the bases' 1536-token BPE, so one fits a row.
constexpr size_t kMinParagraph = 40, kMaxParagraph = 1000;

// UTF-8 → ASCII: typographic quotes, dashes, ellipses and spaces become their ASCII forms, Latin-1
// letters lose their accents (é → e, æ → ae, ß → ss); any other code point or malformed byte is dropped.
std::string ascii_normalize(std::string_view utf8);

// The one definition of a paragraph: ASCII-normalized, lowercased (as the mix's own text is), tabs as
// spaces, other control characters dropped, trailing spaces of each line and blank lines around the
// text removed, and no line that is exactly "%" (the carried form's separator). `reflow` joins the lines
// with single spaces (dictionary and manual text, whose line breaks are typesetting); without it the
// lines stay (fortunes: verse and dialogue). "" when nothing is left.
std::string clean_paragraph(std::string_view raw, bool reflow);

// Appends the cleaned `text` as paragraphs of [kMinParagraph, kMaxParagraph] bytes: a longer text is
// cut after the last sentence end (". ", "? ", "! ") or line end that keeps a piece within the bound,
// else at the last space; pieces shorter than kMinParagraph are dropped.
void append_paragraphs(std::vector<std::string>& out, const std::string& text);

// ---- documents and their readers ----------------------------------------------------------------

// A document is the unit of the held-out split: a fortune, a dictionary entry, a manual page.
struct ProseDocument {
  std::string key;                      // unique within its source: the split hashes (source, key)
  std::vector<std::string> paragraphs;  // cleaned, within the paragraph bounds
};

// A fortune file: entries separated by lines holding only "%". Keys are "<file_key>:<n>".
std::vector<ProseDocument> parse_fortunes(std::string_view text, const std::string& file_key);

// How a dictd database's entries are cleaned.
enum class DictStyle {
  Plain,    // FOLDOC, Jargon, Devil's Dictionary: {cross references} lose their braces
  Gcide,    // and pronunciations \Ab*do"men\ and source tags [1913 Webster] go
  WordNet,  // and [syn: ...] [ant: ...] lists go; the senses are one paragraph
};
// A dictd database: `index` lines "headword\toffset\tlength" (dictd's base64 numbers) into the
// uncompressed `dict` text. One document per entry, its lines joined into one text cut at sentence ends
// (entries two headwords share are read once; the "00-database-*" entries are skipped). Throws
// FormatError(path, "index line N") on a bad index.
std::vector<ProseDocument> parse_dictd(std::string_view dict, std::string_view index, DictStyle style,
                                       const std::string& path);

// A manual page in groff (man macros): requests and comments dropped, font and character escapes
// resolved, sections and .PP/.TP/.IP paragraphs as paragraph breaks, .nf/.EX/.TS blocks (code and
// tables) skipped. A page that is only ".so other" (a link) has no paragraphs.
ProseDocument parse_groff(std::string_view source, const std::string& key);

// gzip (and dictzip, which is gzip with an extra header field) → bytes. Throws FormatError(path, ...),
// or Error when edgellm was built without zlib (gunzip_available() says which).
std::string gunzip(std::string_view gz, const std::string& path);
bool gunzip_available();

// ---- the corpus ---------------------------------------------------------------------------------

// Document (source, key) is held out (never trained on) when its hash falls in the lowest
// kHeldoutPerMille of 1000: a pure function of the name, so the split is the same on every machine.
constexpr int kHeldoutPerMille = 30;
bool prose_heldout(const std::string& source, const std::string& key);

struct ProseSourceStats {
  std::string name, package;
  int64_t documents = 0, paragraphs = 0, train_bytes = 0, heldout_bytes = 0;
};

struct ProseCorpus {
  std::vector<std::string> train, heldout;  // paragraphs, in source order
  std::vector<ProseSourceStats> sources;    // those read
  std::vector<std::string> missing;         // packages whose files were absent
  std::string origin;                       // where it was read from
  int64_t train_bytes() const;
  int64_t heldout_bytes() const;
  // One line for logs and recipes: sources, paragraphs, bytes, and the missing packages.
  std::string describe() const;
};

// The Debian packages the corpus reads (tools/deps.sh prose installs them), in reading order.
const std::vector<std::string>& prose_packages();

// Reads every source under `root` ("/" or a tree of unpacked .debs). Absent sources are listed in
// `missing`, never silently skipped: the caller reports them (pretrain logs them and the recipe names them).
ProseCorpus load_debian_prose(const std::string& root = "/");

// The carried form: DIR/train-NNN.txt and DIR/heldout.txt (paragraphs separated by lines holding only
// "%", shards ≤ 16 MiB so each comes back from the GPU machine) and DIR/MANIFEST.json (sources, counts,
// each file's sha256). read_prose_dir checks the checksums: FormatError(file, "sha256") on a mismatch.
void export_prose(const ProseCorpus& c, const std::string& dir);
ProseCorpus read_prose_dir(const std::string& dir);

}  // namespace edgellm::study
