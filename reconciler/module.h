#pragma once
/// Backends loaded on demand (docs/architecture.md, "Modules").
///
/// The hostform binary links only what every run needs. The code of a backend
/// with heavy libraries — the KVM provider (libvirt, libcurl, libisofs,
/// pugixml, libcrypto) and the watcher (libgit2, libmicrohttpd, gpgme,
/// libcurl, libcrypto) — is a module, `<libdir>/hostform/<name>.so`, opened
/// with dlopen the first time a run calls one of its entries. A module's static
/// initialisers register its entries with HOSTFORM_MODULE_ENTRY; a program
/// that links a module's objects directly (the tests) has them registered
/// already and never opens a file.

#include <string>
#include <string_view>
#include <vector>

#include "reconciler/result.h"

namespace hostform {

/// Any function: an entry is stored as this and cast back to its own type.
using ModuleFunction = void (*)();

/// Registers `function` as `entry` of `module` (HOSTFORM_MODULE_ENTRY).
bool registerModuleEntry(std::string_view module, std::string_view entry, ModuleFunction function);

/// The entry `entry` of `module`, loading the module on first use. The error
/// names the file, what the loader said and the package that provides it.
Result<ModuleFunction> moduleEntry(std::string_view module, std::string_view entry);

/// moduleEntry, typed: `moduleFunction<int(const Options&)>("watch", "run")`.
template <class Signature>
Result<Signature*> moduleFunction(std::string_view module, std::string_view entry) {
  auto f = moduleEntry(module, entry);
  if (!f) return hostform::unexpected(f.error());
  return reinterpret_cast<Signature*>(*f);
}

/// Where modules are looked for, in order: `<dir of the binary>/<the
/// installed libdir relative to bindir>/hostform`, then `<dir of the
/// binary>/modules` (the build tree).
std::vector<std::string> moduleDirectories();

}  // namespace hostform

#define HOSTFORM_MODULE_CONCAT_INNER(a, b) a##b
#define HOSTFORM_MODULE_CONCAT(a, b) HOSTFORM_MODULE_CONCAT_INNER(a, b)
/// Registers a function of this module: HOSTFORM_MODULE_ENTRY("kvm", "provider", &makeProvider).
#define HOSTFORM_MODULE_ENTRY(module, entry, function)                      \
  static const bool HOSTFORM_MODULE_CONCAT(hostform_module_entry_, __LINE__) = \
      ::hostform::registerModuleEntry(module, entry, reinterpret_cast<::hostform::ModuleFunction>(function))
