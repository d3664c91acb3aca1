#include "providers/lvm/device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>

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

}  // namespace

namespace {

/// Why lvm cannot activate anything here, for the messages below to end; nullopt when it can.
struct Blocked {
  std::string why;
  bool configured = false;  ///< activation = 0 in lvm.conf (the kernel could)
  bool unrunnable = false;  ///< lvm itself did not run
};

std::optional<Blocked> activationBlocked() {
  // lvm activates only with the kernel's device-mapper driver ("Driver
  // version" in `lvm version`) and global/activation on in the lvm.conf it reads.
  constexpr std::chrono::seconds kTimeout{30};
  auto version = runCommand({"lvm", "version"}, kTimeout);
  auto activation = runCommand({"lvm", "config", "--typeconfig", "full", "global/activation"}, kTimeout);
  if (!version || !activation)
    return Blocked{"lvm cannot be run (" + (version ? activation.error().message : version.error().message) + ")",
                   false, true};
  if (version->out.find("Driver version:") == std::string::npos)
    return Blocked{"the kernel has no device-mapper driver (lvm version reports none)"};
  if (activation->out.find("activation=0") != std::string::npos)
    return Blocked{"activation is off in the lvm.conf lvm reads (global/activation = 0)", true};
  return std::nullopt;
}

}  // namespace

std::optional<std::string> HostDeviceProbe::thinUnsupported() {
  auto b = activationBlocked();
  if (!b) return std::nullopt;
  if (b->unrunnable) return b->why;
  return b->why + ", and lvm2 needs it to " + (b->configured ? "create" : "activate") + " thin pools";
}

std::optional<std::string> HostDeviceProbe::snapshotUnsupported() {
  auto b = activationBlocked();
  if (!b) return std::nullopt;
  if (b->unrunnable) return b->why;
  return b->why + ", and lvm2 needs it to make and merge snapshots";
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

}  // namespace hostform::lvm
