#pragma once
/// `hostform status` of VolumeGroups and LogicalVolumes, from the fullreport
/// the observe read (report.h): pure, so captured reports test it.

#include <cstdint>
#include <vector>

#include "providers/lvm/report.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

/// VolumeGroup: size and free. LogicalVolume: size; a thin pool also
/// dataPercent and metadataPercent ("unknown" when lvm cannot say, as
/// without device-mapper). `id` not in `state`: state absent.
std::vector<StatusFact> statusOf(const ResourceId& id, const LvmState& state);

/// A declared Snapshot of an LV: state present (invalid when a thick snapshot
/// overflowed), age (lv_time to `now`), used (snap_percent of a thick
/// snapshot's space, data_percent of a thin one's virtual size), origin.
std::vector<StatusFact> snapshotStatusOf(const Resource& desired, const LvmState& state, std::int64_t now);

}  // namespace hostform::lvm
