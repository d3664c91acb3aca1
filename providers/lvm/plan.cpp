#include "providers/lvm/plan.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "providers/lvm/space.h"

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

}  // namespace

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
  const Activation activation = in.devices.activation();
  const bool canActivate = activation.state == Activation::State::On;
  if (want.filesystem)
    if (auto why = filesystemImpossible(activation)) diff.problems.push_back({"spec.filesystem", *why});

  if (!live) {
    if (const LogicalVolumeInfo* other = in.state.findLogicalVolume(want.volumeGroup, desired.id.name))
      diff.problems.push_back({"metadata.name", "logical volume " + name + " exists with layout \"" + other->layout +
                                                    "\", which hostform does not manage (only linear, thin-pool "
                                                    "and thin volumes)."});
    if (activation.state == Activation::State::NoDriver)
      diff.problems.push_back({"metadata.name", "lvm2 cannot create a logical volume on this host: " + activation.why +
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
    if (want.active && activation.state == Activation::State::Off)
      diff.warnings.push_back({"spec.active", name + " is created inactive: " + activation.why +
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
    if (activation.state == Activation::State::NoDriver)
      diff.problems.push_back({"spec.active", "lvm2 cannot " + std::string(want.active ? "activate " : "deactivate ") +
                                                  name + " on this host: " + activation.why + "."});
    else if (want.active && activation.state == Activation::State::Off)
      diff.warnings.push_back({"spec.active", name + " is marked for activation (autoactivation) but not activated: " +
                                                  activation.why + "."});
    diff.changes.push_back({"active", have.active ? "true" : "false", want.active ? "true" : "false",
                            ChangeClass::Live});
    delta.activate = want.active;
    changed = true;
  }
  checkThinActivation(desired, ctx, in, diff, delta, have.active && !want.active);

  // What the LV holds, when a filesystem is declared and lvm could activate it.
  std::optional<Content> content;
  if (want.filesystem && canActivate && info) {
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
    if (shrink)
      diff.dataLoss = delta.resizeFilesystem
                          ? "shrinking " + desired.id.str() + " from " + formatSize(have.size) + " to " +
                                formatSize(size) + " shrinks its " + std::string(toString(want.filesystem->type)) +
                                " filesystem first (resize2fs); the data must fit in " + formatSize(size)
                          : "shrinking " + desired.id.str() + " from " + formatSize(have.size) + " to " +
                                formatSize(size) + " loses the data beyond " + formatSize(size);
    else if (auto p = checkFreeSpace(desired, live, ctx, in))
      diff.problems.push_back(*p);
  }
  if (changed) diff.delta = std::move(delta);
  return diff;
}

namespace {

std::optional<std::string> deletionLoss(const Observed& live, const LvmState& state) {
  const Resource& r = live.resource;
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

std::vector<Diff::Problem> deletionProblems(const Observed& live, const LvmState& state, const PlanContext& ctx) {
  const Resource& r = live.resource;
  const bool vg = r.kind() == kinds::VolumeGroup;
  if (!vg && r.as<LogicalVolumeSpec>().type != LvType::ThinPool) return {};
  const std::string& vgName = vg ? r.id.name : r.id.scope;
  // The volumes inside: every visible LV of the VG, or the thin LVs of the pool.
  std::string staying;
  for (const LogicalVolumeInfo& lv : state.logicalVolumes) {
    if (lv.volumeGroup != vgName || lv.hidden || (!vg && lv.pool != r.id.name)) continue;
    // Pruning deletes only undeclared, unreferenced volumes of this owner; anything else stays.
    if (!ctx.prunable(ResourceId{kinds::LogicalVolume, vgName, lv.name}))
      staying += (staying.empty() ? "" : ", ") + lv.name;
  }
  if (staying.empty()) return {};
  return {{"", std::string(vg ? "volume group " : "thin pool ") + (vg ? vgName : vgName + "/" + r.id.name) +
                   " still holds logical volumes this run does not delete (" + staying +
                   "): they are made by hand, owned by another owner, still declared, or used by something declared"}};
}

}  // namespace

Deletion deletionOf(const Observed& live, const LvmState& state, const PlanContext& ctx) {
  Deletion d{deletionProblems(live, state, ctx), std::nullopt};
  if (d.problems.empty()) d.dataLoss = deletionLoss(live, state);
  return d;
}

}  // namespace hostform::lvm
