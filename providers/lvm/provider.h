#pragma once
/// The LVM provider: VolumeGroup, LogicalVolume and the Snapshots of logical
/// volumes through the lvm2 tools.
/// observe() runs one `lvm fullreport` (observe.h); plan() decides from that
/// report (and blkid for devices about to become PVs) and hands apply a typed
/// delta (plan.h); apply() runs the delta as lvm commands (apply.h). The
/// provider holds only its backends: everything one observe read, and what
/// the plans made from it asked of the devices, lives in its LvmSnapshot.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "providers/lvm/device.h"
#include "providers/lvm/observe.h"
#include "providers/lvm/session.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

class LvmProvider final : public Provider {
 public:
  /// `devices` null: the host's (stat + blkid); `commands` null: the host's
  /// lvm, and then apply runs the lvm commands of each volume group through one
  /// lvm shell (ShellCommands, session.h). Given `commands` (a recorder in
  /// tests) take every command, one call each.
  explicit LvmProvider(std::unique_ptr<DeviceProbe> devices = nullptr, std::unique_ptr<Commands> commands = nullptr,
                       std::chrono::milliseconds timeout = std::chrono::minutes(2));
  /// Ends the lvm shells of apply.
  ~LvmProvider() override;

  std::string_view name() const override { return "lvm"; }
  std::vector<Kind> kinds() const override { return {kinds::VolumeGroup, kinds::LogicalVolume, kinds::Snapshot}; }
  /// Snapshots of logical volumes only (kvm serves those of volumes and VMs).
  bool serves(const Resource& r) const override;

  Result<Observation> observe() override;
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  /// The VG: lvm locks per VG, and LVs of different VGs may be created at once.
  std::string serialKey(const Action& action) const override;
  /// Sizes, free space and thin pools' fill (status.h), from the snapshot.
  std::vector<StatusFact> status(const Resource& desired, const Observed* live, const Snapshot& host) override;
  /// Every thin pool's data% and metadata% (status.h).
  std::vector<Gauge> gauges(const Snapshot& host) const override;
  /// lvconvert --merge (plan.h planSnapshotRestore).
  std::optional<RestorePlan> planRestore(const Observed& snapshot, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> restore(const Observed& snapshot, const RestorePlan& plan, const Snapshot& host,
                       const ApplyContext& ctx) override;
  /// A poll of the VGs' metadata sequence numbers every options.pollInterval
  /// (events.h), through the host's lvm: lvm has no notifications.
  Result<std::unique_ptr<EventSource>> events(const EventOptions& options) override;

 private:
  /// Where the actions of serial key `key` (a VG) send their commands: its
  /// ShellCommands when shells are on, else commands_.
  Commands& commandsFor(const std::string& key);
  /// The command profile's name once it is in lvm's profile directory, ""
  /// when it could not be written there (then every command is a process).
  const std::string& shellProfile();

  bool shells_ = false;  ///< commands_ is the host's: batch through lvm shells (before commands_: set first)
  std::unique_ptr<DeviceProbe> devices_;
  std::unique_ptr<Commands> commands_;
  std::chrono::milliseconds timeout_;
  std::mutex sessionsMutex_;
  std::optional<std::string> shellProfile_;
  std::map<std::string, std::unique_ptr<ShellCommands>> sessions_;
};

}  // namespace hostform::lvm
