// Writes two random LoRA adapters (llama.cpp LoRA GGUF) for builtin:tiny, alice.gguf and bob.gguf, for the
// openai client test (tests/serve/openai_client.mjs). Not a test itself. Usage: serve_make_adapters OUT_DIR
#include <cstdio>
#include <exception>
#include <string>

#include "models/runner.h"
#include "serve_test_adapters.h"
#include "train/lora_io.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: serve_make_adapters OUT_DIR\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    edgellm::Model m = edgellm::load_model("builtin:tiny");
    edgellm::serve_test::put_random_adapter(m.llama, 1);
    edgellm::save_lora_gguf(m.llama, 8.0f, dir + "/alice.gguf");
    edgellm::serve_test::put_random_adapter(m.llama, 2);
    edgellm::save_lora_gguf(m.llama, 8.0f, dir + "/bob.gguf");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_make_adapters: %s\n", e.what());
    return 1;
  }
  return 0;
}
