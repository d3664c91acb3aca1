#pragma once
/// What plan checks ask of the host besides lvm's report: what a block device
/// holds before hostform makes it a physical volume (does it exist, how big is
/// it, does it carry a file system or partition table), and whether lvm can
/// make thin volumes here. An interface, so plan tests can describe a host
/// without having it.

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
};

/// The real host: stat, BLKGETSIZE64 and `blkid -p` (low-level probing, which
/// reads the device itself rather than blkid's cache).
class HostDeviceProbe final : public DeviceProbe {
 public:
  Result<DeviceInfo> probe(const std::string& path) override;
  /// lvm's own answer: `lvm version` names a device-mapper driver, and
  /// `lvm config` has global/activation on (LVM_SYSTEM_DIR honoured).
  std::optional<std::string> thinUnsupported() override;
};

}  // namespace hostform::lvm
