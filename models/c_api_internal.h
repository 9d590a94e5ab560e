// What the C API's translation units share (models/, rag/ and train/c_api.cpp): the model and adapter handles'
// definitions, the per-thread error message and the guard that turns exceptions into error codes.
// Not part of the public API (include/edgellm/edgellm.h is).
#pragma once

#include <array>
#include <set>
#include <string>
#include <vector>

#include "models/runner.h"

struct edgellm_adapter;

struct edgellm_model {
  edgellm::Model m;
  const edgellm_adapter* active = nullptr;  // the adapter whose pairs sit on m's layers, or none
  std::set<edgellm_adapter*> adapters;      // loaded for this model; freeing the model detaches them
};

// A LoRA adapter kept off the model until applied: one pair per layer and linear kind, scale as trained (alpha/r).
struct edgellm_adapter {
  edgellm_model* model;  // null once its model is freed (the adapter is then unusable, but still freeable)
  std::vector<std::array<edgellm::LoraPair, edgellm::kNumLinearKinds>> layers;  // (n_layers)
  int rank = 0;
  float alpha = 0;
  std::vector<std::string> targets;  // PEFT module names
};

namespace edgellm::capi {

// Sets what edgellm_last_error() returns on this thread ("" clears it).
void set_last_error(std::string message);

// Runs fn, returning its result; an exception becomes on_error and the thread's error message.
template <class R, class F>
R guarded(R on_error, F&& fn) {
  try {
    set_last_error("");
    return fn();
  } catch (const std::exception& e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown error");
  }
  return on_error;
}

// Whether p is NULL; if so, sets the error "<what> is NULL".
inline bool null_arg(const void* p, const char* what) {
  if (p) return false;
  set_last_error(std::string(what) + " is NULL");
  return true;
}

}  // namespace edgellm::capi
