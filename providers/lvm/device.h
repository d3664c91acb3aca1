#pragma once
/// What a block device holds before hostform makes it a physical volume: does
/// it exist, how big is it, does it carry a file system or partition table.
/// An interface, so plan tests can describe devices without creating them.

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
};

/// The real host: stat, BLKGETSIZE64 and `blkid -p` (low-level probing, which
/// reads the device itself rather than blkid's cache).
class HostDeviceProbe final : public DeviceProbe {
 public:
  Result<DeviceInfo> probe(const std::string& path) override;
};

}  // namespace hostform::lvm
