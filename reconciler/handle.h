#pragma once
/// Ownership of what C libraries and the kernel hand out: one template for
/// handles freed by a function (libnl, libgit2, libvirt, libc), one class for
/// file descriptors. Both close on every path and move, never copy.

#include <unistd.h>

#include <memory>
#include <utility>

namespace hostform {

/// Calls `Free` on a non-null pointer: `Handle<nl_sock, nl_socket_free>`.
template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Free(p);
  }
};

/// A pointer owned together with the C function that frees it.
template <class T, auto Free>
using Handle = std::unique_ptr<T, FreeWith<Free>>;

/// A file descriptor, closed when the owner goes (or by close(), which tells
/// whether the kernel accepted the close: a lost write shows there).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives the descriptor up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the descriptor held, if any, and holds `fd`.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  /// Closes now; false when close(2) failed.
  bool close() noexcept { return fd_ < 0 || ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_ = -1;
};

}  // namespace hostform
