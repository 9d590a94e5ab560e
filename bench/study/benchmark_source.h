// Where a run's test users come from: the generated population (the default, "") or a LaMP-format folder
// ("lamp:DIR"), each LaMP entry one user with one L4-style question (bench/study/lamp.cpp reads them).
// Not the generator (bench/study/benchmark.h) nor a downloader: the LaMP files are the user's.
#pragma once

#include <string>
#include <vector>

#include "bench/study/benchmark.h"

namespace edgellm::study {

bool is_lamp_benchmark(const std::string& benchmark);
// Throws Error unless benchmark is "" or "lamp:DIR" with DIR holding LaMP questions (see lamp_files).
void check_benchmark(const std::string& benchmark);
// The questions file of a LaMP folder and its outputs file ("" when the answers are inline): dev_questions.json
// with dev_outputs.json, else train_*, else questions.json with outputs.json; or DIR itself when it is a file.
std::pair<std::string, std::string> lamp_files(const std::string& dir);
// The users of "lamp:DIR", loaded once per process.
const std::vector<User>& lamp_users(const std::string& benchmark);

}  // namespace edgellm::study
