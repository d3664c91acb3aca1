#pragma once
/// One writer per host (SPEC §4): `apply` and `watch` hold an exclusive flock
/// on `<stateDir>/lock` for their whole run. The kernel drops the lock when the
/// process dies, so a crash never leaves a stale lock behind.

#include <chrono>
#include <filesystem>

#include "reconciler/result.h"

namespace hostform {

class StateLock {
 public:
  /// Takes the lock, creating `stateDir` and the lock file if missing, and
  /// writes this process's pid into the file. `wait` zero: fails at once when
  /// another process holds it; otherwise retries until `wait` has passed.
  /// The error names the holder's pid when it is known.
  static Result<StateLock> acquire(const std::filesystem::path& stateDir, std::chrono::milliseconds wait);

  StateLock(StateLock&& other) noexcept;
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  /// Releases the lock.
  ~StateLock();

  const std::filesystem::path& path() const { return path_; }

 private:
  StateLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  void release() noexcept;

  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace hostform
