#include "reconciler/watch/http_server.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "reconciler/watch/webhook.h"

namespace hostform::watch {
namespace {

/// Git hosts cap push payloads well below this; a larger body is refused (413).
constexpr std::size_t kMaxBody = 10u << 20;
/// Requests are rare (a scrape, a push): two workers are plenty and keep the
/// watcher small.
constexpr std::size_t kWorkers = 2;

void text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

}  // namespace

Result<ListenAddress> parseListen(std::string_view text) {
  const std::string shown(text);
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail("--listen " + shown + ": expected HOST:PORT, such as 127.0.0.1:9100.");
  std::string_view host = text.substr(0, colon);
  if (host.starts_with('[')) {
    if (!host.ends_with(']')) return fail("--listen " + shown + ": an IPv6 address goes in brackets: [::1]:9100.");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail("--listen " + shown + ": an IPv6 address goes in brackets: [::1]:9100.");
  }
  const std::string_view portText = text.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (host.empty() || ec != std::errc() || end != portText.data() + portText.size() || port < 0 || port > 65535)
    return fail("--listen " + shown + ": expected HOST:PORT with a port from 0 to 65535.");
  return ListenAddress{std::string(host), port};
}

struct HttpServer::Impl {
  httplib::Server server;
  HttpHandlers handlers;
  std::thread thread;
  std::atomic<bool> ended{false};
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ListenAddress& address, HttpHandlers handlers) {
  auto impl = std::make_unique<Impl>();
  impl->handlers = std::move(handlers);
  httplib::Server& server = impl->server;
  const HttpHandlers& h = impl->handlers;

  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  server.set_payload_max_length(kMaxBody);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { text(res, 200, "ok\n"); });
  server.Get("/metrics", [&h](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(h.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Post("/hooks/git", [&h](const httplib::Request& req, httplib::Response& res) {
    if (!h.webhookSecret.empty()) {
      const std::string why = checkWebhook(
          h.webhookSecret, [&req](const std::string& name) { return req.get_header_value(name); }, req.body);
      if (!why.empty()) {
        spdlog::warn("webhook from {} refused: {}", req.remote_addr, why);
        text(res, 401, why + "\n");
        return;
      }
    }
    spdlog::info("webhook from {}: fetching now", req.remote_addr);
    h.trigger();
    text(res, 202, "fetch queued\n");
  });
  for (const char* path : {"/hooks/git"}) {
    server.Get(path, [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Allow", "POST");
      text(res, 405, "use POST\n");
    });
  }
  for (const char* path : {"/healthz", "/metrics"}) {
    server.Post(path, [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Allow", "GET, HEAD");
      text(res, 405, "use GET\n");
    });
  }
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) text(res, 404, "not found: the paths are /healthz, /metrics and POST /hooks/git\n");
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    text(res, 500, "internal error\n");
  });

  int port = address.port;
  if (port == 0) {
    port = server.bind_to_any_port(address.host);
    if (port < 0) return fail("--listen: cannot listen on " + address.host + " (any port).");
  } else if (!server.bind_to_port(address.host, port)) {
    return fail("--listen: cannot listen on " + address.host + ":" + std::to_string(port) +
                " (in use, or not an address of this host).");
  }
  std::atomic<bool>& ended = impl->ended;
  impl->thread = std::thread([&server, &ended] {
    server.listen_after_bind();
    ended = true;
  });
  // stop() only works once the server runs; wait for that, so the destructor
  // can never miss it.
  while (!server.is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (ended) {
    impl->thread.join();
    return fail("--listen: the HTTP server on " + address.host + ":" + std::to_string(port) + " stopped at once.");
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), port));
}

}  // namespace hostform::watch
