// Small users and temp folders for the study's tests (no generator needed: a few facts, five levels).
// Not the benchmark: bench/study/benchmark.h generates the real users.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "bench/study/benchmark.h"

namespace edgellm::study::testing {

inline User tiny_user(uint64_t, int64_t index) {
  User u;
  u.index = index;
  u.name = "user " + std::to_string(index);
  const std::string city = index % 2 ? "oslo" : "rome", pet = index % 3 ? "rex" : "luna";
  u.facts = {{"home_city", city, {}, 1}, {"pet_name", pet, {}, 1}};
  u.documents = {{0, 1, "diary", "i live in " + city + ".", {0}}, {1, 2, "note", "my dog is " + pet + ".", {1}},
                 {2, 3, "message", "the weather is fine today.", {}}};
  u.questions = {{"q0", Level::L1, "where do i live?", city, {{0}}, false, {0}, 0, ""},
                 {"q1", Level::L2, "what is my animal called?", pet, {{1}}, false, {1}, 0, ""},
                 {"q2", Level::L3, "where do i live and what is my dog?", city + " " + pet, {{0}, {1}}, false, {0, 1}, 0, ""},
                 {"q3", Level::L4, "would i like a new dog?", index % 2 ? "great" : "awful", {{1}}, false, {}, 0.5, ""},
                 {"q4", Level::L5, "say something about your dog.", "my dog " + pet + " is happy", {}, false, {}, 0,
                  "message day 4:"}};
  return u;
}

inline std::string temp_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("edgellm-study-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace edgellm::study::testing
