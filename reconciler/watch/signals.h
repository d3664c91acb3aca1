#pragma once
/// Signals for a long-running command: each one caught is handed to a
/// callback on an ordinary thread (the handler itself only writes the signal
/// number into a pipe), so the callback may lock, log and notify freely.
/// Handlers, not a blocked signal mask: child processes the providers start
/// inherit a mask, and must still be killable.

#include <functional>
#include <initializer_list>
#include <thread>
#include <vector>

#include <signal.h>

namespace hostform::watch {

class SignalListener {
 public:
  /// Installs handlers for `signals`; `onSignal` runs on the listener's thread.
  /// One listener at a time per process.
  SignalListener(std::initializer_list<int> signals, std::function<void(int)> onSignal);
  /// Restores the previous handlers and joins the thread.
  ~SignalListener();
  SignalListener(const SignalListener&) = delete;
  SignalListener& operator=(const SignalListener&) = delete;

 private:
  std::vector<std::pair<int, struct sigaction>> previous_;
  std::function<void(int)> onSignal_;
  std::thread thread_;
};

}  // namespace hostform::watch
