#include "reconciler/watch/events.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <spdlog/spdlog.h>

#include "reconciler/log.h"

namespace hostform::watch {

using Clock = std::chrono::steady_clock;

EventLoop::EventLoop(std::function<void(std::string_view, std::size_t)> onEvents,
                     std::function<void(const std::string&)> onBurst, Coalescing coalescing)
    : onEvents_(std::move(onEvents)), onBurst_(std::move(onBurst)), coalescing_(coalescing) {
  wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

EventLoop::~EventLoop() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
  thread_.join();
  sources_.clear();
  if (wake_ >= 0) ::close(wake_);
}

void EventLoop::add(const std::string& key, std::unique_ptr<EventSource> source) {
  {
    std::lock_guard lock(mutex_);
    sources_[key] = std::move(source);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
}

void EventLoop::retain(const std::set<std::string>& keys) {
  std::vector<std::unique_ptr<EventSource>> closing;  // closed without the lock (libvirt's joins its loop)
  {
    std::lock_guard lock(mutex_);
    for (auto it = sources_.begin(); it != sources_.end();)
      if (keys.contains(it->first)) {
        ++it;
      } else {
        spdlog::debug("events: closing the {} source, no longer needed", it->first);
        closing.push_back(std::move(it->second));
        it = sources_.erase(it);
      }
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
}

bool EventLoop::has(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return sources_.contains(key);
}

void EventLoop::run() {
  bool inBurst = false;
  Clock::time_point first{}, last{};  // of the burst in progress
  std::map<std::string, std::size_t, std::less<>> burst;
  std::vector<pollfd> fds;
  std::vector<EventSource*> polled;
  while (!stopping_) {
    fds.assign(1, pollfd{wake_, POLLIN, 0});
    polled.clear();
    {
      std::lock_guard lock(mutex_);
      for (auto& [key, source] : sources_) {
        fds.push_back(pollfd{source->fd(), POLLIN, 0});
        polled.push_back(source.get());
      }
    }
    int timeout = -1;
    if (inBurst) {
      const auto due = std::min(last + coalescing_.quiet, first + coalescing_.longest);
      timeout = static_cast<int>(
          std::max<long long>(0, std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count()));
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      logWith(spdlog::level::err, std::string("events: poll failed: ") + std::strerror(errno) +
                                      "; drift is corrected at the interval only",
              nlohmann::json::object());
      return;
    }
    if (stopping_) return;
    if (ready > 0 && (fds[0].revents & POLLIN)) {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t n = ::read(wake_, &count, sizeof count);
    }
    // Reported after the lock is released: the callbacks take locks of their
    // own (the metrics'), and no lock of ours may be held around them.
    std::vector<std::pair<std::string, std::size_t>> counted;
    if (ready > 0) {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
        // The list may have changed since poll: only a source still open is drained.
        auto it = std::find_if(sources_.begin(), sources_.end(),
                               [&](const auto& s) { return s.second.get() == polled[i - 1]; });
        if (it == sources_.end()) continue;
        auto changes = it->second->drain();
        if (!changes) {
          logWith(spdlog::level::warn,
                  "events: " + changes.error().message + " Running a cycle; the source is opened again then.",
                  {{"source", std::string(it->second->name())}});
          burst[std::string(it->second->name())] += 0;
          sources_.erase(it);
        } else if (*changes > 0) {
          counted.emplace_back(it->second->name(), *changes);
          burst[std::string(it->second->name())] += *changes;
        } else {
          continue;
        }
        const auto now = Clock::now();
        if (!inBurst) first = now;
        inBurst = true;
        last = now;
      }
    }
    for (const auto& [source, n] : counted) onEvents_(source, n);
    if (inBurst && Clock::now() >= std::min(last + coalescing_.quiet, first + coalescing_.longest)) {
      std::string what;
      for (const auto& [source, n] : burst) what += (what.empty() ? "" : ", ") + source + ": " + std::to_string(n);
      burst.clear();
      inBurst = false;
      onBurst_(what);
    }
  }
}

}  // namespace hostform::watch
