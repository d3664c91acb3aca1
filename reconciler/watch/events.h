#pragma once
/// The watcher's event thread (docs/watch.md Events): it polls the providers'
/// EventSources and turns each burst of changes into one request for a cycle.
///
///   netlink socket ─┐
///   libvirt eventfd ├─► poll ─► drain ─► burst over? ─► onBurst() (Watcher::request(Trigger::Event))
///   lvm poll timer ─┘
///
/// A burst ends after `quiet` without a further change, or `longest` after
/// its first change, whichever is sooner: creating a bridge with ten ports is
/// one cycle, and a steady trickle still gets one every `longest`.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "reconciler/provider.h"

namespace hostform::watch {

struct Coalescing {
  std::chrono::milliseconds quiet{75};
  std::chrono::milliseconds longest{250};
};

class EventLoop {
 public:
  /// `onEvents(source, n)`: n relevant changes arrived from `source` (for the
  /// metrics). `onBurst(what)`: a burst is over, `what` says from where
  /// ("netlink: 3, lvm: 1"). Both run on the loop's thread.
  EventLoop(std::function<void(std::string_view, std::size_t)> onEvents, std::function<void(const std::string&)> onBurst,
            Coalescing coalescing = {});
  /// Stops the thread and closes every source.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Polls `source` from now on, under `key` (the provider's name).
  void add(const std::string& key, std::unique_ptr<EventSource> source);
  /// Closes the sources whose key is not in `keys` (kinds no longer declared).
  void retain(const std::set<std::string>& keys);
  /// Whether a source is open under `key`; one whose drain() failed is closed.
  bool has(const std::string& key) const;

 private:
  void run();

  std::function<void(std::string_view, std::size_t)> onEvents_;
  std::function<void(const std::string&)> onBurst_;
  Coalescing coalescing_;
  mutable std::mutex mutex_;  ///< sources_; held by the loop while it drains, never while it polls
  std::map<std::string, std::unique_ptr<EventSource>> sources_;
  int wake_ = -1;  ///< an eventfd: the list changed, or stop
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace hostform::watch
