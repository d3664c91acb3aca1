#include "providers/kvm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <iostream>

#include <pugixml.hpp>

#include "providers/kvm/session.h"
#include "reconciler/module.h"
#include "reconciler/provider.h"

namespace hostform::kvm {
namespace {

using StreamHandle = Handle<virStream, virStreamFree>;

/// The terminal `fd` in raw mode (each key as typed, no echo, no signals from
/// Ctrl+C: they go to the guest) until destroyed: every way out restores it.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!isatty(fd_) || tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(fd_, TCSAFLUSH, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  bool active() const { return active_; }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

/// SIGTERM, SIGHUP and SIGINT end the session through the event loop (a
/// self-pipe), so the terminal is restored; SIGPIPE is ignored, so a closed
/// output is an error of write().
int signalPipe[2] = {-1, -1};
extern "C" void onSignal(int) {
  const char byte = 0;
  [[maybe_unused]] auto n = ::write(signalPipe[1], &byte, 1);
}

class SignalGuard {
 public:
  SignalGuard() {
    if (::pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &saved_[i]);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &savedPipe_);
    installed_ = true;
  }
  ~SignalGuard() {
    if (!installed_) return;
    for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &saved_[i], nullptr);
    sigaction(SIGPIPE, &savedPipe_, nullptr);
    ::close(signalPipe[0]);
    ::close(signalPipe[1]);
    signalPipe[0] = signalPipe[1] = -1;
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  int fd() const { return installed_ ? signalPipe[0] : -1; }

 private:
  static constexpr int kSignals[] = {SIGTERM, SIGHUP, SIGINT};
  struct sigaction saved_[std::size(kSignals)] {};
  struct sigaction savedPipe_ {};
  bool installed_ = false;
};

/// One attached console, driven by libvirt's event loop.
struct Session {
  virDomainPtr domain = nullptr;
  virStreamPtr stream = nullptr;
  int in = -1, out = -1;
  std::string toGuest;  ///< typed, not yet accepted by the stream
  bool done = false;
  int exitCode = 0;
  std::string error;

  void finish(int code, std::string message = {}) {
    if (done) return;
    done = true;
    exitCode = code;
    error = std::move(message);
  }

  void updateStreamEvents() {
    int events = VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
    if (!toGuest.empty()) events |= VIR_STREAM_EVENT_WRITABLE;
    virStreamEventUpdateCallback(stream, events);
  }

  /// The stream failed or hung up: the guest stopping closes its console, which
  /// is the normal end; anything else while it still runs is an error.
  void streamEnded(const std::string& what) {
    if (virDomainIsActive(domain) == 1) finish(1, what);
    else finish(0);
  }
};

bool writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {  // an output someone made non-blocking
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void onStream(virStreamPtr stream, int events, void* opaque) {
  auto& s = *static_cast<Session*>(opaque);
  if (s.done) return;
  if (events & VIR_STREAM_EVENT_READABLE) {
    char buffer[4096];
    for (;;) {
      const int got = virStreamRecv(stream, buffer, sizeof buffer);
      if (got == -2) break;  // nothing more for now
      if (got == 0) return s.finish(0);  // end of stream: the console closed
      if (got < 0) return s.streamEnded("cannot read the console: " + lastError());
      if (!writeAll(s.out, buffer, static_cast<std::size_t>(got)))
        return s.finish(1, std::string("cannot write the console's output: ") + std::strerror(errno));
    }
  }
  if ((events & VIR_STREAM_EVENT_WRITABLE) && !s.toGuest.empty()) {
    const int sent = virStreamSend(stream, s.toGuest.data(), s.toGuest.size());
    if (sent == -1) return s.streamEnded("cannot write to the console: " + lastError());
    if (sent > 0) s.toGuest.erase(0, static_cast<std::size_t>(sent));
  }
  if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) return s.streamEnded("the console stream failed");
  s.updateStreamEvents();
}

void onInput(int /*watch*/, int fd, int events, void* opaque) {
  auto& s = *static_cast<Session*>(opaque);
  if (s.done) return;
  if (events & VIR_EVENT_HANDLE_READABLE) {
    char buffer[1024];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      return s.finish(1, std::string("cannot read the input: ") + std::strerror(errno));
    }
    if (got == 0) return s.finish(0);  // the input ended: detach, as virsh does
    const char* end = buffer + got;
    const char* escape = static_cast<const char*>(std::memchr(buffer, kConsoleEscape, static_cast<std::size_t>(got)));
    s.toGuest.append(static_cast<const char*>(buffer), escape ? escape : end);
    if (escape) {
      // What was typed before the escape key still reaches the guest if the stream takes it now.
      if (!s.toGuest.empty()) virStreamSend(s.stream, s.toGuest.data(), s.toGuest.size());
      return s.finish(0);
    }
    s.updateStreamEvents();
    return;
  }
  if (events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR)) s.finish(0);
}

void onSignalPipe(int, int fd, int, void* opaque) {
  char drain[16];
  while (::read(fd, drain, sizeof drain) > 0) {
  }
  static_cast<Session*>(opaque)->finish(0);
}

/// Whether the live definition has a serial port or a console to attach to.
bool hasConsole(virDomainPtr domain) {
  const std::string xml = takeString(virDomainGetXMLDesc(domain, 0));
  pugi::xml_document doc;
  if (!doc.load_string(xml.c_str())) return true;  // cannot tell: let libvirt say
  auto devices = doc.child("domain").child("devices");
  return devices.child("serial") || devices.child("console");
}

}  // namespace

int attachConsole(const std::string& uriFlag, const std::string& name, int in, int out, std::ostream& err) {
  // The event loop must exist before the connection, which registers its keepalive on it.
  if (virEventRegisterDefaultImpl() < 0) {
    err << "error: cannot start libvirt's event loop: " << lastError() << "\n";
    return 1;
  }
  Connection connection(resolveUri(uriFlag));
  auto conn = connection.get();
  if (!conn) {
    err << "error: " << conn.error().message << "\n";
    return 1;
  }
  DomainHandle domain(virDomainLookupByName(*conn, name.c_str()));
  if (!domain) {
    if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
      err << "error: there is no VM named " << name << " (libvirt at " << connection.uri() << ").\n";
    else
      err << "error: cannot look up the VM " << name << ": " << lastError() << "\n";
    return 1;
  }
  if (virDomainIsActive(domain.get()) != 1) {
    err << "error: the VM " << name << " is not running; its console exists only while it runs.\n";
    return 1;
  }
  if (!hasConsole(domain.get())) {
    err << "error: the VM " << name
        << " has no serial console (no <serial> or <console> device in its definition); nothing to attach to.\n";
    return 1;
  }
  StreamHandle stream(virStreamNew(*conn, VIR_STREAM_NONBLOCK));
  if (!stream) {
    err << "error: cannot open a stream to libvirt: " << lastError() << "\n";
    return 1;
  }
  if (virDomainOpenConsole(domain.get(), nullptr, stream.get(), 0) < 0) {
    err << "error: cannot open the console of the VM " << name << ": " << lastError() << "\n";
    return 1;
  }

  Session session;
  session.domain = domain.get();
  session.stream = stream.get();
  session.in = in;
  session.out = out;
  if (virStreamEventAddCallback(stream.get(),
                                VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP,
                                onStream, &session, nullptr) < 0) {
    err << "error: cannot watch the console stream: " << lastError() << "\n";
    virStreamAbort(stream.get());
    return 1;
  }
  const int inputWatch = virEventAddHandle(in, VIR_EVENT_HANDLE_READABLE, onInput, &session, nullptr);
  if (inputWatch < 0) {
    err << "error: cannot watch the input: " << lastError() << "\n";
    virStreamEventRemoveCallback(stream.get());
    virStreamAbort(stream.get());
    return 1;
  }
  SignalGuard signals;
  const int signalWatch =
      signals.fd() >= 0 ? virEventAddHandle(signals.fd(), VIR_EVENT_HANDLE_READABLE, onSignalPipe, &session, nullptr)
                        : -1;

  {
    // Raw before the banner, so the banner means every key now goes to the
    // guest; a raw terminal no longer turns "\n" into "\r\n" by itself.
    RawTerminal raw(in);
    const char* newline = raw.active() ? "\r\n" : "\n";
    // One write: std::cerr is unbuffered, and a reader must never see half a banner.
    err << ("Connected to domain '" + name + "'" + newline + "Escape character is ^] (Ctrl + ])" + newline);
    err.flush();
    while (!session.done)
      if (virEventRunDefaultImpl() < 0) session.finish(1, "libvirt's event loop failed: " + lastError());
  }

  if (signalWatch >= 0) virEventRemoveHandle(signalWatch);
  virEventRemoveHandle(inputWatch);
  virStreamEventRemoveCallback(stream.get());
  virStreamAbort(stream.get());  // a console stream has no orderly end to wait for
  if (!session.error.empty()) err << "error: " << session.error << "\n";
  return session.exitCode;
}

// The kvm module's `hostform console` (registered by registration.cpp).
int consoleCommand(const ProviderOptions& options, const std::string& name) {
  return attachConsole(options.libvirtUri, name, STDIN_FILENO, STDOUT_FILENO, std::cerr);
}
HOSTFORM_MODULE_ENTRY("kvm", "console", static_cast<ProviderCommandRun*>(&consoleCommand));

}  // namespace hostform::kvm
