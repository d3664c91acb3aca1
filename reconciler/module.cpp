#include "reconciler/module.h"

#include <dlfcn.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

namespace hostform {
namespace {

/// What each module is, for its errors: what it serves and the Debian
/// packages of the libraries it needs (the package hostform depends on them).
struct ModuleInfo {
  std::string_view name;
  std::string_view serves;
  std::string_view libraries;
};
constexpr ModuleInfo kModules[] = {
    {"kvm", "the KVM provider: StoragePool, Volume, VirtualMachine, Snapshot and `hostform console`",
     "libvirt0, libcurl4, libisofs6, libpugixml1v5 and libssl3"},
    {"netlink", "the netlink provider: Bridge, Bond, VlanInterface, VxlanInterface",
     "libnl-3-200 and libnl-route-3-200"},
    {"watch", "`hostform watch`, `suspend` and `resume`",
     "libgit2-1.5, libmicrohttpd12, libgpgme11, libcurl4 and libssl3"},
};

const ModuleInfo* infoOf(std::string_view module) {
  for (const ModuleInfo& m : kModules)
    if (m.name == module) return &m;
  return nullptr;
}

struct Registry {
  // Recursive: dlopen runs the module's initialisers, which register entries,
  // while moduleEntry holds the lock.
  std::recursive_mutex mutex;
  std::map<std::string, ModuleFunction, std::less<>> entries;  ///< "module/entry"
  std::map<std::string, std::string, std::less<>> failures;   ///< module → why it did not load
};

Registry& registry() {
  static Registry r;
  return r;
}

std::string key(std::string_view module, std::string_view entry) {
  return std::string(module) + "/" + std::string(entry);
}

/// Opens the module's file; an error sentence when it cannot.
Result<void> load(std::string_view module) {
  const ModuleInfo* info = infoOf(module);
  const std::string what = "the " + std::string(module) + " module (" +
                           std::string(info ? info->serves : std::string_view("unknown")) + ")";
  const std::string reinstall = "It is part of the hostform package: `apt-get install --reinstall hostform` puts it back.";
  std::vector<std::string> tried;
  for (const std::string& dir : moduleDirectories()) {
    const std::string path = dir + "/" + std::string(module) + ".so";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried.push_back(path);
      continue;
    }
    // RTLD_NOW: a missing symbol is an error here, not a crash mid-apply.
    // RTLD_LOCAL: the module's own symbols stay its own.
    // Never closed: its entries are in use until the process ends. Kept so
    // leak checkers see the loader's memory as reachable.
    static std::vector<void*> handles;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      return fail(what + " cannot be loaded: " + (why ? why : path) + ". It needs the Debian packages " +
                  std::string(info ? info->libraries : std::string_view("it was built with")) +
                  ": `apt-get install hostform` installs them.");
    }
    handles.push_back(handle);
    return {};
  }
  std::string list;
  for (const std::string& t : tried) list += (list.empty() ? "" : " or ") + t;
  return fail(what + " is not installed: there is no " + list + ". " + reinstall);
}

}  // namespace

bool registerModuleEntry(std::string_view module, std::string_view entry, ModuleFunction function) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.entries[key(module, entry)] = function;
  return true;
}

Result<ModuleFunction> moduleEntry(std::string_view module, std::string_view entry) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const std::string k = key(module, entry);
  if (auto it = r.entries.find(k); it != r.entries.end()) return it->second;
  if (auto failed = r.failures.find(module); failed != r.failures.end()) return fail(failed->second);
  if (auto loaded = load(module); !loaded) {
    r.failures.emplace(std::string(module), loaded.error().message);
    return hostform::unexpected(loaded.error());
  }
  if (auto it = r.entries.find(k); it != r.entries.end()) return it->second;
  std::string message = "the " + std::string(module) + " module has no entry \"" + std::string(entry) +
                        "\": it belongs to another version of hostform. Reinstall the hostform package.";
  r.failures.emplace(std::string(module), message);
  return fail(message);
}

std::vector<std::string> moduleDirectories() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path dir = ec ? std::filesystem::path(".") : exe.parent_path();
  return {(dir / HOSTFORM_MODULE_RELDIR).lexically_normal().string(), (dir / "modules").string()};
}

}  // namespace hostform
