#include "providers/lvm/apply.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "providers/lvm/session.h"
#include "providers/lvm/plan.h"

namespace hostform::lvm {
namespace {

using Args = std::vector<std::string>;

bool sameDevice(const std::string& a, const std::string& b) { return a == b || canonicalDevice(a) == canonicalDevice(b); }

/// Devices of `from` that `in` does not list.
std::vector<std::string> missingFrom(const std::vector<std::string>& from, const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& d : from)
    if (std::ranges::none_of(in, [&](const std::string& x) { return sameDevice(x, d); })) out.push_back(d);
  return out;
}

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

  /// pvcreate for each device that is not a PV yet; `force` lets lvm wipe the
  /// signature the plan accepted (without it lvm refuses, so a signature that
  /// appeared since the plan is never destroyed).
  Result<void> initialise(const std::vector<std::string>& devices, bool force) {
    for (const auto& device : devices) {
      if (in_.state.findPhysicalVolume(device)) continue;
      Args argv{"lvm", "pvcreate"};
      if (force) argv.push_back("--yes");
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

Result<void> createVolumeGroup(const Resource& r, const ApplyContext& ctx, Runner& run) {
  const auto& spec = r.as<VolumeGroupSpec>();
  if (auto ok = run.initialise(spec.physicalVolumes, spec.force); !ok) return ok;
  Args argv{"lvm", "vgcreate", "-s", std::to_string(spec.extentSize / KiB) + "k", "--addtag", ownerTag(ctx.owner),
            r.id.name};
  argv.insert(argv.end(), spec.physicalVolumes.begin(), spec.physicalVolumes.end());
  return run.run(argv);
}

Result<void> updateVolumeGroup(const Action& a, const ApplyContext& ctx, Runner& run) {
  const auto& want = a.desired->as<VolumeGroupSpec>();
  const auto& have = a.live->resource.as<VolumeGroupSpec>();
  const std::string& vg = a.id.name;
  for (const FieldChange& c : a.changes) {
    if (c.field == "owner") {
      if (auto ok = run.run({"lvm", "vgchange", "--addtag", ownerTag(ctx.owner), vg}); !ok) return ok;
    } else if (c.field == "physicalVolumes") {
      // Add before removing: the plan checked that removed PVs are empty.
      const auto added = missingFrom(want.physicalVolumes, have.physicalVolumes);
      const auto removed = missingFrom(have.physicalVolumes, want.physicalVolumes);
      if (!added.empty()) {
        if (auto ok = run.initialise(added, want.force); !ok) return ok;
        Args argv{"lvm", "vgextend", vg};
        argv.insert(argv.end(), added.begin(), added.end());
        if (auto ok = run.run(argv); !ok) return ok;
      }
      if (!removed.empty()) {
        Args argv{"lvm", "vgreduce", vg};
        argv.insert(argv.end(), removed.begin(), removed.end());
        if (auto ok = run.run(argv); !ok) return ok;
        // The device leaves hostform's hands as it was before: not a PV.
        Args wipe{"lvm", "pvremove"};
        wipe.insert(wipe.end(), removed.begin(), removed.end());
        if (auto ok = run.run(wipe); !ok) return ok;
      }
    } else {
      return fail("VolumeGroup field " + c.field + " cannot be changed by hostform.");
    }
  }
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

Result<void> createLogicalVolume(const Resource& r, const ApplyContext& ctx, const LvmState& state, Runner& run) {
  const auto& spec = r.as<LogicalVolumeSpec>();
  const VolumeGroupInfo* vg = state.findVolumeGroup(spec.volumeGroup);
  // A VG created by this same apply is not in the report yet: it has the
  // extent size it was declared with, which is what the plan rounded to.
  const Bytes extent = vg ? vg->extentSize : 0;
  const std::string size = bytesArg(extent ? roundToExtents(spec.size, extent) : spec.size);
  Args argv{"lvm", "lvcreate", "--yes", "-n", r.id.name, "--addtag", ownerTag(ctx.owner)};
  switch (spec.type) {
    case LvType::Linear: argv.insert(argv.end(), {"-L", size}); break;
    case LvType::ThinPool: argv.insert(argv.end(), {"--type", "thin-pool", "-L", size}); break;
    case LvType::Thin: argv.insert(argv.end(), {"--type", "thin", "-V", size, "--thinpool", spec.thinPool.value_or("")}); break;
  }
  argv.push_back(spec.volumeGroup);
  return run.run(argv);
}

Result<void> updateLogicalVolume(const Action& a, const ApplyContext& ctx, const LvmState& state, Runner& run) {
  const auto& want = a.desired->as<LogicalVolumeSpec>();
  const auto& have = a.live->resource.as<LogicalVolumeSpec>();
  const std::string path = want.volumeGroup + "/" + a.id.name;
  for (const FieldChange& c : a.changes) {
    if (c.field == "owner") {
      if (auto ok = run.run({"lvm", "lvchange", "--addtag", ownerTag(ctx.owner), path}); !ok) return ok;
    } else if (c.field == "size") {
      const VolumeGroupInfo* vg = state.findVolumeGroup(want.volumeGroup);
      const Bytes size = vg ? roundToExtents(want.size, vg->extentSize) : want.size;
      Args argv = size > have.size ? Args{"lvm", "lvextend", "-L", bytesArg(size), path}
                                   // -f: the data-loss gate has already asked; lvm would prompt.
                                   : Args{"lvm", "lvreduce", "-f", "-L", bytesArg(size), path};
      if (auto ok = run.run(argv); !ok) return ok;
    } else {
      return fail("LogicalVolume field " + c.field + " cannot be changed by hostform.");
    }
  }
  return {};
}

Result<void> deleteLogicalVolume(const Action& a, Runner& run) {
  const auto& spec = a.live->resource.as<LogicalVolumeSpec>();
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
  // -f: the data-loss gate has already asked; lvm would prompt for an active LV.
  return run.run({"lvm", "lvremove", "-f", spec.volumeGroup + "/" + a.id.name});
}

}  // namespace

Result<void> applyAction(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  Runner run(ctx, in);
  const bool vg = a.id.kind == kinds::VolumeGroup;
  if (a.id.kind != kinds::VolumeGroup && a.id.kind != kinds::LogicalVolume)
    return fail("the lvm provider does not handle " + a.id.str() + ".");
  switch (a.op) {
    case Op::Create:
      if (!a.desired) break;
      return vg ? createVolumeGroup(*a.desired, ctx, run) : createLogicalVolume(*a.desired, ctx, in.state, run);
    case Op::Update:
      if (!a.desired || !a.live) break;
      return vg ? updateVolumeGroup(a, ctx, run) : updateLogicalVolume(a, ctx, in.state, run);
    case Op::Delete:
      if (!a.live) break;
      return vg ? deleteVolumeGroup(a, run) : deleteLogicalVolume(a, run);
    case Op::Replace:
      return fail(a.id.str() + " cannot be replaced: the lvm provider never plans a replace.");
    case Op::Orphan:
      return {};
  }
  return fail("the plan's action for " + a.id.str() + " lacks the state it needs.");
}

}  // namespace hostform::lvm
