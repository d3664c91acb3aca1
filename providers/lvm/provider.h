#pragma once
/// The LVM provider: VolumeGroup and LogicalVolume through the lvm2 tools.
/// observe() runs one `lvm fullreport`; plan() decides from that report (and
/// blkid for devices about to become PVs); apply() runs lvm commands.

#include <chrono>
#include <memory>
#include <mutex>

#include "providers/lvm/session.h"
#include "providers/lvm/device.h"
#include "providers/lvm/report.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

class LvmProvider final : public Provider {
 public:
  /// `devices` null: the host's (stat + blkid); `commands` null: the host's lvm.
  explicit LvmProvider(std::unique_ptr<DeviceProbe> devices = nullptr, std::unique_ptr<Commands> commands = nullptr,
                       std::chrono::milliseconds timeout = std::chrono::minutes(2));

  std::string_view name() const override { return "lvm"; }
  std::vector<Kind> kinds() const override { return {kinds::VolumeGroup, kinds::LogicalVolume}; }

  Result<Observation> observe() override;
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  /// The VG: lvm locks per VG, and LVs of different VGs may be created at once.
  std::string serialKey(const Action& action) const override;

  /// What observe() returns for `state` (tests of plan on a fixture).
  Observation adopt(LvmState state);

 private:
  std::unique_ptr<DeviceProbe> devices_;
  std::unique_ptr<Commands> commands_;
  std::chrono::milliseconds timeout_;
};

/// The LVM provider's snapshot: lvm's full report.
struct LvmSnapshot final : Snapshot {
  explicit LvmSnapshot(LvmState s) : state(std::move(s)) {}
  LvmState state;
};

}  // namespace hostform::lvm
