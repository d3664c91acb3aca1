#include "reconciler/watch/notifier.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "reconciler/handle.h"
#include "reconciler/log.h"
#include "reconciler/units.h"
#include "reconciler/watch/webhook.h"

namespace hostform::watch {
namespace {

using Clock = std::chrono::steady_clock;

void initCurl() {
  // curl_global_init is not thread-safe everywhere: once per process, before
  // the notifier's thread makes a handle (the KVM provider's call is refcounted).
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

/// A URL's part; empty when it has none.
std::string part(CURLU* u, CURLUPart which) {
  char* value = nullptr;
  if (curl_url_get(u, which, &value, 0) != CURLUE_OK || !value) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

using UrlHandle = Handle<CURLU, curl_url_cleanup>;

UrlHandle parse(const std::string& url) {
  UrlHandle u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) return nullptr;
  return u;
}

/// Discards the receiver's answer: only its status counts.
size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

std::string redactUrl(const std::string& url) {
  const UrlHandle u = parse(url);
  if (!u) return "(an unparsable URL)";
  std::string shown = part(u.get(), CURLUPART_SCHEME) + "://";
  std::string host = part(u.get(), CURLUPART_HOST);
  shown += host;
  if (std::string port = part(u.get(), CURLUPART_PORT); !port.empty()) shown += ":" + port;
  return shown + part(u.get(), CURLUPART_PATH);
}

Result<void> checkNotifyUrl(const std::string& url) {
  const UrlHandle u = parse(url);
  if (!u) return fail("--notify: cannot parse the URL (not shown: it may hold a credential); expected http://HOST/PATH "
                      "or https://HOST/PATH.");
  const std::string scheme = part(u.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return fail("--notify " + redactUrl(url) + ": expected an http:// or https:// URL.");
  if (part(u.get(), CURLUPART_HOST).empty()) return fail("--notify " + redactUrl(url) + ": the URL has no host.");
  return {};
}

Notifier::Notifier(std::vector<std::string> urls, std::string secret, std::function<void(bool)> counted,
                   NotifierTuning tuning)
    : urls_(std::move(urls)), secret_(std::move(secret)), counted_(std::move(counted)), tuning_(tuning) {
  initCurl();
  for (const std::string& url : urls_) shown_.push_back(redactUrl(url));
  thread_ = std::thread([this] { run(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    drainUntil_ = Clock::now() + tuning_.drain;
  }
  wake_.notify_all();
  thread_.join();
}

void Notifier::post(const std::string& event, const std::string& body) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < urls_.size(); ++i) {
    if (queue_.size() >= tuning_.queueLimit) {
      const Delivery dropped = std::move(queue_.front());
      queue_.pop_front();
      counted_(false);
      logWith(spdlog::level::err, "notification dropped: " + std::to_string(tuning_.queueLimit) +
                                      " are waiting for slow receivers; the oldest goes",
              {{"event", dropped.event}, {"url", shown_[dropped.url]}});
    }
    queue_.push_back({i, event, body});
  }
  wake_.notify_all();
}

bool Notifier::pastDrain() {
  std::lock_guard lock(mutex_);
  return stopping_ && Clock::now() >= drainUntil_;
}

void Notifier::run() {
  for (;;) {
    Delivery d;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() || (stopping_ && Clock::now() >= drainUntil_)) break;
      d = std::move(queue_.front());
      queue_.pop_front();
    }
    deliver(d);
  }
  std::lock_guard lock(mutex_);
  for (const Delivery& d : queue_) {
    counted_(false);
    logWith(spdlog::level::err, "notification not sent: hostform is stopping",
            {{"event", d.event}, {"url", shown_[d.url]}});
  }
  queue_.clear();
}

void Notifier::deliver(const Delivery& d) {
  const nlohmann::json fields = {{"event", d.event}, {"url", shown_[d.url]}};
  auto delay = tuning_.firstDelay;
  for (int n = 1;; ++n) {
    bool retry = false;
    const std::string why = attempt(d, retry);
    if (why.empty()) {
      counted_(true);
      logWith(spdlog::level::info, "notification delivered: " + d.event, fields);
      return;
    }
    if (!retry || n >= tuning_.attempts) {
      counted_(false);
      logWith(spdlog::level::err,
              "notification failed: " + why + (retry ? " (attempt " + std::to_string(n) + " of " +
                                                           std::to_string(tuning_.attempts) + ", the last)"
                                                     : " (not retried)"),
              fields);
      return;
    }
    logWith(spdlog::level::warn,
            "notification failed: " + why + "; attempt " + std::to_string(n) + " of " +
                std::to_string(tuning_.attempts) + ", retrying in " + formatDuration(delay),
            fields);
    if (!backoff(delay)) {
      counted_(false);
      logWith(spdlog::level::err, "notification failed: " + why + "; not retried: hostform is stopping", fields);
      return;
    }
    delay *= 2;
  }
}

bool Notifier::backoff(std::chrono::milliseconds delay) {
  const auto until = Clock::now() + delay;
  std::unique_lock lock(mutex_);
  while (Clock::now() < until) {
    if (stopping_ && until > drainUntil_) return false;
    wake_.wait_until(lock, until);
  }
  return true;
}

std::string Notifier::attempt(const Delivery& d, bool& retry) {
  retry = true;
  const Handle<CURL, curl_easy_cleanup> curl(curl_easy_init());
  if (!curl) return "cannot start an HTTP request";
  curl_slist* list = nullptr;
  for (const std::string& h : {std::string("Content-Type: application/json"), "X-Hostform-Event: " + d.event,
                               "X-Hostform-Signature-256: sha256=" + hmacSha256Hex(secret_, d.body),
                               std::string("Expect:")})
    list = curl_slist_append(list, h.c_str());
  const Handle<curl_slist, curl_slist_free_all> headers(list);
  char error[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, urls_[d.url].c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, d.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "hostform/" HOSTFORM_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(tuning_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(tuning_.timeout.count(), 5000)));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  // A transfer still running when the drain at exit ends is abandoned.
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, +[](void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Notifier*>(self)->pastDrain() ? 1 : 0;
  });
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    // curl's messages name the host and port at most, never the URL's
    // credentials; the URL itself is replaced should one quote it.
    std::string why = *error ? error : curl_easy_strerror(code);
    const std::string& url = urls_[d.url];
    for (std::size_t at = why.find(url); at != std::string::npos; at = why.find(url, at + shown_[d.url].size()))
      why.replace(at, url.size(), shown_[d.url]);
    return why;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return {};
  retry = status == 429 || status >= 500;
  return "the receiver answered HTTP " + std::to_string(status);
}

}  // namespace hostform::watch
