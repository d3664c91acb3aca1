#pragma once
/// Free-space accounting for a plan: can a VG hold everything the manifests
/// grow in it? Counted in extents, as lvm allocates.

#include <cstdint>
#include <optional>
#include <string>

#include "providers/lvm/plan.h"

namespace hostform::lvm {

/// Extents `lv` needs on top of what it already holds (0 for shrinks, thin
/// volumes and unchanged sizes). A new thin pool also needs its metadata LV
/// and, for the VG's first pool, lvm's spare metadata LV: both estimated as
/// lvm2 sizes them by default (data/1024, 2MiB to 128MiB).
std::uint64_t growthInExtents(const Resource& lv, const Observed* live, Bytes extentSize, const LvmState& state);

/// Extents `vg` will have free once its declared PVs are in: lvm's vg_free_count
/// for a live VG plus the new devices' extents, or all declared devices' for a
/// VG still to create (device size less lvm's default 1MiB data offset).
std::uint64_t freeExtentsOf(const std::string& vg, Bytes extentSize, const PlanContext& ctx, PlanInputs in);

/// A problem when the declared LVs of `lv`'s VG, taken in identity order up to
/// and including `lv`, need more extents than the VG has free.
std::optional<Diff::Problem> checkFreeSpace(const Resource& lv, const Observed* live, const PlanContext& ctx,
                                            PlanInputs in);

/// A problem when a thick snapshot of `size` does not fit in `vg` once every
/// declared LV of `vg` has grown.
std::optional<Diff::Problem> checkSnapshotSpace(const std::string& vg, Bytes size, const PlanContext& ctx,
                                                PlanInputs in);

}  // namespace hostform::lvm
