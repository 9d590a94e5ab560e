// serve::Engine and the OpenAI JSON layer in-process: per-request adapters give what load_lora on a whole model
// gives (also with slots running at once), stop strings, cancelling, the bounded queue, and 4xx on bad bodies.
#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include <unistd.h>

#include "models/runner.h"
#include "runtime/parallel.h"
#include "serve/engine.h"
#include "serve/openai_api.h"
#include "serve_test_adapters.h"
#include "train/lora_io.h"

using namespace edgellm;
using namespace edgellm::serve;

namespace {

// Two adapters for builtin:tiny written once per process (serve_test_adapters.h), and an engine over them.
const std::string& adapter_dir() {
  static const std::string dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("edgellm_test_serve_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    Model m = load_model("builtin:tiny");
    serve_test::put_random_adapter(m.llama, 1);
    save_lora_gguf(m.llama, 8.0f, (d / "alice.gguf").string());
    serve_test::put_random_adapter(m.llama, 2);
    save_lora_gguf(m.llama, 8.0f, (d / "bob.gguf").string());
    return d.string();
  }();
  return dir;
}

EngineOptions options(int slots, int queue) {
  EngineOptions o;
  o.model = "builtin:tiny";
  o.adapters = {{"alice", adapter_dir() + "/alice.gguf"}, {"bob", adapter_dir() + "/bob.gguf"}};
  o.chat_template = "chatml";
  o.slots = slots;
  o.queue = queue;
  o.n_ctx = 64;
  o.threads = 1;
  return o;
}

GenerateRequest greedy(const Model& m, const std::string& prompt, int n) {
  GenerateRequest r;
  EncodeOptions opt;
  opt.add_bos = true;
  r.prompt = m.tokenizer->encode(prompt, opt);
  r.max_tokens = n;
  r.sampling.temperature = 0;
  return r;
}

// What `edgellm generate --lora` gives: the adapter loaded onto a whole model, greedy, as text.
std::string reference(const std::string& adapter, const std::string& prompt, int n) {
  Model m = load_model("builtin:tiny");
  if (!adapter.empty()) load_lora(m.llama, adapter_dir() + "/" + adapter + ".gguf");
  GenerateRequest r = greedy(m, prompt, n);
  KvCache cache(m.llama.config, 64);
  SamplerParams sp;
  sp.temperature = 0;
  Sampler s(sp);
  std::string text;
  for (int32_t id : generate(m, cache, r.prompt, n, s, {}, true)) text += m.tokenizer->token_to_piece(id, false);
  return text;
}

}  // namespace

TEST_CASE("a slot with a request's adapter generates what load_lora on the whole model does, switching freely") {
  Engine e(options(2, 4));
  const std::string ref_base = reference("", "Hello", 12), ref_alice = reference("alice", "Hello", 12),
                    ref_bob = reference("bob", "Hello", 12);
  CHECK(ref_alice != ref_base);
  CHECK(ref_bob != ref_alice);
  for (const char* name : {"alice", "bob", "builtin:tiny", "alice", ""}) {
    SlotLease lease = e.acquire();
    std::string streamed;
    const GenerateResult r = lease.generate(e.find_adapter(name), greedy(e.base(), "Hello", 12), [&](std::string_view t) {
      streamed += t;
      return true;
    });
    const std::string n = name;
    CHECK(r.text == (n == "alice" ? ref_alice : n == "bob" ? ref_bob : ref_base));
    CHECK(streamed == r.text);
    CHECK(r.completion_tokens == 12);
    CHECK(r.finish_reason == "length");
  }
  CHECK_THROWS_AS(e.find_adapter("carol"), RequestError);
}

TEST_CASE("slots generating at once with different adapters each give their adapter's reply") {
  Engine e(options(4, 8));
  const std::vector<std::string> names = {"alice", "bob", "", "alice"};
  std::vector<std::string> refs;
  for (const auto& n : names) refs.push_back(reference(n, "Once", 20));
  std::vector<std::string> got(names.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 3; ++rep) {
        SlotLease lease = e.acquire();
        got[i] = lease.generate(e.find_adapter(names[i]), greedy(e.base(), "Once", 20)).text;
      }
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < names.size(); ++i) CHECK(got[i] == refs[i]);
  CHECK(e.load().busy == 0);
  CHECK(e.load().served == 12);
}

TEST_CASE("a stop string cuts the reply before it, also when it spans tokens; nothing past it is streamed") {
  Engine e(options(1, 0));
  SlotLease lease = e.acquire();
  const std::string full = lease.generate(nullptr, greedy(e.base(), "Hi", 24)).text;
  REQUIRE(full.size() >= 8);
  GenerateRequest r = greedy(e.base(), "Hi", 24);
  r.stop = {full.substr(3, 3)};  // most likely spans two byte tokens of the built-in vocabulary
  std::string streamed;
  const GenerateResult got = lease.generate(nullptr, r, [&](std::string_view t) {
    streamed += t;
    return true;
  });
  CHECK(got.text == full.substr(0, full.find(r.stop[0])));
  CHECK(streamed == got.text);
  CHECK(got.finish_reason == "stop");
}

TEST_CASE("on_text returning false stops the reply (a client gone) and the slot comes back") {
  Engine e(options(1, 0));
  {
    SlotLease lease = e.acquire();
    int calls = 0;
    const GenerateResult r = lease.generate(nullptr, greedy(e.base(), "Hi", 40), [&](std::string_view) {
      return ++calls < 3;
    });
    CHECK(r.cancelled);
    CHECK(r.completion_tokens < 40);
    CHECK(e.load().busy == 1);
  }
  CHECK(e.load().busy == 0);
}

TEST_CASE("the queue is bounded: a request beyond the slots and the queue is refused with 503") {
  Engine e(options(1, 0));
  SlotLease held = e.acquire();
  try {
    (void)e.acquire();
    FAIL("a second request was admitted");
  } catch (const RequestError& err) {
    CHECK(err.status == 503);
  }
  CHECK(e.load().refused == 1);
}

TEST_CASE("a prompt longer than a slot's context is a 400 naming both lengths") {
  Engine e(options(1, 0));
  SlotLease lease = e.acquire();
  GenerateRequest r = greedy(e.base(), std::string(100, 'x'), 4);
  try {
    (void)lease.generate(nullptr, r);
    FAIL("no error");
  } catch (const RequestError& err) {
    CHECK(err.status == 400);
    CHECK(std::string(err.what()).find("101 tokens") != std::string::npos);
  }
}

TEST_CASE("OpenAI bodies: bad JSON, wrong types and unsupported fields are 400s naming the field") {
  Engine e(options(1, 0));
  auto status_of = [&](const std::string& body, bool chat) {
    try {
      const nlohmann::json j = parse_body(body);
      (void)(chat ? read_chat_request(e, j) : read_completion_request(e, j));
      return 200;
    } catch (const RequestError& err) {
      return err.status;
    }
  };
  CHECK(status_of(R"({"messages": [)", true) == 400);
  CHECK(status_of(R"([1, 2])", true) == 400);
  CHECK(status_of(R"({"messages": []})", true) == 400);
  CHECK(status_of(R"({"messages": [{"role": "tool", "content": "x"}]})", true) == 400);
  CHECK(status_of(R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", true) == 400);
  CHECK(status_of(R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", true) == 400);
  CHECK(status_of(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000})", true) == 400);
  CHECK(status_of(R"({"model": "carol", "messages": [{"role": "user", "content": "x"}]})", true) == 404);
  CHECK(status_of(R"({"model": "bob", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]})", true) == 200);
  CHECK(status_of(R"({"prompt": "x", "stop": ""})", false) == 400);
  CHECK(status_of(R"({"prompt": "x", "stop": ["a", "b"]})", false) == 200);
  const CompletionCall c = read_completion_request(e, parse_body(R"({"model": "alice", "prompt": "x"})"));
  CHECK(c.adapter == e.find_adapter("alice"));
  CHECK(c.gen.max_tokens == 16);
}

TEST_CASE("base64 as RFC 4648 writes it") {
  CHECK(base64_encode("", 0) == "");
  CHECK(base64_encode("f", 1) == "Zg==");
  CHECK(base64_encode("fo", 2) == "Zm8=");
  CHECK(base64_encode("foobar", 6) == "Zm9vYmFy");
}
