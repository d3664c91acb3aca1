#include "reconciler/lock.h"

#include "reconciler/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "reconciler/units.h"

namespace hostform {

namespace {

constexpr std::chrono::milliseconds kPollInterval{50};

std::string lastError() { return std::error_code(errno, std::generic_category()).message(); }

/// The pid the holder wrote; nullopt while it has not written it yet.
std::optional<long> holderPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace

Result<StateLock> StateLock::acquire(const std::filesystem::path& stateDir, std::chrono::milliseconds wait,
                                     std::string_view fileName, std::string_view whenBusy) {
  if (auto made = makeStateDirectory(stateDir); !made) return hostform::unexpected(made.error());
  std::filesystem::path path = stateDir / fileName;

  UniqueFd owned(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!owned) return fail("cannot open the lock file " + path.string() + ": " + lastError() + ".");
  const int fd = owned.get();

  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return fail("cannot lock " + path.string() + ": " + lastError() + ".");
    const auto pid = holderPid(fd);
    if (wait.count() <= 0) {
      return fail(pid ? "another hostform run (pid " + std::to_string(*pid) + ") holds the lock on " + path.string() +
                            "; " + std::string(whenBusy) + "."
                      : "another hostform run holds the lock on " + path.string() + "; " + std::string(whenBusy) + ".");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return fail("timed out after " + formatDuration(wait) + " waiting for the lock on " + path.string() +
                  (pid ? " held by pid " + std::to_string(*pid) + "." : "."));
    }
    // flock has no timed wait; a short poll keeps the deadline without a signal timer.
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
  }

  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return fail("cannot write the pid into the lock file " + path.string() + ": " + lastError() + ".");
  return StateLock(std::move(owned), std::move(path));
}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
    path_ = std::move(other.path_);
  }
  return *this;
}

StateLock::~StateLock() { release(); }

void StateLock::release() noexcept {
  if (!fd_) return;
  // Clear the pid while still holding the lock, so nobody reads a stale one.
  (void)::ftruncate(fd_.get(), 0);
  fd_.reset();
}

}  // namespace hostform
