// General text for the study's bases: Debian's fortunes split into paragraphs (ASCII, lowercased),
// or ~30 built-in paragraphs when the package is absent. Not a corpus downloader.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/study/pretrain_data.h"

namespace edgellm::study {

namespace {

const char* kFortuneDir = "/usr/share/games/fortunes";

const std::vector<std::string>& builtin_paragraphs() {
  static const std::vector<std::string> p = {
      "the river runs slowly through the old town, and in the evening people walk along its banks.",
      "a good cook tastes the soup before serving it, and adds salt only when it is needed.",
      "the library opens at nine. students come early to find a quiet table near the window.",
      "in winter the lake freezes, and children skate on it while their parents watch from the shore.",
      "the train to the coast leaves every hour. the journey takes about two hours and passes many farms.",
      "a small garden needs water, light and patience. tomatoes grow best in a sunny corner.",
      "the market sells fresh bread, cheese, fruit and flowers. it is busiest on saturday morning.",
      "when the storm came, the fishermen pulled their boats onto the beach and waited.",
      "the museum shows old maps of the city. one of them is more than three hundred years old.",
      "learning a language takes time. it helps to read a little every day and to speak without fear.",
      "the baker starts work at four in the morning, long before the first customers arrive.",
      "a bicycle is a simple machine: two wheels, a frame, pedals and a chain.",
      "the mountain path is steep near the top, but the view from the summit is worth the climb.",
      "the old clock in the square stopped years ago, yet everyone still meets under it.",
      "cats sleep for most of the day and hunt at night, even when their bowls are full.",
      "the school choir practices twice a week and sings at the town festival in june.",
      "a letter can take a week to arrive, while a message arrives in a second.",
      "the doctor said to drink more water, sleep longer and walk every day.",
      "on sunday the streets are quiet and the cafes fill slowly with people reading newspapers.",
      "the bridge was built of stone and has survived many floods.",
      "a map is not the land it shows, but it helps the traveller decide where to go.",
      "the farmer checks the sky each morning to decide whether to cut the hay.",
      "music fills the hall when the orchestra begins, and the audience falls silent.",
      "an honest answer is better than a clever one, said the old teacher.",
      "the ferry crosses the bay four times a day, carrying cars, bikes and tourists.",
      "in spring the trees along the avenue turn green almost overnight.",
      "the recipe asks for two eggs, a cup of flour, some milk and a pinch of salt.",
      "the lighthouse keeper wrote in his log every night: weather, ships seen, and the state of the lamp.",
      "good habits are built slowly, one small step at a time.",
      "the city at night is full of lights, and the last bus leaves just after midnight.",
  };
  return p;
}

std::string clean(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    const unsigned char uc = static_cast<unsigned char>(c);
    if (uc >= 0x80) return "";  // not ASCII: skip the paragraph
    if (c == '\t') c = ' ';
    if (c != '\n' && (uc < 0x20 || uc == 0x7f)) continue;
    out += static_cast<char>(std::tolower(uc));
  }
  // Strip trailing spaces of each line and the paragraph's surrounding blank space.
  std::string res;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    res += line + "\n";
  }
  const size_t a = res.find_first_not_of(" \n");
  if (a == std::string::npos) return "";
  const size_t b = res.find_last_not_of(" \n");
  return res.substr(a, b - a + 1);
}

}  // namespace

std::vector<std::string> general_text(std::string* source) {
  std::vector<std::string> out;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(kFortuneDir, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(kFortuneDir, ec)) {
      const auto name = e.path().filename().string();
      const auto ext = e.path().extension().string();
      if (ext == ".dat" || ext == ".u8" || name == "ascii-art" || !e.is_regular_file(ec)) continue;
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());  // directory order is not portable
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string para, line;
    auto flush = [&] {
      std::string c = clean(para);
      if (c.size() >= 20 && c.size() <= 1200) out.push_back(std::move(c));
      para.clear();
    };
    while (std::getline(in, line)) {
      if (line == "%") flush();
      else para += line + "\n";
    }
    flush();
  }
  if (out.empty()) {
    if (source) *source = "built-in paragraphs (" + std::to_string(builtin_paragraphs().size()) + ")";
    return builtin_paragraphs();
  }
  if (source)
    *source = std::string(kFortuneDir) + " (" + std::to_string(files.size()) + " files, " + std::to_string(out.size()) +
              " paragraphs)";
  return out;
}

}  // namespace edgellm::study
