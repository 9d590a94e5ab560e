// The model the RAG tests build indexes with: builtin:tiny, loaded once per test binary.
// Not a fixture loader: the tests that need real models load them themselves.
#pragma once

#include "models/runner.h"

namespace edgellm::rag::test {

inline const Model& tiny() {
  static const Model m = load_model("builtin:tiny");
  return m;
}

}  // namespace edgellm::rag::test
