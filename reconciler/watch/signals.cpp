#include "reconciler/watch/signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace hostform::watch {
namespace {

/// The pipe the handlers write to: [0] read by the listener, [1] written by handlers.
int signalPipe[2] = {-1, -1};

void onSignalCaught(int signo) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signo);
  // Nothing else is async-signal-safe enough; a full pipe only drops a duplicate.
  [[maybe_unused]] const ssize_t n = ::write(signalPipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

SignalListener::SignalListener(std::initializer_list<int> signals, std::function<void(int)> onSignal)
    : onSignal_(std::move(onSignal)) {
  if (::pipe2(signalPipe, O_CLOEXEC) != 0) return;  // without a pipe, signals keep their default action
  for (int signo : signals) {
    struct sigaction action {};
    action.sa_handler = onSignalCaught;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    struct sigaction old {};
    if (::sigaction(signo, &action, &old) == 0) previous_.emplace_back(signo, old);
  }
  thread_ = std::thread([this] {
    for (;;) {
      unsigned char byte = 0;
      const ssize_t n = ::read(signalPipe[0], &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || byte == 0) return;  // 0: the destructor asks to stop
      onSignal_(byte);
    }
  });
}

SignalListener::~SignalListener() {
  for (const auto& [signo, old] : previous_) ::sigaction(signo, &old, nullptr);
  if (thread_.joinable()) {
    const unsigned char stop = 0;
    [[maybe_unused]] const ssize_t n = ::write(signalPipe[1], &stop, 1);
    thread_.join();
  }
  for (int& fd : signalPipe) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

}  // namespace hostform::watch
