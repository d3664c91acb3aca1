#include "providers/kvm/events.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>

#include "providers/kvm/session.h"

namespace hostform::kvm {
namespace {

/// libvirt's default event loop, registered once per process: registering it
/// twice would leave two loops, and connections already open keep the first.
Result<void> registerEventLoop() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] { result = virEventRegisterDefaultImpl(); });
  if (result < 0) return fail("cannot start libvirt's event loop: " + lastError());
  return {};
}

class LibvirtEvents final : public EventSource {
 public:
  explicit LibvirtEvents(int eventFd) : eventFd_(eventFd) {}

  ~LibvirtEvents() override {
    if (virConnectPtr conn = conn_) {
      if (domainCallback_ >= 0) virConnectDomainEventDeregisterAny(conn, domainCallback_);
      if (poolCallback_ >= 0) virConnectStoragePoolEventDeregisterAny(conn, poolCallback_);
      virConnectUnregisterCloseCallback(conn, onClose);
    }
    connection_.reset();  // closed while the loop still runs: a remote connection unregisters its socket on it
    if (loop_.joinable()) {
      stopping_ = true;
      // A timer due now wakes the loop out of its poll, so it sees stopping_.
      const int wake = virEventAddTimeout(0, onWake, nullptr, nullptr);
      loop_.join();
      if (wake >= 0) virEventRemoveTimeout(wake);
    }
    ::close(eventFd_);
  }

  std::string_view name() const override { return "libvirt"; }
  int fd() const override { return eventFd_; }

  Result<std::size_t> drain() override {
    std::uint64_t count = 0;
    if (::read(eventFd_, &count, sizeof count) < 0) {
      if (errno != EAGAIN && errno != EINTR)
        return fail(std::string("cannot read libvirt's events: ") + std::strerror(errno) + ".");
      count = 0;
    }
    if (closed_) return fail("the libvirt event connection to " + uri_ + " closed.");
    return static_cast<std::size_t>(count);
  }

  Result<void> open(const std::string& uri) {
    uri_ = uri;
    loop_ = std::thread([this] {
      while (!stopping_)
        if (virEventRunDefaultImpl() < 0) break;
    });
    connection_ = std::make_unique<Connection>(uri);
    auto conn = connection_->get();
    if (!conn) return hostform::unexpected(conn.error());
    conn_ = *conn;
    domainCallback_ = virConnectDomainEventRegisterAny(*conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                       VIR_DOMAIN_EVENT_CALLBACK(onDomain), this, nullptr);
    if (domainCallback_ < 0) return libvirtFailure("cannot subscribe to libvirt's domain events at " + uri);
    poolCallback_ = virConnectStoragePoolEventRegisterAny(*conn, nullptr, VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                                                          VIR_STORAGE_POOL_EVENT_CALLBACK(onPool), this, nullptr);
    if (poolCallback_ < 0) return libvirtFailure("cannot subscribe to libvirt's storage pool events at " + uri);
    // Best effort: drivers without a close notion (test://) refuse it.
    if (virConnectRegisterCloseCallback(*conn, onClose, this, nullptr) < 0) virResetLastError();
    return {};
  }

 private:
  void notify() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(eventFd_, &one, sizeof one);  // only fails when the counter is full
  }
  static int onDomain(virConnectPtr, virDomainPtr, int /*event*/, int /*detail*/, void* self) {
    static_cast<LibvirtEvents*>(self)->notify();
    return 0;
  }
  static void onPool(virConnectPtr, virStoragePoolPtr, int /*event*/, int /*detail*/, void* self) {
    static_cast<LibvirtEvents*>(self)->notify();
  }
  static void onClose(virConnectPtr, int /*reason*/, void* self) {
    auto* events = static_cast<LibvirtEvents*>(self);
    events->closed_ = true;
    events->notify();
  }
  static void onWake(int /*timer*/, void*) {}

  int eventFd_;
  std::string uri_;
  std::thread loop_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> closed_{false};
  std::unique_ptr<Connection> connection_;
  virConnectPtr conn_ = nullptr;  ///< connection_'s, once open
  int domainCallback_ = -1;
  int poolCallback_ = -1;
};

}  // namespace

Result<std::unique_ptr<EventSource>> openLibvirtEvents(const std::string& uri) {
  if (auto loop = registerEventLoop(); !loop) return hostform::unexpected(loop.error());
  const int eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventFd < 0) return fail(std::string("cannot create an eventfd for libvirt's events: ") + std::strerror(errno) + ".");
  auto events = std::make_unique<LibvirtEvents>(eventFd);
  if (auto opened = events->open(uri); !opened) return hostform::unexpected(opened.error());
  return std::unique_ptr<EventSource>(std::move(events));
}

}  // namespace hostform::kvm
