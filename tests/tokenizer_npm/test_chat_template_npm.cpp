// Real chat templates (Llama 3, Gemma 3, Qwen3 from the npm tokenizer packages, and others) rendered by edgellm's
// Jinja engine against @huggingface/jinja's renderings, conversation by conversation, byte for byte.
// Not run on its own: run_npm_test.sh runs gen_chat_templates.mjs first.
#include <doctest/doctest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "models/jinja/jinja.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"

using namespace edgellm;
using ojson = nlohmann::ordered_json;

TEST_CASE("chat templates: edgellm's Jinja renders byte-identical to @huggingface/jinja") {
  const char* dir = std::getenv("EDGELLM_TOKENIZER_NPM_DIR");
  if (!dir) {
    if (std::getenv("CI")) FAIL("EDGELLM_TOKENIZER_NPM_DIR is not set (run through ctest, which writes it)");
    MESSAGE("EDGELLM_TOKENIZER_NPM_DIR not set: skipping (ctest runs gen_chat_templates.mjs and sets it)");
    return;
  }
  const ojson ref = ojson::parse(read_file(std::string(dir) + "/chat_templates.json"));
  REQUIRE(ref["templates"].size() >= 9);
  for (const ojson& t : ref["templates"]) {
    const std::string name = t["name"];
    const jinja::Template tmpl(t["source"].get<std::string>(), name);
    size_t same = 0, rendered = 0, errors_same = 0, shown = 0;
    for (const ojson& c : t["cases"]) {
      std::string got, error;
      try {
        got = tmpl.render(c["context"]);
      } catch (const Error& e) {
        error = e.what();
      }
      if (c.contains("output")) {
        ++rendered;
        if (error.empty() && got == c["output"].get<std::string>()) ++same;
        else if (shown++ < 3)
          MESSAGE(name << " differs on " << c["context"]["messages"].dump() << "\n  edgellm: " << (error.empty() ? got : "error " + error)
                       << "\n  npm:     " << c["output"].get<std::string>());
      } else {
        // The reference raised (raise_exception in the template): edgellm must fail with the same message.
        if (error.find(c["error"].get<std::string>()) != std::string::npos) ++errors_same;
        else if (shown++ < 3) MESSAGE(name << ": npm raised '" << c["error"].get<std::string>() << "', edgellm: " << (error.empty() ? got : error));
      }
    }
    MESSAGE(name << ": " << same << "/" << rendered << " renderings byte-identical; " << errors_same << "/"
                 << t["cases"].size() - rendered << " raised errors matched");
    CHECK(same == rendered);
    CHECK(errors_same == t["cases"].size() - rendered);
    if (name == "llama3" || name == "gemma3" || name == "qwen3") CHECK(rendered >= 20);
  }
}
