#pragma once
/// The LVM provider: VolumeGroup and LogicalVolume through the lvm2 tools.
/// observe() runs one `lvm fullreport`; plan() decides from that report (and
/// blkid for devices about to become PVs); apply() runs lvm commands.

#include <chrono>
#include <memory>
#include <mutex>

#include "providers/lvm/command.h"
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
  std::vector<Kind> kinds() const override { return {Kind::VolumeGroup, Kind::LogicalVolume}; }

  Result<std::vector<Observed>> observe() override;
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  /// The VG: lvm locks per VG, and LVs of different VGs may be created at once.
  std::string serialKey(const Action& action) const override;

  /// Uses `state` as if observe() had read it (tests of plan on a fixture).
  std::vector<Observed> adopt(LvmState state);

 private:
  std::shared_ptr<const LvmState> snapshot() const;

  std::unique_ptr<DeviceProbe> devices_;
  std::unique_ptr<Commands> commands_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::shared_ptr<const LvmState> state_ = std::make_shared<LvmState>();
};

}  // namespace hostform::lvm
