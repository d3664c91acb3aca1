#pragma once
/// The LVM provider's verdicts: a declared VG or LV against lvm's report, with
/// every refusal of docs/spec.md §4 decided here, before anything runs (plan is
/// honest), and what apply is to do decided here too, as a typed delta
/// (Diff::delta): apply runs it as lvm commands and decides nothing itself.

#include <optional>
#include <string>
#include <vector>

#include "providers/lvm/device.h"
#include "providers/lvm/report.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

/// What plan checks may consult besides the manifests.
struct PlanInputs {
  const LvmState& state;
  DeviceProbe& devices;  ///< also says whether lvm can make thin volumes and snapshots here
  /// Now, for the names of snapshots taken before a loss
  /// (<lv>-before-YYYYMMDDTHHMMSS, UTC) and snapshots' ages.
  std::int64_t now = 0;
};

/// A snapshot taken before a loss (docs/spec.md §4): a thin snapshot of a thin
/// LV, tagged hostform_safety_<owner>, never an ownership tag.
struct SafetySnapshot {
  std::string volumeGroup;
  std::string origin;  ///< the LV it is a snapshot of
  std::string name;    ///< the snapshot LV's name
};

/// A delete of an LV (Deletion::delta): the snapshot to take first, if any.
struct LogicalVolumeDeletion {
  std::optional<SafetySnapshot> snapshotFirst;
};

/// A Snapshot's create: lvcreate -s of `origin`, thick with `size` or thin.
struct SnapshotDelta {
  std::string volumeGroup;
  std::string origin;
  bool thin = false;
  Bytes size = 0;  ///< thick: the copy-on-write size rounded up to extents
};

/// `hostform restore` of an LVM snapshot: lvconvert --merge of vg/name; or,
/// for a snapshot taken before its origin was deleted, lvrename to the
/// origin's name and the safety tag taken off.
struct RestoreDelta {
  std::string volumeGroup;
  std::string name;
  std::optional<std::string> renameTo;
  std::string safetyTag;  ///< with renameTo: the tag to take off
};

/// A VolumeGroup's delta: the devices it gains and loses. Its create and its
/// update carry one; an update that only adopts the VG carries none.
struct VolumeGroupDelta {
  /// The devices vgcreate makes the VG of, or vgextend adds, in manifest order.
  std::vector<std::string> add;
  /// Those of `add` lvm does not report as physical volumes: pvcreate first.
  std::vector<std::string> initialise;
  /// pvcreate --yes: lvm may wipe the signatures the plan accepted (spec.force).
  /// Without it lvm refuses, so a signature that appeared since the plan is
  /// never destroyed.
  bool force = false;
  /// Update: empty physical volumes vgreduce takes out, then pvremove wipes,
  /// after `add` (the plan checked that they hold no extents).
  std::vector<std::string> remove;
};

/// A LogicalVolume's delta: its size. Its create carries one, and an update
/// that resizes it; an update that only adopts the LV carries none.
struct LogicalVolumeDelta {
  enum class Resize { Extend, Reduce };
  /// Create: lvcreate's -L (-V for a thin volume), rounded up to the live
  /// VG's extents; as declared for a VG the same apply creates first, which
  /// lvcreate rounds up to the extent size the VG is made with (the one the
  /// plan rounded to). Update: the new size, rounded up to the VG's extents.
  Bytes size = 0;
  /// Update: lvextend, or lvreduce -f (the data-loss gate has already asked).
  Resize resize = Resize::Extend;
  /// Reduce: the snapshot taken before lvreduce.
  std::optional<SafetySnapshot> snapshotFirst;
};

/// `size` rounded up to whole extents, as lvcreate and lvextend round it.
Bytes roundToExtents(Bytes size, Bytes extentSize);

/// The extent size `vg` has on the host, else the one it is declared with,
/// else lvm's default (4MiB).
Bytes extentSizeOf(const std::string& vg, const PlanContext& ctx, const LvmState& state);

/// A VolumeGroup: immutable extent size, PVs to add (they must exist, be
/// blank or `force`d, and not belong to another VG) or remove (only empty
/// ones); its delta is a VolumeGroupDelta.
Diff planVolumeGroup(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

/// A LogicalVolume: immutable type and pool, size rounded to extents (growth
/// is a change, shrink is data loss, a thin pool cannot shrink), free space;
/// its delta is a LogicalVolumeDelta.
Diff planLogicalVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

/// Deleting a live VG or LV: impossible while a volume group or thin pool still
/// holds volumes this run will not delete (made by hand, another owner's,
/// still declared, or of a layout hostform does not manage); otherwise it
/// loses the LVs the VG holds, or the LV's size.
Deletion deletionOf(const Observed& live, const LvmState& state, const PlanContext& ctx, PlanInputs in);

/// A Snapshot of a logical volume: thick (spec.size, at most the origin's
/// size, space in the VG) of a linear LV, thin (no size) of a thin LV, never of
/// a thin pool; lvm must be able to make snapshots here; a live one never
/// changes. Its delta is a SnapshotDelta.
Diff planSnapshot(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

/// `hostform restore` of a live LVM snapshot: lvconvert --merge.
RestorePlan planSnapshotRestore(const Observed& snapshot, PlanInputs in);

/// The name of a snapshot of `lv` taken before a loss at `now`, not yet used in `vg`.
std::string safetySnapshotName(const std::string& vg, const std::string& lv, std::int64_t now, const LvmState& state);

/// "1h2m3s" since `created`, or "an unknown time" when lvm did not say.
std::string ageText(std::optional<std::int64_t> created, std::int64_t now);

}  // namespace hostform::lvm
