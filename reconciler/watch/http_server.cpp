#include "reconciler/watch/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "reconciler/handle.h"
#include "reconciler/text.h"
#include "reconciler/watch/webhook.h"

namespace hostform::watch {
namespace {

using Clock = std::chrono::steady_clock;

/// Git hosts cap push payloads well below this; a larger body is refused (413).
constexpr std::size_t kMaxBody = 10u << 20;
/// A connection has this long for its whole request, headers and body, and
/// its response: a client sending a byte a second is cut off, not waited for.
constexpr auto kDeadline = std::chrono::seconds(10);
/// Idle connections (keep-alive, or silent after connecting) close sooner.
constexpr unsigned kIdleSeconds = 5;
/// Connections served at once, and from one address: one poll thread serves
/// them all, so slow clients hold a slot each, never the server.
constexpr unsigned kConnections = 256, kConnectionsPerAddress = 32;

struct Answer {
  unsigned status;
  std::string body;
  const char* contentType = "text/plain; charset=utf-8";
  const char* allow = nullptr;
};

/// One request being read: its body so far.
struct Request {
  std::string body;
  bool tooLarge = false;
};

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

static bool isLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

struct HttpServer::Impl {
  HttpHandlers handlers;
  MHD_Daemon* daemon = nullptr;

  // Every open connection's socket and when it opened, for the deadline.
  std::mutex mutex;
  std::condition_variable wake;
  std::map<MHD_Connection*, std::pair<int, Clock::time_point>> open;
  bool stopping = false;
  std::thread watchdog;

  /// Ends connections past the deadline: shutting their socket down makes the
  /// poll thread see the end and close them.
  void watch() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      wake.wait_for(lock, std::chrono::milliseconds(500));
      const auto now = Clock::now();
      for (const auto& [connection, socket] : open)
        if (now - socket.second > kDeadline) ::shutdown(socket.first, SHUT_RDWR);
    }
  }

  Answer route(std::string_view method, std::string_view url, MHD_Connection* connection, const Request& request) {
    const bool webhook = !handlers.webhookSecret.empty();
    const bool read = method == "GET" || method == "HEAD";
    if (url == "/healthz" || url == "/readyz" || url == "/metrics") {
      if (!read) return {405, "use GET\n", "text/plain; charset=utf-8", "GET, HEAD"};
      if (url != "/metrics") {
        const auto& probe = url == "/healthz" ? handlers.healthz : handlers.readyz;
        if (!probe) return {200, "ok\n"};
        ProbeAnswer answer = probe();
        return {answer.status, std::move(answer.body)};
      }
      return {200, handlers.metrics(), "text/plain; version=0.0.4; charset=utf-8"};
    }
    if (url == "/hooks/git" && webhook) {
      if (method != "POST") return {405, "use POST\n", "text/plain; charset=utf-8", "POST"};
      if (request.tooLarge) return {413, "the body is larger than 10 MiB\n"};
      const std::string why = checkWebhook(
          handlers.webhookSecret,
          [connection](const std::string& name) {
            const char* v = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name.c_str());
            return std::string(v ? v : "");
          },
          request.body);
      if (!why.empty()) {
        spdlog::warn("webhook from {} refused: {}", peer(connection), why);
        return {401, why + "\n"};
      }
      spdlog::info("webhook from {}: fetching now", peer(connection));
      handlers.trigger();
      return {202, "fetch queued\n"};
    }
    if (url == "/hooks/git")
      return {404, "not served: POST /hooks/git needs watch --webhook-secret-file, so that only the git host can "
                   "trigger fetches\n"};
    return {404, webhook ? "not found: the paths are /healthz, /readyz, /metrics and POST /hooks/git\n"
                         : "not found: the paths are /healthz, /readyz and /metrics\n"};
  }

  static std::string peer(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[NI_MAXHOST] = "?";
    if (info && info->client_addr)
      getnameinfo(info->client_addr,
                  info->client_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in), host,
                  sizeof host, nullptr, 0, NI_NUMERICHOST);
    return host;
  }

  // ---- libmicrohttpd's callbacks ------------------------------------------------

  static MHD_Result onRequest(void* self, MHD_Connection* connection, const char* url, const char* method,
                              const char* /*version*/, const char* upload, size_t* uploadSize, void** context) {
    auto& impl = *static_cast<Impl*>(self);
    if (!*context) {  // the headers are in: keep a place for the body
      *context = new Request;
      return MHD_YES;
    }
    auto& request = *static_cast<Request*>(*context);
    if (*uploadSize) {
      if (request.body.size() + *uploadSize > kMaxBody) request.tooLarge = true;
      else request.body.append(upload, *uploadSize);
      *uploadSize = 0;
      return MHD_YES;
    }
    Answer answer;
    try {
      answer = impl.route(method, url, connection, request);
    } catch (const std::exception& e) {
      spdlog::error("HTTP {} {}: {}", method, escapeControl(url), e.what());
      answer = {500, "internal error\n"};
    }
    MHD_Response* response =
        MHD_create_response_from_buffer(answer.body.size(), answer.body.data(), MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.contentType);
    if (answer.allow) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, answer.allow);
    const MHD_Result queued = MHD_queue_response(connection, answer.status, response);
    MHD_destroy_response(response);
    return queued;
  }

  static void onCompleted(void*, MHD_Connection*, void** context, MHD_RequestTerminationCode) {
    delete static_cast<Request*>(*context);
    *context = nullptr;
  }

  static void onConnection(void* self, MHD_Connection* connection, void**, MHD_ConnectionNotificationCode code) {
    auto& impl = *static_cast<Impl*>(self);
    std::lock_guard lock(impl.mutex);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      if (info) impl.open[connection] = {info->connect_fd, Clock::now()};
    } else {
      impl.open.erase(connection);  // before libmicrohttpd closes the socket: its number is never reused under us
    }
  }

  static void onLog(void*, const char* format, va_list args) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    spdlog::debug("HTTP server: {}", escapeControl(text));
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() {
  MHD_stop_daemon(impl_->daemon);  // joins the poll thread, closes every connection
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->watchdog.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ListenAddress& address, HttpHandlers handlers) {
  auto impl = std::make_unique<Impl>();
  impl->handlers = std::move(handlers);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    return fail("--listen: cannot resolve " + address.host + ".");
  const Handle<addrinfo, freeaddrinfo> owned(found);
  const bool v6 = found->ai_family == AF_INET6;

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
  if (v6) flags |= MHD_USE_IPv6;
  impl->daemon = MHD_start_daemon(
      flags, static_cast<uint16_t>(address.port), nullptr, nullptr, &Impl::onRequest, impl.get(),
      MHD_OPTION_SOCK_ADDR, found->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, kIdleSeconds,
      MHD_OPTION_CONNECTION_LIMIT, kConnections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, kConnectionsPerAddress,
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::onCompleted, nullptr, MHD_OPTION_NOTIFY_CONNECTION, &Impl::onConnection,
      impl.get(), MHD_OPTION_EXTERNAL_LOGGER, &Impl::onLog, nullptr, MHD_OPTION_END);
  if (!impl->daemon)
    return fail("--listen: cannot listen on " + address.host + ":" + port +
                " (in use, or not an address of this host).");
  const MHD_DaemonInfo* bound = MHD_get_daemon_info(impl->daemon, MHD_DAEMON_INFO_BIND_PORT);
  const int boundPort = bound ? bound->port : address.port;
  impl->watchdog = std::thread([raw = impl.get()] { raw->watch(); });
  if (!isLoopback(address.host))
    spdlog::warn("--listen {}:{} serves /metrics beyond this host; bind 127.0.0.1 (or ::1) and scrape through a proxy "
                 "unless every network that reaches it may read them",
                 address.host, boundPort);
  if (impl->handlers.webhookSecret.empty())
    spdlog::info("POST /hooks/git is not served: it needs --webhook-secret-file");
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), boundPort));
}

}  // namespace hostform::watch
