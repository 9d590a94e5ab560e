// The HTTP routes of edgellm serve on cpp-httplib: each handler reads the body (serve/openai_api.h), takes a slot
// from the engine and answers in JSON or as server-sent events. Not the engine or the JSON shapes.
//
// Streaming: the slot is taken in the handler (so a full queue is still a plain 503), then handed to the chunked
// content provider, which generates and writes one SSE event per piece of text. When a write fails (the client
// went away) generation stops at that token and the slot is given back at once; the server is otherwise untouched.
#include "serve/http_server.h"

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>

#include "runtime/error.h"
#include "serve/openai_api.h"

namespace edgellm::serve {
namespace {

using nlohmann::json;

// JSON text; bytes that are not UTF-8 (a random model's byte tokens) become U+FFFD rather than an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, int status, const std::string& type, const std::string& message) {
  res.status = status;
  res.set_content(dump(error_json(status, type, message)), "application/json");
}

// A handler whose exceptions become OpenAI-style errors: the client's (RequestError) with its status, the memory
// budget's as 503, anything else as 500.
template <class F>
httplib::Server::Handler guarded(F f) {
  return [f](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const RequestError& e) {
      send_error(res, e.status, e.type, e.what());
    } catch (const BudgetError& e) {
      send_error(res, 503, "server_busy", e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, "server_error", e.what());
    }
  };
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::atomic<int64_t> g_next_id{1};

void completion(Engine& e, const httplib::Request& req, httplib::Response& res, bool chat) {
  const json body = parse_body(req.body);
  auto call = std::make_shared<CompletionCall>(chat ? read_chat_request(e, body) : read_completion_request(e, body));
  auto lease = std::make_shared<SlotLease>(e.acquire());
  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(g_next_id.fetch_add(1));
  const int64_t created = unix_seconds();
  if (!call->stream) {
    const GenerateResult r = lease->generate(call->adapter, call->gen);
    res.set_content(dump(chat ? chat_response(*call, r, id, created) : completion_response(*call, r, id, created)),
                    "application/json");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [lease, call, id, created, chat](size_t, httplib::DataSink& sink) mutable {
        if (!lease) return false;  // the stream was written whole already
        auto send = [&](const json& j) {
          const std::string event = "data: " + dump(j) + "\n\n";
          return sink.write(event.data(), event.size());
        };
        auto chunk = [&](const std::string& text, const std::string& finish) {
          return chat ? chat_chunk(*call, id, created, finish.empty() ? json{{"content", text}} : json::object(), finish)
                      : completion_chunk(*call, id, created, text, finish);
        };
        bool ok = !chat || send(chat_chunk(*call, id, created, {{"role", "assistant"}, {"content", ""}}, ""));
        GenerateResult r;
        try {
          r = lease->generate(call->adapter, call->gen, [&](std::string_view t) {
            ok = ok && send(chunk(std::string(t), ""));
            return ok;
          });
        } catch (const std::exception& ex) {
          lease.reset();
          // The status line is gone already: the error travels as an event, as OpenAI's streams do.
          send(error_json(500, "server_error", ex.what()));
          sink.done();
          return true;
        }
        lease.reset();  // the slot goes back before the last writes
        if (!ok) return false;  // the client went away: drop the connection
        ok = send(chunk("", r.finish_reason));
        if (ok && call->include_usage) {
          json u = chunk("", "");
          u["choices"] = json::array();
          u["usage"] = usage_json(r);
          ok = send(u);
        }
        static const std::string done = "data: [DONE]\n\n";
        if (ok) ok = sink.write(done.data(), done.size());
        if (ok) sink.done();
        return ok;
      });
}

void embeddings(Engine& e, const httplib::Request& req, httplib::Response& res) {
  const EmbeddingCall c = read_embedding_request(e, parse_body(req.body));
  std::vector<float> v;
  {
    SlotLease lease = e.acquire();
    v = lease.embed(c.adapter, c.input);
  }
  res.set_content(dump(embedding_response(c, v, e.base().llama.config.dim)), "application/json");
}

}  // namespace

void run_server(const ServerOptions& o, const std::atomic<bool>* stop,
                const std::function<void(const std::string& host, int port)>& on_listening) {
  signal(SIGPIPE, SIG_IGN);  // a client that closes mid-write is a failed write, not the end of the server
  Engine engine(o.engine);
  httplib::Server svr;
  // One thread per connection being served: the slots, the queue behind them and a few for /health and refusals.
  const size_t threads = static_cast<size_t>(o.engine.slots + o.engine.queue + 4);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(o.max_body_bytes);
  svr.set_read_timeout(30);
  svr.set_write_timeout(30);
  // An idle keep-alive connection holds its thread until this runs out, and stopping waits for it: keep it short.
  svr.set_keep_alive_timeout(2);

  svr.Post("/v1/chat/completions", guarded([&](const auto& req, auto& res) { completion(engine, req, res, true); }));
  svr.Post("/v1/completions", guarded([&](const auto& req, auto& res) { completion(engine, req, res, false); }));
  svr.Post("/v1/embeddings", guarded([&](const auto& req, auto& res) { embeddings(engine, req, res); }));
  svr.Get("/v1/models", guarded([&](const auto&, auto& res) {
    res.set_content(dump(models_response(engine, unix_seconds())), "application/json");
  }));
  svr.Get("/health", guarded([&](const auto&, auto& res) {
    const Engine::Load l = engine.load();
    res.set_content(dump({{"status", "ok"},
                          {"slots", l.slots},
                          {"busy", l.busy},
                          {"waiting", l.waiting},
                          {"served", l.served},
                          {"refused", l.refused}}),
                    "application/json");
  }));
  // Errors httplib answers itself (413 for an oversize body, 404 for an unknown path) get an OpenAI-style body.
  const size_t max_body = o.max_body_bytes;
  svr.set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      send_error(res, 413, "invalid_request_error",
                 fmt::format("the request body is larger than this server accepts ({} bytes, serve --max-body)", max_body));
    else if (res.status == 404)
      send_error(res, 404, "not_found_error", fmt::format("no route {} {}", req.method, req.path));
    else
      send_error(res, res.status, "invalid_request_error", fmt::format("HTTP {} for {} {}", res.status, req.method, req.path));
  });

  int port = o.port;
  if (port == 0) port = svr.bind_to_any_port(o.host);
  else if (!svr.bind_to_port(o.host, port)) port = -1;
  if (port <= 0) fail("serve: cannot listen on {}:{} (in use, or not an address of this machine)", o.host, o.port);

  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished.load()) {
      if (stop && stop->load() && svr.is_running()) {
        svr.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  if (on_listening) on_listening(o.host, port);
  const bool clean = svr.listen_after_bind();
  finished.store(true);
  watcher.join();
  if (!clean && !(stop && stop->load())) fail("serve: the server on {}:{} stopped unexpectedly", o.host, port);
}

}  // namespace edgellm::serve
