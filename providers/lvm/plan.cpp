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
  // The snapshot lives in the thin LV's pool: none when this run deletes the
  // pool or its volume group (pruned: owned and no longer declared).
  if (const LogicalVolumeInfo* lv = in.state.findLogicalVolume(vg, name); deleting && lv && !lv->pool.empty()) {
    if (ctx.prunable(ResourceId{kinds::VolumeGroup, "", vg})) {
      loss.noSnapshot = "a snapshot would live in the volume group being deleted";
      return std::nullopt;
    }
    if (ctx.prunable(ResourceId{kinds::LogicalVolume, vg, lv->pool})) {
      loss.noSnapshot = "a snapshot would live in thin pool " + vg + "/" + lv->pool + ", which is deleted in the same run";
      return std::nullopt;
    }
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

namespace {

std::string lvName(const LogicalVolumeSpec& s, const Resource& r) { return s.volumeGroup + "/" + r.id.name; }

/// What blkid finds on an LV: "ext4", "xfs", "" for nothing; the signature
/// as blkid names it for anything else ("gpt (partition table)").
struct Content {
  std::string type;       ///< TYPE, or "" when blkid found nothing
  std::string signature;  ///< DeviceInfo::signature
};

/// A filesystem needs an active LV: the reason it cannot have one here, if any.
std::optional<std::string> filesystemImpossible(const Activation& a) {
  if (a.state == Activation::State::On) return std::nullopt;
  return "a filesystem needs an active logical volume, and lvm cannot activate one on this host: " + a.why + ".";
}

/// The tools a filesystem's making and resizing run.
void checkFilesystemTools(FsType type, bool making, bool resizing, PlanInputs in, Diff& diff) {
  std::vector<std::string> tools;
  if (making) tools.push_back(type == FsType::Ext4 ? "mkfs.ext4" : "mkfs.xfs");
  if (resizing) {
    tools.push_back("fsadm");  // lvresize --resizefs runs it
    tools.push_back(type == FsType::Ext4 ? "resize2fs" : "xfs_growfs");
  }
  for (const std::string& tool : tools)
    if (auto missing = in.devices.toolMissing(tool))
      diff.problems.push_back({"spec.filesystem", *missing + (type == FsType::Xfs ? " (xfsprogs)" : " (e2fsprogs)") +
                                                      (tool == "fsadm" ? "" : "") + "."});
}

/// Over-commit of a declared thin pool: the virtual sizes of its thin volumes
/// (declared ones as declared, others as on the host) against its size.
/// Warned above kOverCommit percent, kOverCommitAutoExtend with autoExtend
/// (docs/decisions.md).
constexpr std::uint64_t kOverCommit = 100, kOverCommitAutoExtend = 200;

void warnOverCommit(const Resource& pool, Bytes poolSize, const PlanContext& ctx, PlanInputs in, Diff& diff) {
  const auto& spec = pool.as<LogicalVolumeSpec>();
  Bytes virtualSize = 0;
  std::size_t volumes = 0;
  for (const auto& [id, r] : ctx.desired) {
    if (id.kind != kinds::LogicalVolume || id.scope != spec.volumeGroup) continue;
    const auto& lv = r->as<LogicalVolumeSpec>();
    if (lv.type != LvType::Thin || lv.thinPool != pool.id.name) continue;
    virtualSize += lv.size;
    ++volumes;
  }
  for (const LogicalVolumeInfo& lv : in.state.logicalVolumes)
    if (lv.volumeGroup == spec.volumeGroup && lv.pool == pool.id.name && lv.type() == LvType::Thin &&
        !ctx.findDesired(ResourceId{kinds::LogicalVolume, lv.volumeGroup, lv.name})) {
      virtualSize += lv.size;
      ++volumes;
    }
  if (poolSize == 0 || volumes == 0) return;
  const std::uint64_t limit = spec.autoExtend ? kOverCommitAutoExtend : kOverCommit;
  const long double percent = static_cast<long double>(virtualSize) * 100 / static_cast<long double>(poolSize);
  if (percent <= static_cast<long double>(limit)) return;
  diff.warnings.push_back(
      {"spec.size", "thin pool " + lvName(spec, pool) + " is over-committed: its " + std::to_string(volumes) +
                        " thin volume(s) have " + formatSize(virtualSize) + " of virtual size, " +
                        std::to_string(static_cast<std::uint64_t>(percent)) + "% of its " + formatSize(poolSize) +
                        " (hostform warns above " + std::to_string(limit) + "% " +
                        (spec.autoExtend ? "with" : "without") +
                        " autoExtend); writes to its thin volumes fail once it is full."});
}

/// The autoExtend part of a thin pool's plan: the profile to attach or detach.
void planAutoExtend(const LogicalVolumeSpec& want, const std::optional<AutoExtendSpec>& have,
                    const LogicalVolumeInfo* live, PlanInputs in, Diff& diff, LogicalVolumeDelta& delta) {
  if (want.autoExtend == have) {
    return;
  }
  if (!want.autoExtend) {
    // Only hostform's own profile is ever detached: `have` is set only for one.
    diff.changes.push_back({"autoExtend", showAutoExtend(*have), std::nullopt, ChangeClass::Live});
    delta.detachProfile = true;
    return;
  }
  auto dir = in.devices.profileDir();
  if (!dir) {
    diff.problems.push_back({"spec.autoExtend", "cannot find lvm's profile directory: " + dir.error().message});
    return;
  }
  const std::string name = autoExtendProfile(*want.autoExtend);
  delta.attachProfile = ProfileFile{name, *dir + "/" + name + ".profile", autoExtendProfileText(*want.autoExtend)};
  if (live && !live->profile.empty() && !have)
    diff.changes.push_back({"autoExtend", "(profile " + live->profile + ")", showAutoExtend(*want.autoExtend),
                            ChangeClass::Live});
  else if (live)
    diff.changes.push_back({"autoExtend", have ? std::optional(showAutoExtend(*have)) : std::nullopt,
                            showAutoExtend(*want.autoExtend), ChangeClass::Live});
}

/// The activation rules of thin volumes and their pools, for a declared
/// `active` (docs/spec.md: a thin volume is active only in an active pool).
void checkThinActivation(const Resource& desired, const PlanContext& ctx, PlanInputs in, Diff& diff,
                         LogicalVolumeDelta& delta, bool deactivating) {
  const auto& want = desired.as<LogicalVolumeSpec>();
  if (want.type == LvType::Thin && want.active && want.thinPool) {
    const Resource* pool = ctx.findDesired(ResourceId{kinds::LogicalVolume, want.volumeGroup, *want.thinPool});
    if (pool && !pool->as<LogicalVolumeSpec>().active)
      diff.problems.push_back({"spec.active", "thin volume " + lvName(want, desired) + " is declared active in thin pool " +
                                                  want.volumeGroup + "/" + *want.thinPool +
                                                  ", which is declared active: false; a thin volume can be active "
                                                  "only in an active pool."});
  }
  if (want.type != LvType::ThinPool || want.active) return;
  std::string staying;
  for (const LogicalVolumeInfo& lv : in.state.logicalVolumes) {
    if (lv.volumeGroup != want.volumeGroup || lv.pool != desired.id.name || lv.type() != LvType::Thin) continue;
    const Resource* declared = ctx.findDesired(ResourceId{kinds::LogicalVolume, lv.volumeGroup, lv.name});
    if (declared) {
      if (deactivating && lv.active().value_or(false)) delta.deactivateFirst.push_back(lv.name);
      continue;  // a declared active one is its own problem (above)
    }
    if (lv.active().value_or(false)) staying += (staying.empty() ? "" : ", ") + lv.name;
  }
  if (!staying.empty())
    diff.problems.push_back({"spec.active", "thin pool " + lvName(want, desired) +
                                                " cannot be inactive while thin volumes not declared here are active "
                                                "in it (" + staying + "); deactivate them first."});
}

/// What a declared filesystem means for an existing, active LV: nothing when
/// it holds that filesystem; an mkfs, which needs --allow-data-loss, when
/// blkid finds nothing on it; a problem when it holds something else.
void planExistingFilesystem(const Resource& desired, const LogicalVolumeInfo& live, PlanInputs in, Diff& diff,
                            LogicalVolumeDelta& delta, std::optional<Content>& content) {
  const auto& want = desired.as<LogicalVolumeSpec>();
  const std::string path = devicePath(want.volumeGroup, desired.id.name);
  auto info = in.devices.probe(path);
  if (!info) {
    diff.problems.push_back({"spec.filesystem", "cannot check what " + path + " holds: " + info.error().message});
    return;
  }
  if (!info->exists) {
    diff.problems.push_back({"spec.filesystem", lvName(want, desired) + " has no device node " + path +
                                                    " although lvm reports it active; hostform cannot see what it "
                                                    "holds."});
    return;
  }
  Content c{info->signature.substr(0, info->signature.find(" (")), info->signature};
  content = c;
  const std::string declared(toString(want.filesystem->type));
  if (c.type == declared) return;
  if (!c.signature.empty()) {
    diff.problems.push_back({"spec.filesystem", lvName(want, desired) + " holds " + c.signature + ", not " + declared +
                                                    "; hostform makes a filesystem only on a blank volume and never "
                                                    "converts one."});
    return;
  }
  (void)live;
  diff.changes.push_back({"filesystem", std::nullopt, showFilesystem(want.filesystem), ChangeClass::Live});
  delta.makeFilesystem = want.filesystem->type;
  diff.dataLoss = "making " + declared + " on " + lvName(want, desired) + " (" + formatSize(live.size) +
                  ", where blkid finds no signature) overwrites whatever it holds";
}

}  // namespace

Diff planLogicalVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in) {
  Diff diff;
  const auto& want = desired.as<LogicalVolumeSpec>();
  const std::string name = lvName(want, desired);
  const Bytes extent = extentSizeOf(want.volumeGroup, ctx, in.state);
  const Bytes size = roundToExtents(want.size, extent);
  // lvm2 counts an LV's extents in 32 bits ("Volume too large ... Upper limit").
  constexpr std::uint64_t kMaxExtents = 0xFFFFFFFFu;
  if (size / extent > kMaxExtents) {
    diff.problems.push_back({"spec.size", "logical volume " + name + " of " + formatSize(size) + " needs more than " +
                                              std::to_string(kMaxExtents) + " extents of " + formatSize(extent) +
                                              ", which is lvm2's limit; the largest is " +
                                              formatSize(kMaxExtents * extent) + "."});
    return diff;
  }
  if (want.type == LvType::ThinPool) warnOverCommit(desired, size, ctx, in, diff);
  // Asked only when this plan needs it: the probe runs lvm (config, then
  // version), processes that a no-op plan of existing volumes does without.
  std::optional<Activation> asked;
  const auto activation = [&]() -> const Activation& {
    if (!asked) asked = in.devices.activation();
    return *asked;
  };
  if (want.filesystem)
    if (auto why = filesystemImpossible(activation())) diff.problems.push_back({"spec.filesystem", *why});

  if (!live) {
    if (const LogicalVolumeInfo* other = in.state.findLogicalVolume(want.volumeGroup, desired.id.name))
      diff.problems.push_back({"metadata.name", "logical volume " + name + " exists with layout \"" + other->layout +
                                                    "\", which hostform does not manage (only linear, thin-pool "
                                                    "and thin volumes)."});
    if (activation().state == Activation::State::NoDriver)
      diff.problems.push_back({"metadata.name", "lvm2 cannot create a logical volume on this host: " + activation().why +
                                                    ", and lvcreate activates a new volume to clear its start."});
    else if (want.type != LvType::Linear)
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
    if (want.active && activation().state == Activation::State::Off)
      diff.warnings.push_back({"spec.active", name + " is created inactive: " + activation().why +
                                                  "; lvm keeps it marked for activation (autoactivation), and it "
                                                  "gets its device node once activation is on."});
    if (auto p = checkFreeSpace(desired, live, ctx, in)) diff.problems.push_back(*p);
    // A VG the same apply creates first is not in the report: lvcreate rounds
    // to the extent size it is made with, which is what `size` was rounded to.
    LogicalVolumeDelta delta{.size = in.state.findVolumeGroup(want.volumeGroup) ? size : want.size};
    delta.activate = want.active;
    if (want.filesystem) {
      delta.makeFilesystem = want.filesystem->type;
      checkFilesystemTools(want.filesystem->type, true, false, in, diff);
    }
    checkThinActivation(desired, ctx, in, diff, delta, false);
    planAutoExtend(want, std::nullopt, nullptr, in, diff, delta);
    diff.delta = std::move(delta);
    return diff;
  }

  const auto& have = live->resource.as<LogicalVolumeSpec>();
  if (have.type != want.type) {
    diff.problems.push_back({"spec.type", "logical volume " + name + " is " + std::string(toString(have.type)) +
                                              " on the host and " + std::string(toString(want.type)) +
                                              " in the manifest; the type cannot be changed after creation."});
    return diff;
  }
  if (have.thinPool != want.thinPool)
    diff.problems.push_back({"spec.thinPool", "thin volume " + name + " lives in thin pool " +
                                                  have.thinPool.value_or("(none)") + " on the host and " +
                                                  want.thinPool.value_or("(none)") +
                                                  " in the manifest; a thin volume cannot move to another pool."});
  const LogicalVolumeInfo* info = in.state.findLogicalVolume(want.volumeGroup, desired.id.name);
  LogicalVolumeDelta delta;
  bool changed = false;

  // Activation first: a resize or a filesystem below may need the LV active.
  if (have.active != want.active) {
    if (activation().state == Activation::State::NoDriver)
      diff.problems.push_back({"spec.active", "lvm2 cannot " + std::string(want.active ? "activate " : "deactivate ") +
                                                  name + " on this host: " + activation().why + "."});
    else if (want.active && activation().state == Activation::State::Off)
      diff.warnings.push_back({"spec.active", name + " is marked for activation (autoactivation) but not activated: " +
                                                  activation().why + "."});
    diff.changes.push_back({"active", have.active ? "true" : "false", want.active ? "true" : "false",
                            ChangeClass::Live});
    delta.activate = want.active;
    changed = true;
  }
  checkThinActivation(desired, ctx, in, diff, delta, have.active && !want.active);

  // What the LV holds, when a filesystem is declared and lvm could activate it.
  std::optional<Content> content;
  if (want.filesystem && activation().state == Activation::State::On && info) {
    if (!info->active().value_or(false))
      diff.problems.push_back({"spec.filesystem", name + " is not active, so hostform cannot see whether it holds " +
                                                      std::string(toString(want.filesystem->type)) +
                                                      "; activate it (lvchange -ay " + name + ") and plan again."});
    else {
      const auto before = diff.changes.size();
      planExistingFilesystem(desired, *info, in, diff, delta, content);
      changed = changed || diff.changes.size() != before;
      if (delta.makeFilesystem) checkFilesystemTools(*delta.makeFilesystem, true, false, in, diff);
    }
  }

  if (want.type == LvType::ThinPool) {
    const auto before = diff.changes.size();
    planAutoExtend(want, have.autoExtend, info, in, diff, delta);
    changed = changed || diff.changes.size() != before;
  }

  if (size != have.size) {
    if (size < have.size && want.type == LvType::ThinPool) {
      diff.problems.push_back({"spec.size", "thin pool " + name + " is " + formatSize(have.size) +
                                                " on the host and " + formatSize(size) +
                                                " in the manifest; lvm cannot shrink a thin pool."});
      return diff;
    }
    const bool shrink = size < have.size;
    diff.changes.push_back({"size", formatSize(have.size), formatSize(size), ChangeClass::Live});
    using enum LogicalVolumeDelta::Resize;
    delta.size = size;
    delta.resize = shrink ? Reduce : Extend;
    changed = true;
    // The filesystem on it, as blkid found it (a new mkfs is sized by the LV it is made on).
    // (Something else on it is a problem already, above.)
    const bool hasFilesystem = content && want.filesystem && !delta.makeFilesystem &&
                               content->type == toString(want.filesystem->type);
    if (hasFilesystem) {
      const FsType fs = want.filesystem->type;
      const std::string fsName(toString(fs));
      if (shrink && !want.filesystem->resize)
        diff.problems.push_back({"spec.size", "shrinking " + name + " from " + formatSize(have.size) + " to " +
                                                  formatSize(size) + " would cut its " + fsName +
                                                  " filesystem, which has filesystem.resize: false."});
      else if (shrink && fs == FsType::Xfs)
        diff.problems.push_back({"spec.size", "shrinking " + name + " from " + formatSize(have.size) + " to " +
                                                  formatSize(size) +
                                                  " is impossible: it holds xfs, and xfs cannot shrink."});
      else if (shrink) {
        if (auto at = in.devices.mountPoint(devicePath(want.volumeGroup, desired.id.name)))
          diff.problems.push_back({"spec.size", "shrinking " + name + " from " + formatSize(have.size) + " to " +
                                                    formatSize(size) + " needs its ext4 filesystem unmounted, and it "
                                                    "is mounted at " + *at + "; ext4 shrinks only offline."});
      }
      delta.resizeFilesystem = want.filesystem->resize;
      if (delta.resizeFilesystem) checkFilesystemTools(fs, false, true, in, diff);
    }
    if (shrink) {
      diff.dataLoss = delta.resizeFilesystem
                          ? "shrinking " + desired.id.str() + " from " + formatSize(have.size) + " to " +
                                formatSize(size) + " shrinks its " + std::string(toString(want.filesystem->type)) +
                                " filesystem first (resize2fs); the data must fit in " + formatSize(size)
                          : "shrinking " + desired.id.str() + " from " + formatSize(have.size) + " to " +
                                formatSize(size) + " loses the data beyond " + formatSize(size);
      diff.loss.destroys = have.size - size;
      delta.snapshotFirst =
          snapshotBeforeLoss(want.volumeGroup, desired.id.name, want.type, false, ctx, in, diff.loss);
    } else if (auto p = checkFreeSpace(desired, live, ctx, in))
      diff.problems.push_back(*p);
  }
  if (changed) diff.delta = std::move(delta);
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
