#pragma once
/// `watch --notify URL`: outgoing webhooks (docs/watch.md "Notifications").
/// Each event is POSTed as JSON to every URL, signed with
///   X-Hostform-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>
/// from a thread of its own with a bounded queue, so a slow or dead receiver
/// never delays a cycle. A delivery is retried on connection errors, 429 and
/// 5xx, with exponential backoff (1 s, 2 s, 4 s: four attempts); any other
/// answer but 2xx fails it at once. The secret, and a URL's user, password
/// and query, never reach a log.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reconciler/result.h"

namespace hostform::watch {

/// The URL as logs show it: scheme, host, port and path, without the user,
/// password, query and fragment (any of which may hold a credential).
std::string redactUrl(const std::string& url);

/// `--notify URL`: an http:// or https:// URL with a host. The error shows
/// the URL redacted.
Result<void> checkNotifyUrl(const std::string& url);

struct NotifierTuning {
  int attempts = 4;                                 ///< the first try and three retries
  std::chrono::milliseconds firstDelay{1000};       ///< before the first retry; doubled for each next one
  std::chrono::milliseconds timeout{10'000};        ///< one attempt, connecting included
  std::size_t queueLimit = 64;                      ///< deliveries waiting; the oldest is dropped past it
  std::chrono::milliseconds drain{10'000};          ///< at exit, how long queued deliveries still get
};

class Notifier {
 public:
  /// `counted(delivered)` is called once per event and URL when it is
  /// delivered or has failed for good (hostform_watch_notifications_total).
  Notifier(std::vector<std::string> urls, std::string secret, std::function<void(bool delivered)> counted,
           NotifierTuning tuning = {});
  /// Gives queued deliveries up to `tuning.drain` (so `--once` still notifies),
  /// then abandons the rest (counted as failed) and joins the thread.
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// Queues `body` (JSON) for every URL; never blocks. `event` names it in
  /// logs and in the X-Hostform-Event header.
  void post(const std::string& event, const std::string& body);

 private:
  struct Delivery {
    std::size_t url;  ///< index into urls_
    std::string event, body;
  };
  void run();
  void deliver(const Delivery& d);
  /// One POST: empty when delivered; otherwise why, and whether to retry.
  std::string attempt(const Delivery& d, bool& retry);
  /// Waits `delay`; false when the watcher stops and the wait would outlast the drain.
  bool backoff(std::chrono::milliseconds delay);
  bool pastDrain();

  std::vector<std::string> urls_, shown_;
  std::string secret_;
  std::function<void(bool)> counted_;
  NotifierTuning tuning_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Delivery> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drainUntil_{};
  std::thread thread_;
};

}  // namespace hostform::watch
