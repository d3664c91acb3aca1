#include "providers/kvm/session.h"

#include <libvirt/virterror.h>

#include <cstdlib>

namespace hostform::kvm {
namespace {

/// libvirt prints every error to stderr unless told otherwise; hostform reports
/// them itself, with context, once.
void quiet(void*, virErrorPtr) {}

void installQuietHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    virInitialize();
    virSetErrorFunc(nullptr, quiet);
  });
}

}  // namespace

std::string lastError() {
  const char* message = virGetLastErrorMessage();
  return message && *message ? message : "unknown libvirt error";
}

hostform::unexpected<Error> libvirtFailure(const std::string& what) { return fail(what + ": " + lastError()); }

std::string takeString(char* s) {
  CString owned(s);
  return s ? std::string(s) : std::string();
}

std::string resolveUri(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LIBVIRT_DEFAULT_URI"); env && *env) return env;
  return "qemu:///system";
}

Result<virConnectPtr> Connection::get() {
  installQuietHandler();
  std::lock_guard guard(mutex_);
  if (conn_) return conn_.get();
  conn_.reset(virConnectOpen(uri_.c_str()));
  if (!conn_)
    return fail("cannot connect to libvirt at " + uri_ + ": " + lastError() +
                " (is libvirtd running? choose another URI with --libvirt-uri)");
  return conn_.get();
}

bool Connection::local() const {
  // driver[+transport]://[user@][host][:port]/path — local when the host part is empty.
  auto scheme = uri_.find("://");
  if (scheme == std::string::npos) return true;
  auto rest = uri_.substr(scheme + 3);
  return rest.empty() || rest.front() == '/';
}

}  // namespace hostform::kvm
