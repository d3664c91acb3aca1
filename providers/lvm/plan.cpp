#include "providers/lvm/plan.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <unordered_map>

#include "providers/lvm/space.h"
#include "reconciler/kinds/snapshot.h"

namespace hostform::lvm {
namespace {

bool sameDevice(const std::string& a, const std::string& b) { return a == b || canonicalDevice(a) == canonicalDevice(b); }

bool listed(const std::vector<std::string>& devices, const std::string& device) {
  return std::ranges::any_of(devices, [&](const std::string& d) { return sameDevice(d, device); });
}

/// The declared volume groups of each device (by canonical path), built once
/// per plan so that checking every new device stays linear.
using DeclaredDevices = std::unordered_map<std::string, std::vector<ResourceId>>;

std::shared_ptr<const DeclaredDevices> declaredDevices(const PlanContext& ctx) {
  return ctx.memo<DeclaredDevices>("lvm.declaredDevices", [&] {
    DeclaredDevices out;
    for (const auto& [id, r] : ctx.desired)
      if (id.kind == kinds::VolumeGroup)
        for (const std::string& device : r->as<VolumeGroupSpec>().physicalVolumes) {
          auto& vgs = out[canonicalDevice(device)];
          if (std::ranges::find(vgs, id) == vgs.end()) vgs.push_back(id);
        }
    for (auto& [device, vgs] : out) std::ranges::sort(vgs);
    return out;
  });
}

/// Checks a device about to become a PV of `vg` (docs/spec.md §1
/// VolumeGroup). True when it needs pvcreate: lvm does not report it as a PV.
bool checkNewDevice(const std::string& device, const Resource& vg, const PlanContext& ctx, PlanInputs in, Diff& diff) {
  const std::string field = "spec.physicalVolumes";
  const std::string& name = vg.id.name;
  // Two declared VGs must not claim one device.
  const auto devices = declaredDevices(ctx);
  if (auto it = devices->find(canonicalDevice(device)); it != devices->end())
    for (const ResourceId& id : it->second)
      if (id != vg.id)
        diff.problems.push_back({field, "device " + device + " is also declared as a physical volume of " +
                                            id.str() + "; a device can belong to one volume group only."});
  if (const PhysicalVolumeInfo* pv = in.state.findPhysicalVolume(device)) {
    if (!pv->volumeGroup.empty() && pv->volumeGroup != name)
      diff.problems.push_back({field, "device " + device + " already belongs to volume group " + pv->volumeGroup +
                                          "; remove it there first (vgreduce) if it is really free."});
    return false;  // an orphan PV: ready to use, nothing on it to lose
  }
  auto info = in.devices.probe(device);
  if (!info) {
    diff.problems.push_back({field, "cannot check device " + device + ": " + info.error().message});
    return true;
  }
  if (!info->exists) {
    diff.problems.push_back({field, "device " + device + " does not exist."});
    return true;
  }
  if (!info->blockDevice) {
    diff.problems.push_back({field, device + " is not a block device."});
    return true;
  }
  if (info->signature.find("LVM2_member") != std::string::npos) {
    // lvm would have listed it: it is hidden by lvm.conf's filter or a duplicate.
    diff.problems.push_back({field, "device " + device +
                                        " carries an LVM physical volume label that lvm does not report (is it "
                                        "excluded by the devices filter of lvm.conf?); hostform leaves it alone."});
    return true;
  }
  if (!info->signature.empty() && !vg.as<VolumeGroupSpec>().force)
    diff.problems.push_back({field, "device " + device + " is not blank: blkid finds " + info->signature + " on it" +
                                        "; hostform initialises it as a physical volume only with spec.force: true, "
                                        "which destroys what it holds."});
  return true;
}

/// Adds `device` to `vg`'s delta, checked as a new PV.
void addDevice(const std::string& device, const Resource& vg, const PlanContext& ctx, PlanInputs in, Diff& diff,
               VolumeGroupDelta& delta) {
  delta.add.push_back(device);
  if (checkNewDevice(device, vg, ctx, in, diff)) delta.initialise.push_back(device);
}

/// Fills `loss` for a loss of `lv` (vg/name, of `type`) and returns the
/// snapshot to take first: a thin snapshot of a thin LV; none for the others,
/// with the reason in the plan (docs/decisions.md, Snapshots).
std::optional<SafetySnapshot> snapshotBeforeLoss(const std::string& vg, const std::string& name, LvType type,
                                                 bool deleting, const PlanContext& ctx, PlanInputs in,
                                                 LossDetail& loss) {
  if (!ctx.snapshotBeforeLoss) return std::nullopt;
  switch (type) {
    case LvType::Linear:
      loss.noSnapshot = deleting ? "lvremove of a linear LV removes its thick snapshots with it"
                                 : "lvm resizes the origin of a thick snapshot only while it is inactive, and "
                                   "hostform does not deactivate a volume that may be in use";
      return std::nullopt;
    case LvType::ThinPool:
      loss.noSnapshot = "a snapshot would live in the thin pool being deleted";
      return std::nullopt;
    case LvType::Thin: break;
  }
  if (auto why = in.devices.snapshotUnsupported()) {
    loss.noSnapshot = "lvm2 cannot make snapshots on this host: " + *why;
    return std::nullopt;
  }
  SafetySnapshot snap{vg, name, safetySnapshotName(vg, name, in.now, in.state)};
  loss.snapshotFirst = SnapshotFirst{"thin snapshot " + vg + "/" + snap.name, snap.name,
                                     "lvm lvremove -f " + vg + "/" + snap.name};
  return snap;
}

}  // namespace

std::string safetySnapshotName(const std::string& vg, const std::string& lv, std::int64_t now, const LvmState& state) {
  const std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  // LVM names have at most 127 characters; the stamp and a counter must fit.
  const std::string base = lv.substr(0, 127 - 28) + "-before-" + stamp;
  std::string name = base;
  for (int n = 2; state.findLogicalVolume(vg, name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

std::string ageText(std::optional<std::int64_t> created, std::int64_t now) {
  if (!created) return "an unknown time";
  return formatDuration(std::chrono::seconds(std::max<std::int64_t>(0, now - *created)));
}

Bytes roundToExtents(Bytes size, Bytes extentSize) {
  if (extentSize == 0) return size;
  return (size + extentSize - 1) / extentSize * extentSize;
}

Bytes extentSizeOf(const std::string& vg, const PlanContext& ctx, const LvmState& state) {
  if (const VolumeGroupInfo* live = state.findVolumeGroup(vg)) return live->extentSize;
  if (const Resource* declared = ctx.findDesired(ResourceId{kinds::VolumeGroup, "", vg}))
    return declared->as<VolumeGroupSpec>().extentSize;
  return VolumeGroupSpec{}.extentSize;
}

Diff planVolumeGroup(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in) {
  Diff diff;
  const auto& want = desired.as<VolumeGroupSpec>();
  VolumeGroupDelta delta{.force = want.force};
  if (!live) {
    for (const std::string& device : want.physicalVolumes) addDevice(device, desired, ctx, in, diff, delta);
    diff.delta = std::move(delta);
    return diff;
  }
  const auto& have = live->resource.as<VolumeGroupSpec>();
  if (have.extentSize != want.extentSize)
    diff.problems.push_back({"spec.extentSize", "the extent size of volume group " + desired.id.name + " is " +
                                                    formatSize(have.extentSize) + " on the host and " +
                                                    formatSize(want.extentSize) +
                                                    " in the manifest; it cannot be changed after creation."});
  for (const std::string& device : want.physicalVolumes)
    if (!listed(have.physicalVolumes, device)) addDevice(device, desired, ctx, in, diff, delta);
  for (const std::string& device : have.physicalVolumes) {
    if (listed(want.physicalVolumes, device)) continue;
    delta.remove.push_back(device);
    const PhysicalVolumeInfo* pv = in.state.findPhysicalVolume(device);
    if (pv && pv->allocated > 0)
      diff.problems.push_back(
          {"spec.physicalVolumes",
           "physical volume " + device + " holds " + std::to_string(pv->allocated) + " extents (" +
               formatSize(pv->allocated * have.extentSize) + ") of volume group " + desired.id.name +
               "; hostform removes only empty physical volumes and never moves data: move them with pvmove first, "
               "or keep " + device + " in the list."});
  }
  if (delta.add.empty() && delta.remove.empty()) return diff;
  diff.changes.push_back(
      {"physicalVolumes", showList(have.physicalVolumes), showList(want.physicalVolumes), ChangeClass::Live});
  diff.delta = std::move(delta);
  return diff;
}

Diff planLogicalVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in) {
  Diff diff;
  const auto& want = desired.as<LogicalVolumeSpec>();
  const Bytes extent = extentSizeOf(want.volumeGroup, ctx, in.state);
  const Bytes size = roundToExtents(want.size, extent);
  // lvm2 counts an LV's extents in 32 bits ("Volume too large ... Upper limit").
  constexpr std::uint64_t kMaxExtents = 0xFFFFFFFFu;
  if (size / extent > kMaxExtents) {
    diff.problems.push_back({"spec.size", "logical volume " + want.volumeGroup + "/" + desired.id.name + " of " +
                                              formatSize(size) + " needs more than " + std::to_string(kMaxExtents) +
                                              " extents of " + formatSize(extent) +
                                              ", which is lvm2's limit; the largest is " +
                                              formatSize(kMaxExtents * extent) + "."});
    return diff;
  }

  if (!live) {
    if (const LogicalVolumeInfo* other = in.state.findLogicalVolume(want.volumeGroup, desired.id.name))
      diff.problems.push_back({"metadata.name", "logical volume " + want.volumeGroup + "/" + desired.id.name +
                                                    " exists with layout \"" + other->layout +
                                                    "\", which hostform does not manage (only linear, thin-pool "
                                                    "and thin volumes)."});
    if (want.type != LvType::Linear)
      if (auto why = in.devices.thinUnsupported())
        diff.problems.push_back({"spec.type", "lvm2 cannot create a " + std::string(toString(want.type)) +
                                                  " volume on this host: " + *why + "."});
    if (want.type == LvType::Thin && want.thinPool) {
      const ResourceId poolId{kinds::LogicalVolume, want.volumeGroup, *want.thinPool};
      const Observed* pool = ctx.findObserved(poolId);
      if (!ctx.findDesired(poolId) && pool && pool->resource.as<LogicalVolumeSpec>().type != LvType::ThinPool)
        diff.problems.push_back({"spec.thinPool", poolId.str() + " is a " +
                                                      std::string(toString(pool->resource.as<LogicalVolumeSpec>().type)) +
                                                      " volume on the host, not a thin pool."});
    }
    if (auto p = checkFreeSpace(desired, live, ctx, in)) diff.problems.push_back(*p);
    // A VG the same apply creates first is not in the report: lvcreate rounds
    // to the extent size it is made with, which is what `size` was rounded to.
    diff.delta = LogicalVolumeDelta{.size = in.state.findVolumeGroup(want.volumeGroup) ? size : want.size};
    return diff;
  }

  const auto& have = live->resource.as<LogicalVolumeSpec>();
  if (have.type != want.type) {
    diff.problems.push_back({"spec.type", "logical volume " + want.volumeGroup + "/" + desired.id.name + " is " +
                                              std::string(toString(have.type)) + " on the host and " +
                                              std::string(toString(want.type)) +
                                              " in the manifest; the type cannot be changed after creation."});
    return diff;
  }
  if (have.thinPool != want.thinPool)
    diff.problems.push_back({"spec.thinPool", "thin volume " + want.volumeGroup + "/" + desired.id.name +
                                                  " lives in thin pool " + have.thinPool.value_or("(none)") +
                                                  " on the host and " + want.thinPool.value_or("(none)") +
                                                  " in the manifest; a thin volume cannot move to another pool."});
  if (size == have.size) return diff;
  if (size < have.size && want.type == LvType::ThinPool) {
    diff.problems.push_back({"spec.size", "thin pool " + want.volumeGroup + "/" + desired.id.name + " is " +
                                              formatSize(have.size) + " on the host and " + formatSize(size) +
                                              " in the manifest; lvm cannot shrink a thin pool."});
    return diff;
  }
  diff.changes.push_back({"size", formatSize(have.size), formatSize(size), ChangeClass::Live});
  const bool shrink = size < have.size;
  using enum LogicalVolumeDelta::Resize;
  diff.delta = LogicalVolumeDelta{.size = size, .resize = shrink ? Reduce : Extend};
  if (shrink) {
    diff.dataLoss = "shrinking " + desired.id.str() + " from " + formatSize(have.size) + " to " + formatSize(size) +
                    " loses the data beyond " + formatSize(size);
    diff.loss.destroys = have.size - size;
    std::any_cast<LogicalVolumeDelta&>(diff.delta).snapshotFirst =
        snapshotBeforeLoss(want.volumeGroup, desired.id.name, want.type, false, ctx, in, diff.loss);
  } else if (auto p = checkFreeSpace(desired, live, ctx, in))
    diff.problems.push_back(*p);
  return diff;
}

namespace {

std::optional<std::string> deletionLoss(const Observed& live, const LvmState& state) {
  const Resource& r = live.resource;
  if (r.kind() == kinds::Snapshot)
    return "deleting " + r.id.str() + " drops the state of " + r.as<SnapshotSpec>().source.id().str() +
           " it holds";
  if (r.kind() == kinds::LogicalVolume)
    return "deleting " + r.id.str() + " destroys its " + formatSize(r.as<LogicalVolumeSpec>().size) + " of data";
  std::string lvs;
  std::size_t count = 0;
  for (const LogicalVolumeInfo& lv : state.logicalVolumes) {
    if (lv.volumeGroup != r.id.name || lv.hidden) continue;
    lvs += (lvs.empty() ? "" : ", ") + lv.name + " (" + formatSize(lv.size) + ")";
    ++count;
  }
  if (count == 0) return std::nullopt;  // an empty VG holds no data
  return "deleting " + r.id.str() + " destroys its " + std::to_string(count) + " logical volume(s): " + lvs;
}

/// Whether `lv`, a visible LV of the report, goes in this run: pruned as a
/// LogicalVolume or as a Snapshot.
bool pruned(const LogicalVolumeInfo& lv, const PlanContext& ctx) {
  if (lv.snapshot()) {
    const ResourceId id{kinds::Snapshot, "", lv.name};
    const Observed* o = ctx.findObserved(id);
    return o && ctx.prunable(id) && o->resource.as<SnapshotSpec>().source.logicalVolume ==
                                        LogicalVolumeRef{lv.volumeGroup, lv.origin};
  }
  return ctx.prunable(ResourceId{kinds::LogicalVolume, lv.volumeGroup, lv.name});
}

std::vector<Diff::Problem> deletionProblems(const Observed& live, const LvmState& state, const PlanContext& ctx) {
  const Resource& r = live.resource;
  if (r.kind() == kinds::Snapshot) return {};
  const bool vg = r.kind() == kinds::VolumeGroup;
  if (!vg && r.as<LogicalVolumeSpec>().type == LvType::Linear) {
    // lvremove of an origin removes its thick snapshots: never any this run keeps.
    std::string kept;
    for (const LogicalVolumeInfo& lv : state.logicalVolumes)
      if (lv.volumeGroup == r.id.scope && lv.snapshot() && !lv.thinSnapshot() && lv.origin == r.id.name &&
          !pruned(lv, ctx))
        kept += (kept.empty() ? "" : ", ") + lv.name;
    if (kept.empty()) return {};
    return {{"", "logical volume " + r.id.scope + "/" + r.id.name + " is the origin of thick snapshots this run does "
                 "not delete (" + kept + "), and lvremove would remove them with it"}};
  }
  if (!vg && r.as<LogicalVolumeSpec>().type != LvType::ThinPool) return {};
  const std::string& vgName = vg ? r.id.name : r.id.scope;
  // The volumes inside: every visible LV of the VG, or the thin LVs of the pool.
  std::string staying;
  for (const LogicalVolumeInfo& lv : state.logicalVolumes) {
    if (lv.volumeGroup != vgName || lv.hidden || (!vg && lv.pool != r.id.name)) continue;
    // Pruning deletes only undeclared, unreferenced volumes of this owner; anything else stays.
    if (!pruned(lv, ctx))
      staying += (staying.empty() ? "" : ", ") + lv.name + (lv.safetyOwner.empty() ? "" : " (a snapshot taken before a loss)");
  }
  if (staying.empty()) return {};
  return {{"", std::string(vg ? "volume group " : "thin pool ") + (vg ? vgName : vgName + "/" + r.id.name) +
                   " still holds logical volumes this run does not delete (" + staying +
                   "): they are made by hand, owned by another owner, still declared, or used by something declared"}};
}

}  // namespace

Deletion deletionOf(const Observed& live, const LvmState& state, const PlanContext& ctx, PlanInputs in) {
  Deletion d{deletionProblems(live, state, ctx), std::nullopt};
  if (!d.problems.empty()) return d;
  d.dataLoss = deletionLoss(live, state);
  if (!d.dataLoss) return d;
  const Resource& r = live.resource;
  if (r.kind() == kinds::LogicalVolume) {
    const auto& lv = r.as<LogicalVolumeSpec>();
    d.loss.destroys = lv.size;
    d.delta = LogicalVolumeDeletion{snapshotBeforeLoss(lv.volumeGroup, r.id.name, lv.type, true, ctx, in, d.loss)};
  } else if (r.kind() == kinds::VolumeGroup) {
    Bytes held = 0;
    for (const LogicalVolumeInfo& lv : state.logicalVolumes)
      if (lv.volumeGroup == r.id.name && !lv.hidden && !lv.thinSnapshot() &&
          lv.layout.find("sparse") == std::string::npos)
        held += lv.size;
    if (held > 0) d.loss.destroys = held;
    if (ctx.snapshotBeforeLoss) d.loss.noSnapshot = "a snapshot would live in the volume group being deleted";
  } else if (r.kind() == kinds::Snapshot) {
    if (const auto& src = r.as<SnapshotSpec>().source.logicalVolume)
      for (const LogicalVolumeInfo& lv : state.logicalVolumes)
        if (lv.volumeGroup == src->volumeGroup && lv.name == r.id.name && !lv.thinSnapshot()) d.loss.destroys = lv.size;
  }
  return d;
}

Diff planSnapshot(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in) {
  Diff diff;
  const auto& want = desired.as<SnapshotSpec>();
  const LogicalVolumeRef& src = *want.source.logicalVolume;
  const std::string origin = src.volumeGroup + "/" + src.name;
  const std::string sourceField = "spec.source.logicalVolume";
  if (live) {
    const auto& have = live->resource.as<SnapshotSpec>();
    const Bytes extent = extentSizeOf(src.volumeGroup, ctx, in.state);
    const bool sameSize = have.size.has_value() == want.size.has_value() &&
                          (!want.size || roundToExtents(*want.size, extent) == *have.size);
    if (have.source != want.source)
      diff.problems.push_back({"spec.source", desired.id.str() + " on the host is a snapshot of " + have.source.shown() +
                                                  ", not of " + want.source.shown() +
                                                  "; a snapshot cannot be changed; declare a new name"});
    else if (!sameSize)
      diff.problems.push_back({"spec.size", desired.id.str() + " on the host has " +
                                                (have.size ? formatSize(*have.size) : std::string("no size (thin)")) +
                                                " of copy-on-write space and " +
                                                (want.size ? formatSize(*want.size) : std::string("none")) +
                                                " in the manifest; a snapshot cannot be changed; declare a new name"});
    return diff;
  }
  if (const LogicalVolumeInfo* other = in.state.findLogicalVolume(src.volumeGroup, desired.id.name))
    diff.problems.push_back({"metadata.name", "volume group " + src.volumeGroup + " already has a logical volume " +
                                                  desired.id.name + " (layout \"" + other->layout +
                                                  "\"); a snapshot of " + origin + " is an LV of that name there"});
  const ResourceId originId{kinds::LogicalVolume, src.volumeGroup, src.name};
  const Resource* declared = ctx.findDesired(originId);
  const Observed* observed = ctx.findObserved(originId);
  const Resource* source = declared ? declared : observed ? &observed->resource : nullptr;
  if (!source) return diff;  // the planner reports the dangling reference
  const auto& lv = source->as<LogicalVolumeSpec>();
  SnapshotDelta delta{src.volumeGroup, src.name, lv.type == LvType::Thin, 0};
  switch (lv.type) {
    case LvType::ThinPool:
      diff.problems.push_back({sourceField, origin + " is a thin pool; hostform snapshots linear and thin volumes, "
                                                     "not pools"});
      return diff;
    case LvType::Thin:
      if (want.size)
        diff.problems.push_back({"spec.size", origin + " is a thin volume: its snapshot is thin and takes its space "
                                                       "from the pool; remove spec.size"});
      break;
    case LvType::Linear: {
      if (!want.size) {
        diff.problems.push_back({"spec.size", origin + " is a linear volume: its snapshot is thick and needs spec.size, "
                                                       "the copy-on-write space for what changes in " + origin +
                                                       " after it is taken"});
        break;
      }
      const Bytes extent = extentSizeOf(src.volumeGroup, ctx, in.state);
      delta.size = roundToExtents(*want.size, extent);
      if (delta.size > roundToExtents(lv.size, extent)) {
        diff.problems.push_back({"spec.size", "a thick snapshot of " + origin + " (" + formatSize(lv.size) +
                                                  ") never needs more copy-on-write space than its origin, and lvm "
                                                  "would cut " + formatSize(*want.size) + " down; declare at most " +
                                                  formatSize(lv.size)});
        break;
      }
      if (auto p = checkSnapshotSpace(src.volumeGroup, delta.size, ctx, in)) diff.problems.push_back(*p);
      break;
    }
  }
  if (auto why = in.devices.snapshotUnsupported())
    diff.problems.push_back({sourceField, "lvm2 cannot make a snapshot of " + origin + " on this host: " + *why + "."});
  diff.delta = delta;
  return diff;
}

RestorePlan planSnapshotRestore(const Observed& snapshot, PlanInputs in) {
  RestorePlan plan;
  const auto& spec = snapshot.resource.as<SnapshotSpec>();
  const LogicalVolumeRef& src = *spec.source.logicalVolume;
  const std::string& name = snapshot.resource.id.name;
  plan.source = spec.source.id();
  plan.delta = RestoreDelta{src.volumeGroup, name};
  const LogicalVolumeInfo* lv = in.state.findLogicalVolume(src.volumeGroup, name);
  const std::string origin = src.volumeGroup + "/" + src.name;
  if (lv && lv->origin.empty() && !lv->safetyOwner.empty()) {
    // Taken before its origin was deleted: it becomes the origin again.
    plan.delta = RestoreDelta{src.volumeGroup, name, src.name, safetyTag(lv->safetyOwner)};
    plan.description = "restore " + plan.source.str() + ", deleted since, from snapshot " + name + " taken " +
                       ageText(lv->created, in.now) + " ago";
    plan.notes.push_back("the snapshot becomes " + origin + " again (lvm lvrename), no longer marked as a snapshot; "
                         "declare it to own it again");
    if (in.state.findLogicalVolume(src.volumeGroup, src.name))
      plan.problems.push_back({"", origin + " exists again; rename or remove it first"});
    return plan;
  }
  plan.description = "restore " + plan.source.str() + " to snapshot " + name + " taken " +
                     ageText(lv ? lv->created : std::nullopt, in.now) +
                     " ago: discards everything written to it since";
  plan.notes.push_back("lvm merges the snapshot into " + origin + " (lvm lvconvert --merge " + src.volumeGroup + "/" +
                       name + "), and the snapshot disappears");
  plan.notes.push_back("if " + origin + " is open (mounted, a running VM's disk), lvm merges at its next "
                       "activation; until then it reads as before");
  if (lv && !lv->thinSnapshot() && lv->snapPercent && *lv->snapPercent >= 100.0)
    plan.problems.push_back({"", "thick snapshot " + src.volumeGroup + "/" + name +
                                     " overflowed its copy-on-write space and is invalid: it cannot be restored"});
  if (!in.state.findLogicalVolume(src.volumeGroup, src.name))
    plan.problems.push_back({"", "its origin " + origin + " is not on the host"});
  if (auto why = in.devices.snapshotUnsupported())
    plan.problems.push_back({"", "lvm2 cannot merge snapshots on this host: " + *why});
  return plan;
}

}  // namespace hostform::lvm
