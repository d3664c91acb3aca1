#include "providers/lvm/apply.h"

#include <any>

#include <nlohmann/json.hpp>

#include "providers/lvm/plan.h"
#include "providers/lvm/report.h"
#include "reconciler/kinds/snapshot.h"

namespace hostform::lvm {
namespace {

using Args = std::vector<std::string>;

/// "4194304k"-style arguments: lvm takes a unit suffix; bytes are exact.
std::string bytesArg(Bytes size) { return std::to_string(size) + "b"; }

class Runner {
 public:
  Runner(const ApplyContext& ctx, ApplyInputs in) : ctx_(ctx), in_(in) {}

  Result<void> run(Args argv) {
    ctx_.progress(showCommand(argv));
    auto r = runChecked(in_.commands, argv, in_.timeout);
    if (!r) return hostform::unexpected(r.error());
    return {};
  }

  /// pvcreate for each device the plan found is not a PV yet, with --yes when
  /// it accepted their signatures (VolumeGroupDelta::force).
  Result<void> initialise(const VolumeGroupDelta& delta) {
    for (const auto& device : delta.initialise) {
      Args argv{"lvm", "pvcreate"};
      if (delta.force) argv.push_back("--yes");
      argv.push_back(device);
      if (auto r = run(argv); !r) return r;
    }
    return {};
  }

  /// The visible LVs `vg` holds now (not as planned: earlier actions of this
  /// apply may have removed some), with the thin pool each one uses.
  Result<std::vector<std::pair<std::string, std::string>>> currentVolumes(const std::string& vg) {
    auto out = runChecked(in_.commands, {"lvm", "lvs", "--reportformat", "json", "-o", "lv_name,pool_lv", vg},
                          in_.timeout);
    if (!out) return hostform::unexpected(out.error());
    auto doc = nlohmann::json::parse(*out, nullptr, false);
    std::vector<std::pair<std::string, std::string>> lvs;
    if (doc.is_discarded()) return fail("lvm lvs printed something that is not JSON.");
    for (const auto& report : doc.value("report", nlohmann::json::array()))
      for (const auto& lv : report.value("lv", nlohmann::json::array()))
        lvs.emplace_back(lv.value("lv_name", ""), lv.value("pool_lv", ""));
    return lvs;
  }

 private:
  const ApplyContext& ctx_;
  ApplyInputs in_;
};

Result<void> lacksState(const Action& a) {
  return fail("the plan's action for " + a.id.str() + " lacks the state it needs.");
}

/// The plan's delta of `a` as a T; null when the plan computed none (an
/// update that only adopts the object).
template <class T>
Result<const T*> deltaOf(const Action& a) {
  if (!a.delta.has_value()) return nullptr;
  if (const T* delta = std::any_cast<T>(&a.delta)) return delta;
  return fail("the plan's action for " + a.id.str() + " carries a delta the lvm provider did not plan.");
}

Result<void> createVolumeGroup(const Action& a, const ApplyContext& ctx, Runner& run) {
  auto delta = deltaOf<VolumeGroupDelta>(a);
  if (!delta) return hostform::unexpected(delta.error());
  if (!*delta) return lacksState(a);
  const VolumeGroupDelta& d = **delta;
  if (auto ok = run.initialise(d); !ok) return ok;
  Args argv{"lvm", "vgcreate", "-s", std::to_string(a.desired->as<VolumeGroupSpec>().extentSize / KiB) + "k",
            "--addtag", ownerTag(ctx.owner), a.id.name};
  argv.insert(argv.end(), d.add.begin(), d.add.end());
  return run.run(argv);
}

/// Adds before it removes: the plan checked that removed PVs are empty.
Result<void> changePhysicalVolumes(const std::string& vg, const VolumeGroupDelta& delta, Runner& run) {
  if (!delta.add.empty()) {
    if (auto ok = run.initialise(delta); !ok) return ok;
    Args argv{"lvm", "vgextend", vg};
    argv.insert(argv.end(), delta.add.begin(), delta.add.end());
    if (auto ok = run.run(argv); !ok) return ok;
  }
  if (!delta.remove.empty()) {
    Args argv{"lvm", "vgreduce", vg};
    argv.insert(argv.end(), delta.remove.begin(), delta.remove.end());
    if (auto ok = run.run(argv); !ok) return ok;
    // The device leaves hostform's hands as it was before: not a PV.
    Args wipe{"lvm", "pvremove"};
    wipe.insert(wipe.end(), delta.remove.begin(), delta.remove.end());
    if (auto ok = run.run(wipe); !ok) return ok;
  }
  return {};
}

/// The plan's delta, then the ownership tag when the VG is adopted: the
/// order in which the plan lists them.
Result<void> updateVolumeGroup(const Action& a, const ApplyContext& ctx, Runner& run) {
  auto delta = deltaOf<VolumeGroupDelta>(a);
  if (!delta) return hostform::unexpected(delta.error());
  if (*delta)
    if (auto ok = changePhysicalVolumes(a.id.name, **delta, run); !ok) return ok;
  if (a.adopt) return run.run({"lvm", "vgchange", "--addtag", ownerTag(ctx.owner), a.id.name});
  return {};
}

Result<void> deleteVolumeGroup(const Action& a, Runner& run) {
  const std::string& vg = a.id.name;
  auto lvs = run.currentVolumes(vg);
  if (!lvs) return hostform::unexpected(lvs.error());
  if (!lvs->empty()) {
    std::string names;
    for (const auto& [name, pool] : *lvs) names += (names.empty() ? "" : ", ") + name;
    return fail("volume group " + vg + " still holds logical volumes hostform does not delete (" + names +
                "); it deletes a volume group only once it is empty.");
  }
  if (auto ok = run.run({"lvm", "vgremove", vg}); !ok) return ok;
  Args wipe{"lvm", "pvremove"};
  const auto& pvs = a.live->resource.as<VolumeGroupSpec>().physicalVolumes;
  wipe.insert(wipe.end(), pvs.begin(), pvs.end());
  return run.run(wipe);
}

Result<void> createLogicalVolume(const Action& a, const ApplyContext& ctx, Runner& run) {
  auto delta = deltaOf<LogicalVolumeDelta>(a);
  if (!delta) return hostform::unexpected(delta.error());
  if (!*delta) return lacksState(a);
  const auto& spec = a.desired->as<LogicalVolumeSpec>();
  const std::string size = bytesArg((*delta)->size);
  Args argv{"lvm", "lvcreate", "--yes", "-n", a.id.name, "--addtag", ownerTag(ctx.owner)};
  switch (spec.type) {
    case LvType::Linear: argv.insert(argv.end(), {"-L", size}); break;
    case LvType::ThinPool: argv.insert(argv.end(), {"--type", "thin-pool", "-L", size}); break;
    case LvType::Thin: argv.insert(argv.end(), {"--type", "thin", "-V", size, "--thinpool", spec.thinPool.value_or("")}); break;
  }
  argv.push_back(spec.volumeGroup);
  return run.run(argv);
}

/// The snapshot the plan decided to take before a loss (a thin snapshot,
/// marked with the safety tag, never the ownership tag: no prune deletes it).
Result<void> takeSafetySnapshot(const SafetySnapshot& s, const ApplyContext& ctx, Runner& run) {
  if (auto ok = run.run({"lvm", "lvcreate", "--yes", "-s", "-n", s.name, "--addtag", safetyTag(ctx.owner),
                         s.volumeGroup + "/" + s.origin});
      !ok)
    return fail("the snapshot to take before the loss could not be made, so nothing was lost: " + ok.error().message);
  return {};
}

/// The plan's resize, then the ownership tag when the LV is adopted: the
/// order in which the plan lists them.
Result<void> updateLogicalVolume(const Action& a, const ApplyContext& ctx, Runner& run) {
  auto delta = deltaOf<LogicalVolumeDelta>(a);
  if (!delta) return hostform::unexpected(delta.error());
  const std::string path = a.desired->as<LogicalVolumeSpec>().volumeGroup + "/" + a.id.name;
  if (const LogicalVolumeDelta* d = *delta) {
    if (d->snapshotFirst)
      if (auto ok = takeSafetySnapshot(*d->snapshotFirst, ctx, run); !ok) return ok;
    const std::string size = bytesArg(d->size);
    Args argv = d->resize == LogicalVolumeDelta::Resize::Extend
                    ? Args{"lvm", "lvextend", "-L", size, path}
                    // -f: the data-loss gate has already asked; lvm would prompt.
                    : Args{"lvm", "lvreduce", "-f", "-L", size, path};
    if (auto ok = run.run(argv); !ok) return ok;
  }
  if (a.adopt) return run.run({"lvm", "lvchange", "--addtag", ownerTag(ctx.owner), path});
  return {};
}

Result<void> deleteLogicalVolume(const Action& a, const ApplyContext& ctx, Runner& run) {
  const auto& spec = a.live->resource.as<LogicalVolumeSpec>();
  auto deletion = deltaOf<LogicalVolumeDeletion>(a);
  if (!deletion) return hostform::unexpected(deletion.error());
  if (spec.type == LvType::ThinPool) {
    // lvremove of a pool takes its thin volumes with it: never any we were not asked to delete.
    auto lvs = run.currentVolumes(spec.volumeGroup);
    if (!lvs) return hostform::unexpected(lvs.error());
    std::string users;
    for (const auto& [name, pool] : *lvs)
      if (pool == a.id.name) users += (users.empty() ? "" : ", ") + name;
    if (!users.empty())
      return fail("thin pool " + spec.volumeGroup + "/" + a.id.name + " still holds thin volumes (" + users +
                  "); hostform deletes a thin pool only once it is empty.");
  }
  if (*deletion && (*deletion)->snapshotFirst)
    if (auto ok = takeSafetySnapshot(*(*deletion)->snapshotFirst, ctx, run); !ok) return ok;
  // -f: the data-loss gate has already asked; lvm would prompt for an active LV.
  return run.run({"lvm", "lvremove", "-f", spec.volumeGroup + "/" + a.id.name});
}

Result<void> createSnapshot(const Action& a, const ApplyContext& ctx, Runner& run) {
  auto delta = deltaOf<SnapshotDelta>(a);
  if (!delta) return hostform::unexpected(delta.error());
  if (!*delta) return lacksState(a);
  const SnapshotDelta& d = **delta;
  Args argv{"lvm", "lvcreate", "--yes", "-s", "-n", a.id.name, "--addtag", ownerTag(ctx.owner)};
  // Thin: no size, so lvm makes a thin snapshot in the origin's pool (with its activation-skip flag).
  if (!d.thin) argv.insert(argv.end(), {"-L", bytesArg(d.size)});
  argv.push_back(d.volumeGroup + "/" + d.origin);
  return run.run(argv);
}

std::string snapshotPath(const Resource& r) {
  return r.as<SnapshotSpec>().source.logicalVolume->volumeGroup + "/" + r.id.name;
}

Result<void> applySnapshot(const Action& a, const ApplyContext& ctx, Runner& run) {
  switch (a.op) {
    case Op::Create:
      if (!a.desired) break;
      return createSnapshot(a, ctx, run);
    case Op::Update:  // a snapshot never changes: an update only adopts it
      if (!a.live) break;
      if (a.adopt) return run.run({"lvm", "lvchange", "--addtag", ownerTag(ctx.owner), snapshotPath(a.live->resource)});
      return {};
    case Op::Delete:
      if (!a.live) break;
      return run.run({"lvm", "lvremove", "-f", snapshotPath(a.live->resource)});
    case Op::Replace:
      return fail(a.id.str() + " cannot be replaced: a snapshot is never changed.");
    case Op::Orphan:
      return {};
  }
  return lacksState(a);
}

}  // namespace

Result<void> applyAction(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  Runner run(ctx, in);
  const bool vg = a.id.kind == kinds::VolumeGroup;
  if (a.id.kind == kinds::Snapshot) return applySnapshot(a, ctx, run);
  if (a.id.kind != kinds::VolumeGroup && a.id.kind != kinds::LogicalVolume)
    return fail("the lvm provider does not handle " + a.id.str() + ".");
  switch (a.op) {
    case Op::Create:
      if (!a.desired) break;
      return vg ? createVolumeGroup(a, ctx, run) : createLogicalVolume(a, ctx, run);
    case Op::Update:
      if (!a.desired || !a.live) break;
      return vg ? updateVolumeGroup(a, ctx, run) : updateLogicalVolume(a, ctx, run);
    case Op::Delete:
      if (!a.live) break;
      return vg ? deleteVolumeGroup(a, run) : deleteLogicalVolume(a, ctx, run);
    case Op::Replace:
      return fail(a.id.str() + " cannot be replaced: the lvm provider never plans a replace.");
    case Op::Orphan:
      return {};
  }
  return lacksState(a);
}

Result<void> restoreSnapshot(const RestorePlan& plan, const ApplyContext& ctx, ApplyInputs in) {
  const RestoreDelta* d = std::any_cast<RestoreDelta>(&plan.delta);
  if (!d) return fail("the restore plan carries no lvm snapshot to merge.");
  Runner run(ctx, in);
  if (d->renameTo) {
    const std::string path = d->volumeGroup + "/" + *d->renameTo;
    if (auto ok = run.run({"lvm", "lvrename", d->volumeGroup + "/" + d->name, path}); !ok) return ok;
    return run.run({"lvm", "lvchange", "--deltag", d->safetyTag, path});
  }
  // --yes: the restore plan was shown and --allow-data-loss given; lvm may ask about an open origin.
  return run.run({"lvm", "lvconvert", "--yes", "--merge", d->volumeGroup + "/" + d->name});
}

}  // namespace hostform::lvm
