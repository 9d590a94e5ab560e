// What the C API's translation units share (models/c_api.cpp, rag/c_api.cpp): the model handle's
// definition and the per-thread error message. Not part of the public API (include/edgellm/edgellm.h is).
#pragma once

#include <string>

#include "models/runner.h"

struct edgellm_model {
  edgellm::Model m;
};

namespace edgellm::capi {
// Sets what edgellm_last_error() returns on this thread ("" clears it).
void set_last_error(std::string message);
}  // namespace edgellm::capi
