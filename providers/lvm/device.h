#pragma once
/// What plan checks ask of the host besides lvm's report: what a block device
/// holds before hostform makes it a physical volume (does it exist, how big is
/// it, does it carry a file system or partition table), and whether lvm can
/// make thin volumes here. An interface, so plan tests can describe a host
/// without having it.

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "reconciler/result.h"
#include "reconciler/units.h"

namespace hostform::lvm {

struct DeviceInfo {
  bool exists = false;
  bool blockDevice = false;
  Bytes size = 0;
  /// What blkid found: "ext4 (filesystem)", "gpt (partition table)"; empty: nothing.
  std::string signature;
};

class DeviceProbe {
 public:
  virtual ~DeviceProbe() = default;
  /// Looks at `path` without writing to it. An error only when the look itself
  /// failed (blkid missing or crashed); a missing device is a normal answer.
  virtual Result<DeviceInfo> probe(const std::string& path) = 0;
  /// Why lvm2 cannot create thin pools and thin volumes on this host (no
  /// device-mapper driver, or activation off in lvm.conf); nullopt when it can.
  virtual std::optional<std::string> thinUnsupported() = 0;
  /// Why lvm2 cannot create (or merge) snapshots on this host; nullopt when it
  /// can. lvm needs device-mapper and activation for those just as for thin
  /// pools ("Can't create snapshot without using device-mapper kernel
  /// driver"), so by default the same answer.
  virtual std::optional<std::string> snapshotUnsupported() { return thinUnsupported(); }
};

/// The real host: stat, BLKGETSIZE64 and `blkid -p` (low-level probing, which
/// reads the device itself rather than blkid's cache).
class HostDeviceProbe final : public DeviceProbe {
 public:
  Result<DeviceInfo> probe(const std::string& path) override;
  /// lvm's own answer: `lvm version` names a device-mapper driver, and
  /// `lvm config` has global/activation on (LVM_SYSTEM_DIR honoured).
  std::optional<std::string> thinUnsupported() override;
  std::optional<std::string> snapshotUnsupported() override;
};

/// What a DeviceProbe answered for the plans of one observe, kept in that
/// observe's snapshot (LvmSnapshot::probes) rather than in the provider, so an
/// answer never outlives the observe it belongs to: blkid once per device (the
/// free-space check of every LV of a new VG asks about the same devices), and
/// lvm's thin support once, only when a plan creates a thin volume.
class ProbeMemo {
 public:
  /// `backend`'s answer for `path`, asked the first time only.
  Result<DeviceInfo> probe(DeviceProbe& backend, const std::string& path);
  /// `backend`'s answer, asked the first time only.
  std::optional<std::string> thinUnsupported(DeviceProbe& backend);
  std::optional<std::string> snapshotUnsupported(DeviceProbe& backend);

 private:
  std::mutex mutex_;  ///< held while the backend is asked: one blkid per device, even from several plans
  std::map<std::string, Result<DeviceInfo>> seen_;
  std::optional<std::optional<std::string>> thin_, snapshot_;
};

/// The provider's backend remembered in a snapshot's memo: what one plan asks
/// through PlanInputs::devices.
class MemoizedProbe final : public DeviceProbe {
 public:
  MemoizedProbe(DeviceProbe& backend, ProbeMemo& memo) : backend_(backend), memo_(memo) {}
  Result<DeviceInfo> probe(const std::string& path) override { return memo_.probe(backend_, path); }
  std::optional<std::string> thinUnsupported() override { return memo_.thinUnsupported(backend_); }
  std::optional<std::string> snapshotUnsupported() override { return memo_.snapshotUnsupported(backend_); }

 private:
  DeviceProbe& backend_;
  ProbeMemo& memo_;
};

}  // namespace hostform::lvm
