#pragma once
/// The LVM provider's verdicts: a declared VG or LV against lvm's report, with
/// every refusal of docs/spec.md §4 decided here, before anything runs (plan is honest).

#include <optional>
#include <string>

#include "providers/lvm/device.h"
#include "providers/lvm/report.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

/// What plan checks may consult besides the manifests.
struct PlanInputs {
  const LvmState& state;
  DeviceProbe& devices;  ///< also says whether lvm can make thin volumes here
};

/// `size` rounded up to whole extents, as lvcreate and lvextend round it.
Bytes roundToExtents(Bytes size, Bytes extentSize);

/// The extent size `vg` has on the host, else the one it is declared with,
/// else lvm's default (4MiB).
Bytes extentSizeOf(const std::string& vg, const PlanContext& ctx, const LvmState& state);

/// A VolumeGroup: immutable extent size, PVs to add (they must exist, be
/// blank or `force`d, and not belong to another VG) or remove (only empty ones).
Diff planVolumeGroup(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

/// A LogicalVolume: immutable type and pool, size rounded to extents (growth
/// is a change, shrink is data loss, a thin pool cannot shrink), free space.
Diff planLogicalVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

/// Deleting a live VG or LV: impossible while a volume group or thin pool still
/// holds volumes this run will not delete (made by hand, another owner's,
/// still declared, or of a layout hostform does not manage); otherwise it
/// loses the LVs the VG holds, or the LV's size.
Deletion deletionOf(const Observed& live, const LvmState& state, const PlanContext& ctx);

}  // namespace hostform::lvm
