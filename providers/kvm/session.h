#pragma once
/// The KVM provider's backend session: the one libvirt connection of a run,
/// and the RAII wrappers that own every libvirt handle.
///
/// Every libvirt object hostform holds is a unique_ptr with the matching
/// vir*Free as its deleter, so no path (error, exception, early return) leaks a
/// reference. Errors are taken from libvirt's thread-local last error, never
/// printed by libvirt itself.

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <memory>
#include <mutex>
#include <vector>
#include <string>

#include "reconciler/handle.h"
#include "reconciler/result.h"

namespace hostform::kvm {

using ConnectHandle = Handle<virConnect, virConnectClose>;
using DomainHandle = Handle<virDomain, virDomainFree>;
using PoolHandle = Handle<virStoragePool, virStoragePoolFree>;
using VolumeHandle = Handle<virStorageVol, virStorageVolFree>;
using CString = Handle<char, ::free>;  // NOLINT(cppcoreguidelines-no-malloc)

/// libvirt's message for the last failed call on this thread.
std::string lastError();
/// fail("<what>: <libvirt's message>").
hostform::unexpected<Error> libvirtFailure(const std::string& what);

/// Takes ownership of a libvirt-allocated string; empty for null.
std::string takeString(char* s);

/// A list returned by a virConnectListAll*-style call, each element owned.
template <class Handle, class Raw>
std::vector<Handle> adoptList(Raw* list, int count) {
  std::vector<Handle> out;
  if (count <= 0 || !list) {
    free(list);  // NOLINT(cppcoreguidelines-no-malloc)
    return out;
  }
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) out.emplace_back(list[i]);
  free(list);  // NOLINT(cppcoreguidelines-no-malloc)
  return out;
}

/// The URI a run connects to: --libvirt-uri, else $LIBVIRT_DEFAULT_URI, else qemu:///system.
std::string resolveUri(const std::string& flag);

/// One libvirt connection, opened on first use and shared by every executor
/// thread (libvirt connections are thread-safe).
class Connection {
 public:
  explicit Connection(std::string uri) : uri_(std::move(uri)) {}
  const std::string& uri() const { return uri_; }
  /// Opens the connection if needed; the error names the URI.
  Result<virConnectPtr> get();
  /// True when the URI names this host (no remote host part): local paths can be checked.
  bool local() const;

 private:
  std::string uri_;
  std::mutex mutex_;
  ConnectHandle conn_;
};

}  // namespace hostform::kvm
