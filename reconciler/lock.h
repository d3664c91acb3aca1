#pragma once
/// One writer per host (docs/spec.md §4): `apply` holds an exclusive flock on
/// `<stateDir>/lock` for its whole run, `watch` for each cycle that applies.
/// The kernel drops the lock when the process dies, so a crash never leaves a
/// stale lock behind.

#include <chrono>
#include <filesystem>
#include <string_view>

#include "reconciler/handle.h"
#include "reconciler/result.h"

namespace hostform {

class StateLock {
 public:
  /// Takes the lock, creating `stateDir` and the lock file if missing, and
  /// writes this process's pid into the file. `wait` zero: fails at once when
  /// another process holds it; otherwise retries until `wait` has passed.
  /// The error names the holder's pid when it is known, and ends with
  /// `whenBusy`, the advice for the user.
  ///
  /// `fileName` picks another lock file in `stateDir`: `watch` holds
  /// "watch.lock" for its lifetime (one watcher per state directory) and
  /// "lock" only while it plans and applies.
  static Result<StateLock> acquire(
      const std::filesystem::path& stateDir, std::chrono::milliseconds wait, std::string_view fileName = "lock",
      std::string_view whenBusy = "wait for it to finish, or pass --lock-timeout to wait for it");

  StateLock(StateLock&& other) noexcept = default;
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  /// Releases the lock.
  ~StateLock();

  const std::filesystem::path& path() const { return path_; }

 private:
  StateLock(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  void release() noexcept;

  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace hostform
