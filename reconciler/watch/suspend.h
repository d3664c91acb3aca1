#pragma once
/// Suspending a watcher (docs/watch.md "Suspend"): the flag file
/// `<stateDir>/suspended`. While it exists, whatever it holds (even nothing),
/// every watcher on that state directory fetches, validates and plans, but
/// applies nothing and corrects no drift. `hostform suspend` writes it as JSON
/// ({"at", "reason", "who"}), `hostform resume` deletes it; an operator may
/// also create and delete it by hand.
///
/// A running watcher reads the flag at each cycle, and watches the state
/// directory with inotify (FlagWatcher) so that a suspend or a resume runs a
/// cycle at once rather than at the next interval.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "reconciler/handle.h"
#include "reconciler/result.h"

namespace hostform::watch {

/// The flag file's name in the state directory.
inline constexpr const char* kSuspendFlag = "suspended";

struct Suspension {
  std::string at;      ///< RFC 3339 UTC: the file's "at", else its modification time
  std::string reason;  ///< the file's "reason", or the first line of a file that is not JSON; may be empty
  std::string who;     ///< the file's "who"; empty when written by hand
};

/// The flag in `stateDir`; nullopt when there is none. Never fails: a flag
/// that exists but cannot be read or parsed still suspends (its content only
/// explains).
std::optional<Suspension> readSuspension(const std::filesystem::path& stateDir);

/// `hostform suspend`: writes the flag atomically unless one is there already.
/// Returns the line to print.
Result<std::string> suspend(const std::filesystem::path& stateDir, const std::string& reason);

/// `hostform resume`: deletes the flag if there is one. Returns the line to print.
Result<std::string> resume(const std::filesystem::path& stateDir);

/// Calls `changed` on its own thread when the flag file in `stateDir` is
/// created, replaced or deleted (inotify on the directory). When inotify is
/// unavailable it logs a warning and does nothing: the watcher then notices
/// the flag at its next interval.
class FlagWatcher {
 public:
  FlagWatcher(const std::filesystem::path& stateDir, std::function<void()> changed);
  /// Stops the thread and joins it.
  ~FlagWatcher();
  FlagWatcher(const FlagWatcher&) = delete;
  FlagWatcher& operator=(const FlagWatcher&) = delete;

 private:
  void run();

  std::function<void()> changed_;
  UniqueFd inotify_;
  UniqueFd stop_;  ///< an eventfd: written to stop the thread
  std::thread thread_;
};

}  // namespace hostform::watch
