#pragma once
/// The KVM provider's part of kind Snapshot (volume and virtualMachine
/// sources): reading hostform's snapshots into KvmState, planning, deleting,
/// applying, status and restore, on the primitives of providers/kvm/snapshot.h.

#include <filesystem>
#include <string>
#include <vector>

#include "providers/kvm/plan.h"
#include "providers/kvm/snapshot.h"
#include "providers/kvm/state.h"
#include "reconciler/kinds/snapshot.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

/// Whether the kvm provider serves `r`: every kind but Snapshot, and a
/// Snapshot of a volume or a virtual machine.
bool servesResource(const Resource& r);

/// Fills state.snapshots, state.domainSnapshotNames and
/// state.volumeSnapshotRecords: every libvirt snapshot of every domain (the
/// marked ones are hostform's), and the recorded volume snapshots found in
/// their images (qemu-img info per recorded volume; only when `local`).
Result<void> readSnapshots(virConnectPtr conn, bool local, const std::filesystem::path& stateDir, KvmState& state);

/// The Snapshot objects of state.snapshots.
std::vector<Observed> snapshotObjects(const KvmState& state);

/// What apply does for one Snapshot action.
struct SnapshotDelta {
  std::string name;
  std::optional<VolumeRef> volume;  ///< a volume snapshot: pool and volume
  std::string path;                 ///< the volume's file
  std::string domain;               ///< a domain snapshot
  bool external = false;
};

/// A volume's snapshot before a loss (docs/spec.md §4): its file kept, whole,
/// as the frozen file <volume>@<snapshot> of a before-loss snapshot, instead
/// of deleted. Deletion::delta (and Action::delta of the delete).
struct KeepVolume {
  std::string pool, volume, path, snapshot;
};
/// The keep a deletion of `volume` gets, or why none can be had (in `whyNot`).
std::optional<KeepVolume> keepVolumePlan(const VolumeInfo& volume, const KvmState& state, bool local,
                                         std::string& whyNot);
/// What the plan says of it.
SnapshotFirst keepVolumeShown(const KeepVolume& keep);
/// Renames the file, records the snapshot (owner `owner` as its safety mark) and refreshes the pool.
Result<void> keepVolume(const KeepVolume& keep, virConnectPtr conn, const std::filesystem::path& stateDir,
                        const std::string& owner);

Diff planSnapshot(const Resource& desired, const Observed* live, const PlanContext& ctx, const PlanInputs& in);
Deletion snapshotDeletion(const Observed& live, const PlanContext& ctx, const KvmState& state, bool local);
Result<void> applySnapshot(const Action& a, const ApplyContext& ctx, virConnectPtr conn, const KvmState& state,
                           const std::filesystem::path& stateDir);
std::vector<StatusFact> snapshotStatus(const SnapshotInfo& snapshot, const KvmState& state, bool local);
RestorePlan planSnapshotRestore(const Observed& live, const PlanContext& ctx, const KvmState& state, bool local);
Result<void> restoreSnapshot(const RestorePlan& plan, virConnectPtr conn, const std::filesystem::path& stateDir);

}  // namespace hostform::kvm
