#pragma once
/// `watch --listen`: /healthz, /readyz, /metrics (Prometheus text) and POST /hooks/git
/// (an immediate fetch, only with a webhook secret), served by libmicrohttpd:
/// one poll thread for every connection, each with a deadline for its whole
/// request, so slow clients never hold up a probe.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "reconciler/result.h"

namespace hostform::watch {

struct ListenAddress {
  std::string host;  ///< "127.0.0.1", "::1", "0.0.0.0"…
  int port = 0;      ///< 0: any free port
};

/// "HOST:PORT" or "[IPV6]:PORT".
Result<ListenAddress> parseListen(std::string_view text);

/// A probe's answer: 200 or 503, and a line for people.
struct ProbeAnswer {
  unsigned status = 200;
  std::string body;
};

struct HttpHandlers {
  std::function<std::string()> metrics;  ///< the /metrics body
  std::function<ProbeAnswer()> healthz;  ///< did the last cycle succeed
  std::function<ProbeAnswer()> readyz;   ///< is the commit in force applied
  std::function<void()> trigger;         ///< an authentic POST /hooks/git
  std::string webhookSecret;             ///< empty: POST /hooks/git is not served
};

class HttpServer {
 public:
  /// Binds and starts serving; returns once requests are being accepted.
  static Result<std::unique_ptr<HttpServer>> start(const ListenAddress& address, HttpHandlers handlers);
  /// Stops accepting, finishes the requests in flight, joins the thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The port bound (the one chosen when the address asked for 0).
  int port() const { return port_; }

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace hostform::watch
