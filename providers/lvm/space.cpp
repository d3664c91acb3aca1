#include "providers/lvm/space.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <vector>

namespace hostform::lvm {
namespace {

/// lvm2's default data offset of a new PV (pe_start): the first 1MiB holds the
/// label and metadata area.
constexpr Bytes kDefaultDataStart = 1 * MiB;

std::uint64_t extentsOf(Bytes size, Bytes extentSize) { return roundToExtents(size, extentSize) / extentSize; }

/// lvm2's default thin-pool metadata size: 64 bytes per 64KiB chunk
/// (data/1024), at least 2MiB; past 128MiB lvm picks larger chunks instead.
Bytes thinMetadataEstimate(Bytes dataSize) { return std::clamp<Bytes>(dataSize / 1024, 2 * MiB, 128 * MiB); }

bool hasSpareMetadata(const std::string& vg, const LvmState& state) {
  return std::ranges::any_of(state.logicalVolumes, [&](const LogicalVolumeInfo& lv) {
    return lv.volumeGroup == vg && lv.hidden && lv.name.ends_with("_pmspare");
  });
}

bool sameDevice(const std::string& a, const std::string& b) { return a == b || canonicalDevice(a) == canonicalDevice(b); }

/// One declared LV and the extents it and every LV of its VG before it (in
/// identity order) grow by.
struct GrowthSoFar {
  ResourceId id;
  std::uint64_t extents = 0;
};
using DeclaredGrowth = std::unordered_map<std::string, std::vector<GrowthSoFar>>;

/// Running sums of growth per VG, built once per plan: checking each LV against
/// its VG's free space is then a lookup, not a pass over every LV.
std::shared_ptr<const DeclaredGrowth> declaredGrowth(const PlanContext& ctx, const LvmState& state) {
  return ctx.memo<DeclaredGrowth>("lvm.declaredGrowth", [&] {
    DeclaredGrowth out;
    for (const auto& [id, r] : ctx.desired)
      if (id.kind == kinds::LogicalVolume) out[r->as<LogicalVolumeSpec>().volumeGroup].push_back({id, 0});
    for (auto& [vg, lvs] : out) {
      std::ranges::sort(lvs, {}, &GrowthSoFar::id);
      const Bytes extent = extentSizeOf(vg, ctx, state);
      std::uint64_t sum = 0;
      for (GrowthSoFar& g : lvs) {
        sum += growthInExtents(*ctx.findDesired(g.id), ctx.findObserved(g.id), extent, state);
        g.extents = sum;
      }
    }
    return out;
  });
}

}  // namespace

std::uint64_t growthInExtents(const Resource& lv, const Observed* live, Bytes extentSize, const LvmState& state) {
  const auto& spec = lv.as<LogicalVolumeSpec>();
  if (spec.type == LvType::Thin) return 0;  // thin volumes take their space from the pool
  const std::uint64_t want = extentsOf(spec.size, extentSize);
  if (live) {
    const auto& have = live->resource.as<LogicalVolumeSpec>();
    if (have.type != spec.type) return 0;  // refused as a type change anyway
    const std::uint64_t held = extentsOf(have.size, extentSize);
    return want > held ? want - held : 0;
  }
  std::uint64_t need = want;
  if (spec.type == LvType::ThinPool) {
    const std::uint64_t meta = extentsOf(thinMetadataEstimate(spec.size), extentSize);
    need += hasSpareMetadata(spec.volumeGroup, state) ? meta : 2 * meta;
  }
  return need;
}

std::uint64_t freeExtentsOf(const std::string& vg, Bytes extentSize, const PlanContext& ctx, PlanInputs in) {
  const VolumeGroupInfo* liveVg = in.state.findVolumeGroup(vg);
  std::uint64_t free = liveVg ? liveVg->freeExtents : 0;
  const Resource* declared = ctx.findDesired(ResourceId{kinds::VolumeGroup, "", vg});
  if (!declared) return free;
  for (const std::string& device : declared->as<VolumeGroupSpec>().physicalVolumes) {
    if (liveVg && std::ranges::any_of(liveVg->physicalVolumes, [&](const std::string& pv) { return sameDevice(pv, device); }))
      continue;
    if (const PhysicalVolumeInfo* pv = in.state.findPhysicalVolume(device)) {
      if (pv->volumeGroup.empty() && pv->deviceSize > pv->dataStart)
        free += (pv->deviceSize - pv->dataStart) / extentSize;
      continue;  // in another VG: refused on the VolumeGroup, adds nothing here
    }
    auto info = in.devices.probe(device);
    if (info && info->blockDevice && info->size > kDefaultDataStart)
      free += (info->size - kDefaultDataStart) / extentSize;
  }
  return free;
}

std::optional<Diff::Problem> checkFreeSpace(const Resource& lv, const Observed* live, const PlanContext& ctx,
                                            PlanInputs in) {
  const auto& spec = lv.as<LogicalVolumeSpec>();
  const Bytes extent = extentSizeOf(spec.volumeGroup, ctx, in.state);
  const std::uint64_t own = growthInExtents(lv, live, extent, in.state);
  if (own == 0) return std::nullopt;

  // Every declared LV of the VG, in identity order: the first ones to exceed
  // the free space, and all growing ones after them, are the ones refused.
  const auto growth = declaredGrowth(ctx, in.state);
  const auto& siblings = growth->at(spec.volumeGroup);
  auto at = std::ranges::lower_bound(siblings, lv.id, {}, &GrowthSoFar::id);
  const std::uint64_t needed = at != siblings.end() && at->id == lv.id ? at->extents : own;
  const std::uint64_t free = freeExtentsOf(spec.volumeGroup, extent, ctx, in);
  if (needed <= free) return std::nullopt;
  return Diff::Problem{
      "spec.size",
      "volume group " + spec.volumeGroup + " has " + std::to_string(free) + " free extents of " + formatSize(extent) +
          " (" + formatSize(free * extent) + "), but the declared logical volumes of " + spec.volumeGroup +
          " up to and including this one need " + std::to_string(needed) + " more (" + formatSize(needed * extent) +
          "), " + std::to_string(own) + " of them (" + formatSize(own * extent) + ") for this one."};
}

std::optional<Diff::Problem> checkSnapshotSpace(const std::string& vg, Bytes size, const PlanContext& ctx,
                                                PlanInputs in) {
  const Bytes extent = extentSizeOf(vg, ctx, in.state);
  const std::uint64_t own = extentsOf(size, extent);
  // After every declared LV of the VG has grown: snapshots are made last (rank).
  const auto growth = declaredGrowth(ctx, in.state);
  const auto it = growth->find(vg);
  const std::uint64_t others = it == growth->end() || it->second.empty() ? 0 : it->second.back().extents;
  const std::uint64_t free = freeExtentsOf(vg, extent, ctx, in);
  if (others + own <= free) return std::nullopt;
  return Diff::Problem{"spec.size", "volume group " + vg + " has " + std::to_string(free) + " free extents of " +
                                        formatSize(extent) + " (" + formatSize(free * extent) + "); the declared " +
                                        "logical volumes take " + std::to_string(others) + " and this thick "
                                        "snapshot needs " + std::to_string(own) + " (" + formatSize(own * extent) +
                                        ")."};
}

}  // namespace hostform::lvm
