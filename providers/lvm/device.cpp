#include "providers/lvm/device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include "providers/lvm/session.h"
#include "reconciler/handle.h"

namespace hostform::lvm {
namespace {

/// "TYPE=ext4\nUSAGE=filesystem\n" -> {TYPE: ext4, USAGE: filesystem}
std::map<std::string, std::string> exportPairs(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (auto eq = line.find('='); eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

constexpr std::chrono::seconds kProbeTimeout{30};

/// One value of `lvm config --typeconfig full SECTION/KEY`: `KEY=VALUE`, the
/// value unquoted; empty when lvm prints none.
Result<std::string> lvmConfig(const std::string& key) {
  auto run = runCommand({"lvm", "config", "--typeconfig", "full", key}, kProbeTimeout);
  if (!run) return hostform::unexpected(run.error());
  if (run->exitCode != 0) return fail("lvm config " + key + " failed: " + failureText(run->err) + ".");
  std::string out = run->out;
  const auto eq = out.find('=');
  if (eq == std::string::npos) return std::string();
  out = out.substr(eq + 1);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (out.size() >= 2 && out.front() == '"' && out.back() == '"') out = out.substr(1, out.size() - 2);
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The kernel module of a device-mapper target.
std::string moduleOf(const std::string& target) {
  if (target == "thin-pool" || target == "thin") return "dm-thin-pool";
  if (target == "snapshot" || target == "snapshot-origin" || target == "snapshot-merge") return "dm-snapshot";
  return "dm-" + target;
}

}  // namespace

std::optional<std::string> HostDeviceProbe::thinUnsupported() {
  // lvm creates thin pools only with activation, which needs the kernel's
  // device-mapper driver and its thin-pool target, global/activation on in
  // the lvm.conf it reads, and thin_check, which it runs before it activates
  // a pool.
  const Activation a = activation();
  if (a.state != Activation::State::On) return a.why + ", and lvm2 needs it to create thin pools";
  if (auto missing = targetMissing("thin-pool")) return *missing;
  auto check = lvmConfig("global/thin_check_executable");
  if (check && !check->empty() && ::access(check->c_str(), X_OK) != 0)
    return "lvm2 runs " + *check + " (global/thin_check_executable) before it activates a thin pool, and it is not "
           "installed (thin-provisioning-tools)";
  return std::nullopt;
}

Activation HostDeviceProbe::activation() {
  using enum Activation::State;
  auto on = lvmConfig("global/activation");
  if (!on) return {NoDriver, "lvm cannot be run (" + on.error().message + ")"};
  if (*on == "0")
    return {Off, "activation is off in the lvm.conf lvm reads (global/activation = 0): lvm writes metadata only"};
  auto version = runCommand({"lvm", "version"}, kProbeTimeout);
  if (!version) return {NoDriver, "lvm cannot be run (" + version.error().message + ")"};
  if (version->out.find("Driver version:") == std::string::npos)
    return {NoDriver, "the kernel has no device-mapper driver (lvm version reports none" +
                          std::string(readFile("/proc/misc").find("device-mapper") == std::string::npos
                                          ? "; /proc/misc lists no device-mapper"
                                          : "") +
                          ")"};
  return {};
}

std::optional<std::string> HostDeviceProbe::targetMissing(const std::string& target) {
  // Loaded targets first; lvm loads a missing one with modprobe, which works
  // when the kernel has it built in or as an installed module.
  if (auto loaded = runCommand({"dmsetup", "targets"}, kProbeTimeout); loaded && loaded->exitCode == 0) {
    std::size_t start = 0;
    const std::string& out = loaded->out;
    while (start < out.size()) {
      std::size_t end = out.find('\n', start);
      if (end == std::string::npos) end = out.size();
      const std::string line = out.substr(start, end - start);
      if (line.substr(0, line.find_first_of(" \t")) == target) return std::nullopt;
      start = end + 1;
    }
  }
  struct utsname uts {};
  if (::uname(&uts) != 0) return "cannot tell whether the kernel has the device-mapper " + target + " target";
  const std::string modules = std::string("/lib/modules/") + uts.release;
  const std::string module = moduleOf(target);
  std::string underscored = module;
  std::ranges::replace(underscored, '-', '_');
  for (const char* list : {"/modules.builtin", "/modules.dep"}) {
    const std::string text = readFile(modules + list);
    for (const std::string& name : {module, underscored})
      if (text.find("/" + name + ".ko") != std::string::npos) return std::nullopt;
  }
  return "the kernel has no device-mapper " + target + " target (dmsetup targets does not list it, and " + modules +
         " has no " + module + " module)";
}

std::optional<std::string> HostDeviceProbe::mountPoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return std::nullopt;
  const std::string want = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  std::istringstream lines(readFile("/proc/self/mountinfo"));
  std::string line;
  // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": the third
  // field is the device, the fifth the mount point.
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mountPoint;
    if (fields >> id >> parent >> device >> root >> mountPoint && device == want) return mountPoint;
  }
  return std::nullopt;
}

Result<std::string> HostDeviceProbe::profileDir() {
  auto dir = lvmConfig("config/profile_dir");
  if (!dir) return dir;
  if (dir->empty()) return fail("lvm config names no config/profile_dir.");
  return dir;
}

std::optional<std::string> HostDeviceProbe::toolMissing(const std::string& tool) {
  if (!findTool(tool).empty()) return std::nullopt;
  return tool + " is not installed (not found in $PATH, /usr/sbin or /sbin)";
}

std::optional<std::string> HostDeviceProbe::snapshotUnsupported() {
  // lvm makes and merges snapshots only with activation ("Can't create
  // snapshot without using device-mapper kernel driver").
  const Activation a = activation();
  if (a.state != Activation::State::On) return a.why + ", and lvm2 needs it to make and merge snapshots";
  return targetMissing("snapshot");
}

Result<DeviceInfo> HostDeviceProbe::probe(const std::string& path) {
  DeviceInfo info;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return info;
  info.exists = true;
  info.blockDevice = S_ISBLK(st.st_mode);
  if (!info.blockDevice) return info;

  if (const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); fd) {
    std::uint64_t bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) == 0) info.size = bytes;
  }

  auto run = runCommand({"blkid", "-p", "-o", "export", path}, std::chrono::seconds(30));
  if (!run) return hostform::unexpected(run.error());
  // blkid exits 2 when it finds nothing, 0 when it found a signature.
  if (run->exitCode == 2) return info;
  if (run->exitCode != 0)
    return fail("blkid -p " + path + " failed (exit " + std::to_string(run->exitCode) + "): " +
                failureText(run->err) + ".");
  auto pairs = exportPairs(run->out);
  if (auto t = pairs.find("TYPE"); t != pairs.end()) {
    auto usage = pairs.find("USAGE");
    info.signature = t->second + (usage != pairs.end() ? " (" + usage->second + ")" : std::string());
  } else if (auto pt = pairs.find("PTTYPE"); pt != pairs.end()) {
    info.signature = pt->second + " (partition table)";
  } else {
    info.signature = "an unrecognised signature";  // blkid found something it cannot name
  }
  return info;
}

Result<DeviceInfo> ProbeMemo::probe(DeviceProbe& backend, const std::string& path) {
  std::lock_guard guard(mutex_);
  auto it = seen_.find(path);
  if (it == seen_.end()) it = seen_.emplace(path, backend.probe(path)).first;
  return it->second;
}

std::optional<std::string> ProbeMemo::snapshotUnsupported(DeviceProbe& backend) {
  std::lock_guard guard(mutex_);
  if (!snapshot_) snapshot_ = backend.snapshotUnsupported();
  return *snapshot_;
}

std::optional<std::string> ProbeMemo::thinUnsupported(DeviceProbe& backend) {
  std::lock_guard guard(mutex_);
  if (!thin_) thin_ = backend.thinUnsupported();
  return *thin_;
}

Activation ProbeMemo::activation(DeviceProbe& backend) {
  std::lock_guard guard(mutex_);
  if (!activation_) activation_ = backend.activation();
  return *activation_;
}

std::optional<std::string> ProbeMemo::targetMissing(DeviceProbe& backend, const std::string& target) {
  std::lock_guard guard(mutex_);
  auto it = targets_.find(target);
  if (it == targets_.end()) it = targets_.emplace(target, backend.targetMissing(target)).first;
  return it->second;
}

Result<std::string> ProbeMemo::profileDir(DeviceProbe& backend) {
  std::lock_guard guard(mutex_);
  if (!profileDir_) profileDir_ = backend.profileDir();
  return *profileDir_;
}

std::optional<std::string> ProbeMemo::toolMissing(DeviceProbe& backend, const std::string& tool) {
  std::lock_guard guard(mutex_);
  auto it = tools_.find(tool);
  if (it == tools_.end()) it = tools_.emplace(tool, backend.toolMissing(tool)).first;
  return it->second;
}

}  // namespace hostform::lvm
