#include "providers/kvm/snapshot_kind.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <any>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>

#include "providers/kvm/session.h"
#include "reconciler/units.h"

namespace hostform::kvm {
namespace {

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string volumeId(const VolumeRef& v) { return v.pool + "/" + v.name; }

SnapshotStorage storageOf(SnapshotMode m) {
  return m == SnapshotMode::External ? SnapshotStorage::External : SnapshotStorage::Internal;
}

/// How long ago, as restore plans say it everywhere: "1h2m3s".
std::string ago(std::int64_t seconds) {
  return formatDuration(std::chrono::seconds(std::max<std::int64_t>(0, seconds)));
}

/// The names a frozen file may have: "<volume>@<snapshot>" within NAME_MAX.
constexpr std::size_t kNameMax = 255;

}  // namespace

bool servesResource(const Resource& r) {
  if (r.kind() != kinds::Snapshot) return true;
  const auto& s = r.as<SnapshotSpec>().source;
  return s.volume.has_value() || s.virtualMachine.has_value();
}

// ---- before a loss ----------------------------------------------------------------

std::optional<KeepVolume> keepVolumePlan(const VolumeInfo& volume, const KvmState& state, bool local,
                                         std::string& whyNot) {
  const PoolInfo* pool = state.findPool(volume.pool);
  const auto type = pool ? pool->type() : std::nullopt;
  if (!type || (*type != PoolType::Dir && *type != PoolType::Netfs)) {
    whyNot = "a volume of a logical pool is an LV libvirt removes; declare it as a LogicalVolume for LVM's snapshots";
    return std::nullopt;
  }
  if (!local || volume.config.path.empty()) {
    whyNot = "libvirt runs on another host, and hostform keeps a volume's file only on this host";
    return std::nullopt;
  }
  // <volume>-before-<UTC time>, a valid Snapshot name, its frozen file within NAME_MAX.
  const std::time_t t = static_cast<std::time_t>(state.observedAt);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "-before-%Y%m%dT%H%M%S", &utc);
  const std::size_t room = std::min<std::size_t>(127, (kNameMax - 1) / 2) - std::strlen(stamp);
  const std::string name = volume.config.name.substr(0, room) + stamp;
  return KeepVolume{volume.pool, volume.config.name, volume.config.path, name};
}

SnapshotFirst keepVolumeShown(const KeepVolume& k) {
  const std::string frozen = frozenVolumeName(k.volume, k.snapshot);
  return {"the volume's file, kept whole as " + k.pool + "/" + frozen, k.snapshot,
          "virsh vol-delete --pool " + k.pool + " " + frozen};
}

namespace {
Result<void> refreshPool(virConnectPtr conn, const std::string& name);
}

Result<void> keepVolume(const KeepVolume& k, virConnectPtr conn, const std::filesystem::path& stateDir,
                        const std::string& owner) {
  const fs::path frozen = fs::path(k.path).parent_path() / frozenVolumeName(k.volume, k.snapshot);
  std::error_code ec;
  if (fs::exists(frozen, ec)) return fail(frozen.string() + " already exists; hostform never overwrites a file.");
  const VolumeSnapshotRecord record{k.pool, k.volume, true, "", nowSeconds(), owner};
  if (auto ok = writeVolumeSnapshotRecord(stateDir, k.snapshot, record); !ok) return ok;
  fs::rename(k.path, frozen, ec);
  if (ec) {
    (void)writeVolumeSnapshotRecord(stateDir, k.snapshot, std::nullopt);
    return fail("cannot keep " + k.path + " as " + frozen.string() + ": " + ec.message() + ".");
  }
  return refreshPool(conn, k.pool);
}

// ---- observe -------------------------------------------------------------------------

Result<void> readSnapshots(virConnectPtr conn, bool local, const std::filesystem::path& stateDir, KvmState& state) {
  auto domains = readDomainSnapshots(conn);
  if (!domains) return hostform::unexpected(domains.error());
  std::vector<SnapshotInfo> found;
  for (const DomainSnapshotInfo& d : *domains) {
    state.domainSnapshotNames[d.domain].insert(d.name);
    if (d.owner.empty()) continue;  // not hostform's
    SnapshotInfo s;
    s.name = d.name;
    s.domain = d.domain;
    s.external = d.external;
    s.owner = d.owner;
    s.created = d.creationTime;
    s.memory = d.memory;
    s.domainState = d.state;
    found.push_back(std::move(s));
  }

  auto records = readVolumeSnapshotRecords(stateDir);
  if (!records) return hostform::unexpected(records.error());
  state.volumeSnapshotRecords = std::move(*records);
  // qemu-img reaches the files only on this host; one read per recorded volume.
  std::map<std::string, std::optional<ImageSnapshots>> images;
  for (const auto& [name, r] : state.volumeSnapshotRecords) {
    const VolumeInfo* v = state.findVolume(r.pool, r.volume);
    // A kept file outlives its volume; every other snapshot lives in or under it.
    if ((!v && r.safety.empty()) || !local) continue;
    SnapshotInfo s;
    s.name = name;
    s.volume = VolumeRef{r.pool, r.volume};
    s.external = r.external;
    s.owner = r.owner;
    s.created = r.created;
    s.kept = !r.safety.empty();
    if (r.external) {
      const VolumeInfo* frozen = state.findVolume(r.pool, frozenVolumeName(r.volume, name));
      if (!frozen) continue;  // merged or removed since
      s.used = frozen->config.allocation;
    } else {
      if (!v) continue;
      auto it = images.find(v->config.path);
      if (it == images.end()) {
        auto read = readImageSnapshots(v->config.path);
        if (!read) spdlog::warn("kvm: {}; its snapshots are taken as absent", read.error().message);
        it = images.emplace(v->config.path, read ? std::optional(std::move(*read)) : std::nullopt).first;
      }
      if (!it->second) continue;
      const auto& list = it->second->snapshots;
      auto snap = std::ranges::find(list, name, &ImageSnapshot::name);
      if (snap == list.end()) continue;  // deleted by hand
      s.created = snap->dateSec;
      s.used = snap->vmStateSize;
    }
    found.push_back(std::move(s));
  }

  std::ranges::stable_sort(found, {}, &SnapshotInfo::name);
  for (SnapshotInfo& s : found) {
    if (!state.snapshots.empty() && state.snapshots.back().name == s.name) {
      spdlog::warn("kvm: two snapshots are named {} (of {} and of {}); hostform sees only the first", s.name,
                   state.snapshots.back().volume ? volumeId(*state.snapshots.back().volume)
                                                 : "VM " + state.snapshots.back().domain,
                   s.volume ? volumeId(*s.volume) : "VM " + s.domain);
      continue;
    }
    state.snapshots.push_back(std::move(s));
  }
  return {};
}

std::vector<Observed> snapshotObjects(const KvmState& state) {
  std::vector<Observed> out;
  for (const SnapshotInfo& s : state.snapshots) {
    SnapshotSpec spec;
    if (s.volume)
      spec.source.volume = *s.volume;
    else
      spec.source.virtualMachine = s.domain;
    spec.mode = s.external ? SnapshotMode::External : SnapshotMode::Internal;
    out.push_back({Resource{ResourceId{kinds::Snapshot, "", s.name}, {}, spec, {}, {}}, s.owner});
  }
  return out;
}

// ---- plan ------------------------------------------------------------------------------

namespace {

/// A declared-only VM's disks, checked as domainSnapshotRefusal checks a live one.
std::optional<std::string> declaredDomainRefusal(const std::string& name, const VirtualMachineSpec& vm,
                                                 const PlanContext& ctx, const KvmState& state) {
  if (vm.firmware == Firmware::Uefi)
    return "VM " + name +
           " boots UEFI firmware from pflash, and libvirt takes no internal snapshot of such a VM; "
           "snapshot its volumes instead.";
  for (std::size_t i = 0; i < vm.disks.size(); ++i) {
    const DiskSpec& disk = vm.disks[i];
    if (disk.readOnly || disk.device == DiskDevice::Cdrom) continue;
    std::string format = "raw", what;
    if (const auto* ref = std::get_if<VolumeRef>(&disk.source)) {
      what = "volume " + volumeId(*ref);
      if (const Resource* r = ctx.findDesired(ResourceId{kinds::Volume, ref->pool, ref->name}))
        format = std::string(toString(r->as<VolumeSpec>().format));
      else if (const VolumeInfo* v = state.findVolume(ref->pool, ref->name))
        format = v->config.format.empty() ? "raw" : v->config.format;
    } else if (const auto* lv = std::get_if<LogicalVolumeRef>(&disk.source)) {
      what = "logical volume " + lv->volumeGroup + "/" + lv->name;
    } else {
      what = std::get<std::string>(disk.source);
    }
    if (format != "qcow2")
      return "disk " + disk.target.value_or("#" + std::to_string(i + 1)) + " of VM " + name + " (" + what + ") is " +
             format + ": internal snapshots of a VM need every writable disk in qcow2.";
  }
  return std::nullopt;
}

void planVolumeSnapshot(const std::string& name, const SnapshotSpec& spec, const PlanContext& ctx, const PlanInputs& in,
                        Diff& diff, SnapshotDelta& delta) {
  const VolumeRef& ref = *spec.source.volume;
  const SnapshotStorage storage = storageOf(spec.mode);
  const std::string field = "spec.source.volume";
  delta.volume = ref;
  // A volume's snapshots are all internal or all external: an external one
  // freezes the file that holds the internal ones (they would leave the
  // volume), and restoring an external one discards the overlay that holds
  // internal ones taken since.
  std::string other;
  for (const SnapshotInfo& s : in.state.snapshots)
    if (other.empty() && s.name != name && s.volume == ref && s.external != (storage == SnapshotStorage::External))
      other = s.name;
  for (const auto& [id, r] : ctx.desired)
    if (other.empty() && id.kind == kinds::Snapshot && id.name != name) {
      const auto& s = r->as<SnapshotSpec>();
      if (s.source.volume == ref && s.mode != spec.mode) other = id.name;
    }
  if (!other.empty())
    diff.problems.push_back({"spec.mode", "volume " + volumeId(ref) + " also has " +
                                              (storage == SnapshotStorage::External ? "internal" : "external") +
                                              " snapshot " + other +
                                              ": a volume's snapshots are all internal or all external (an external "
                                              "snapshot freezes the file that holds the internal ones)."});
  if (storage == SnapshotStorage::External && ref.name.size() + 1 + name.size() > kNameMax)
    diff.problems.push_back({"metadata.name", "the frozen file " + frozenVolumeName(ref.name, name) +
                                                  " would be longer than 255 bytes; choose a shorter name."});
  if (const VolumeInfo* v = in.state.findVolume(ref.pool, ref.name)) {
    delta.path = v->config.path;
    if (auto why = volumeSnapshotRefusal(*v, in.state, storage, in.localHost)) {
      diff.problems.push_back({field, *why});
      return;
    }
    if (storage == SnapshotStorage::External) {
      if (in.state.findVolume(ref.pool, frozenVolumeName(ref.name, name)))
        diff.problems.push_back({"metadata.name", "storage pool " + ref.pool + " already holds a volume " +
                                                      frozenVolumeName(ref.name, name) + "; choose another name."});
    } else if (auto image = readImageSnapshots(v->config.path); !image) {
      diff.problems.push_back({field, image.error().message});
    } else if (std::ranges::find(image->snapshots, name, &ImageSnapshot::name) != image->snapshots.end()) {
      diff.problems.push_back({"metadata.name", "volume " + volumeId(ref) + " already holds an internal snapshot " +
                                                    name +
                                                    " that hostform did not take; choose another name, or "
                                                    "delete it (qemu-img snapshot -d " +
                                                    name + " " + v->config.path + ")."});
    }
    return;
  }
  // Declared, not made yet: what the manifest says of it.
  const Resource* r = ctx.findDesired(ResourceId{kinds::Volume, ref.pool, ref.name});
  if (!r) return;  // the reference check reports it
  const auto& vol = r->as<VolumeSpec>();
  if (vol.format != VolumeFormat::Qcow2)
    diff.problems.push_back(
        {field, "volume " + volumeId(ref) + " is " + std::string(toString(vol.format)) + ": " +
                    (storage == SnapshotStorage::Internal ? "internal snapshots live inside a qcow2 image"
                                                          : "an external snapshot would turn it into a qcow2 overlay") +
                    "; declare the volume with format: qcow2."});
  else if (storage == SnapshotStorage::External && vol.backingVolume)
    diff.problems.push_back({field, "volume " + volumeId(ref) + " is an overlay on " + volumeId(*vol.backingVolume) +
                                        ": an external snapshot would change its backing volume; take an internal "
                                        "snapshot."});
}

void planDomainSnapshot(const std::string& name, const SnapshotSpec& spec, const PlanContext& ctx, const PlanInputs& in,
                        Diff& diff, SnapshotDelta& delta) {
  const std::string& vm = *spec.source.virtualMachine;
  const std::string field = "spec.source.virtualMachine";
  delta.domain = vm;
  const SnapshotStorage storage = storageOf(spec.mode);
  if (const DomainInfo* d = in.state.findDomain(vm)) {
    if (auto why = domainSnapshotRefusal(*d, in.state, storage)) {
      diff.problems.push_back({spec.mode == SnapshotMode::External ? "spec.mode" : field, *why});
      return;
    }
    if (auto names = in.state.domainSnapshotNames.find(vm);
        names != in.state.domainSnapshotNames.end() && names->second.contains(name))
      diff.problems.push_back({"metadata.name", "VM " + vm + " already has a snapshot " + name +
                                                    " that hostform did not take; choose another name, or delete it "
                                                    "(virsh snapshot-delete " +
                                                    vm + " " + name + ")."});
    return;
  }
  if (storage == SnapshotStorage::External) {
    DomainInfo none;
    none.config.name = vm;
    diff.problems.push_back({"spec.mode", *domainSnapshotRefusal(none, in.state, storage)});
    return;
  }
  if (const Resource* r = ctx.findDesired(ResourceId{kinds::VirtualMachine, "", vm}))
    if (auto why = declaredDomainRefusal(vm, r->as<VirtualMachineSpec>(), ctx, in.state))
      diff.problems.push_back({field, *why});
}

}  // namespace

Diff planSnapshot(const Resource& desired, const Observed* live, const PlanContext& ctx, const PlanInputs& in) {
  Diff diff;
  const auto& spec = desired.as<SnapshotSpec>();
  const std::string& name = desired.id.name;
  if (spec.size)
    diff.problems.push_back({"spec.size", "a snapshot of a " +
                                              std::string(spec.source.volume ? "volume" : "virtual machine") +
                                              " has no size: qcow2 and libvirt snapshots take the space they need."});
  if (live) {
    const auto& have = live->resource.as<SnapshotSpec>();
    if (have.source != spec.source)
      diff.problems.push_back({"spec.source", "Snapshot/" + name + " is a snapshot of " + have.source.shown() +
                                                  " on the host; a snapshot cannot be changed; declare a new name."});
    else if (have.mode != spec.mode)
      diff.problems.push_back({"spec.mode", "Snapshot/" + name + " is " + std::string(toString(have.mode)) +
                                                " on the host; a snapshot cannot be changed; declare a new name."});
    return diff;
  }
  SnapshotDelta delta;
  delta.name = name;
  delta.external = spec.mode == SnapshotMode::External;
  if (spec.source.volume)
    planVolumeSnapshot(name, spec, ctx, in, diff, delta);
  else if (spec.source.virtualMachine)
    planDomainSnapshot(name, spec, ctx, in, diff, delta);
  diff.delta = delta;
  return diff;
}

// ---- deletion --------------------------------------------------------------------------

Deletion snapshotDeletion(const Observed& live, const PlanContext&, const KvmState& state, bool local) {
  Deletion d;
  const SnapshotInfo* s = state.findSnapshot(live.resource.id.name);
  if (!s) return d;
  SnapshotDelta delta{s->name, s->volume, {}, s->domain, s->external};
  if (s->volume) {
    const VolumeInfo* v = state.findVolume(s->volume->pool, s->volume->name);
    if (!v) {
      d.problems.push_back({"", "volume " + volumeId(*s->volume) + " is gone."});
      return d;
    }
    delta.path = v->config.path;
    // Deleting changes the image as taking did: the same refusals (a running
    // VM holds the image's lock); an overlay is fine to delete from.
    if (auto why = volumeSnapshotRefusal(*v, state, SnapshotStorage::Internal, local)) d.problems.push_back({"", *why});
    d.dataLoss =
        "deleting snapshot " + s->name + " of volume " + volumeId(*s->volume) + " drops the point in time it keeps" +
        (s->external ? " (its frozen file " + frozenVolumeName(s->volume->name, s->name) + " is merged into the volume)"
                     : std::string());
  } else {
    d.dataLoss = "deleting snapshot " + s->name + " of VM " + s->domain + " drops the point in time it keeps";
  }
  d.delta = delta;
  return d;
}

// ---- apply -----------------------------------------------------------------------------

namespace {

Result<void> refreshPool(virConnectPtr conn, const std::string& name) {
  PoolHandle pool(virStoragePoolLookupByName(conn, name.c_str()));
  if (!pool || virStoragePoolRefresh(pool.get(), 0) < 0) return libvirtFailure("cannot refresh storage pool " + name);
  return {};
}

}  // namespace

Result<void> applySnapshot(const Action& a, const ApplyContext& ctx, virConnectPtr conn, const KvmState&,
                           const std::filesystem::path& stateDir) {
  const auto* delta = std::any_cast<SnapshotDelta>(&a.delta);
  if (!delta) return fail("internal error: the plan of " + a.id.str() + " carries no snapshot delta");
  if (a.op == Op::Create) {
    if (!delta->volume) return createDomainSnapshot(conn, delta->domain, delta->name, ctx.owner);
    // The record first, as the ledger is written before an object is made: a
    // crash in between leaves a record of nothing, never a snapshot of no one.
    const VolumeSnapshotRecord record{delta->volume->pool, delta->volume->name, delta->external, ctx.owner,
                                      nowSeconds()};
    if (auto ok = writeVolumeSnapshotRecord(stateDir, delta->name, record); !ok) return ok;
    auto made = delta->external ? createExternalVolumeSnapshot(delta->path, delta->name)
                                : createImageSnapshot(delta->path, delta->name);
    if (!made) {
      (void)writeVolumeSnapshotRecord(stateDir, delta->name, std::nullopt);
      return made;
    }
    if (delta->external) return refreshPool(conn, delta->volume->pool);
    return {};
  }
  if (a.op == Op::Delete) {
    if (!delta->volume) return deleteDomainSnapshot(conn, delta->domain, delta->name);
    auto gone = delta->external ? deleteExternalVolumeSnapshot(delta->path, delta->name)
                                : deleteImageSnapshot(delta->path, delta->name);
    if (!gone) return gone;
    if (auto ok = writeVolumeSnapshotRecord(stateDir, delta->name, std::nullopt); !ok) return ok;
    if (delta->external) return refreshPool(conn, delta->volume->pool);
    return {};
  }
  return fail("internal error: a snapshot is never updated (" + a.id.str() + ")");
}

// ---- status ----------------------------------------------------------------------------

std::vector<StatusFact> snapshotStatus(const SnapshotInfo& s, const KvmState& state, bool local) {
  std::vector<StatusFact> out{wordFact("state", "present"), secondsFact("age", nowSeconds() - s.created)};
  if (s.volume) {
    // External: the frozen file's allocation of the volume's size, as a thin
    // snapshot's data% of its virtual size. Internal: qcow2 counts no clusters
    // per snapshot, so nobody can say.
    std::optional<double> used;
    if (s.external)
      if (const VolumeInfo* v = state.findVolume(s.volume->pool, s.volume->name); v && v->config.capacity > 0)
        used = 100.0 * static_cast<double>(s.used) / static_cast<double>(v->config.capacity);
    out.push_back(percentFact("used", used));
    out.push_back(wordFact("origin", "volume " + volumeId(*s.volume)));
    out.push_back(wordFact("mode", s.external ? "external" : "internal"));
    return out;
  }
  out.push_back(percentFact("used", std::nullopt));
  out.push_back(wordFact("origin", "virtualMachine " + s.domain));
  out.push_back(wordFact("mode", s.external ? "external" : "internal"));
  // The memory of a running VM's snapshot is kept in its qcow2 disks: their vm-state-size.
  if (s.memory) {
    std::optional<Bytes> memory;
    const DomainInfo* d = state.findDomain(s.domain);
    if (d && local) {
      memory = 0;
      for (const DomainDisk& disk : d->config.disks) {
        const VolumeInfo* v =
            disk.type == "volume" ? state.findVolume(disk.pool, disk.volume) : state.volumeByPath(disk.source);
        const std::string path = v ? v->config.path : disk.source;
        if (disk.readOnly || path.empty()) continue;
        auto image = readImageSnapshots(path);
        if (!image) {
          memory.reset();
          break;
        }
        for (const ImageSnapshot& is : image->snapshots)
          if (is.name == s.name) *memory += is.vmStateSize;
      }
    }
    out.push_back(memory ? sizeFact("memory", *memory) : wordFact("memory", "unknown"));
  } else {
    out.push_back(wordFact("memory", "none"));
  }
  return out;
}

// ---- restore ---------------------------------------------------------------------------

namespace {
struct RestoreDelta {
  SnapshotDelta snapshot;
  std::string keptFile;  ///< a kept file: renamed back to snapshot.path
};
}  // namespace

RestorePlan planSnapshotRestore(const Observed& live, const PlanContext&, const KvmState& state, bool local) {
  RestorePlan plan;
  const SnapshotInfo* s = state.findSnapshot(live.resource.id.name);
  if (!s) {
    plan.problems.push_back({"", "it is no longer on the host."});
    return plan;
  }
  SnapshotDelta delta{s->name, s->volume, {}, s->domain, s->external};
  const std::string taken = " taken " + ago(nowSeconds() - s->created) + " ago: discards everything written since";
  if (s->volume) {
    plan.source = ResourceId{kinds::Volume, s->volume->pool, s->volume->name};
    const VolumeInfo* v = state.findVolume(s->volume->pool, s->volume->name);
    if (s->kept) {
      const VolumeInfo* f = state.findVolume(s->volume->pool, frozenVolumeName(s->volume->name, s->name));
      plan.description = "restore " + plan.source.str() + ", deleted or refilled since, from snapshot " + s->name +
                         " taken " + ago(nowSeconds() - s->created) + " ago";
      if (v)
        plan.problems.push_back({"", "volume " + volumeId(*s->volume) +
                                         " exists again; delete it first (hostform apply --prune, or virsh vol-delete "
                                         "--pool " + s->volume->pool + " " + s->volume->name + ")."});
      if (!f) {
        plan.problems.push_back({"", "its kept file is gone."});
        return plan;
      }
      delta.path = (std::filesystem::path(f->config.path).parent_path() / s->volume->name).string();
      plan.notes.push_back("the kept file " + frozenVolumeName(s->volume->name, s->name) + " becomes volume " +
                           volumeId(*s->volume) + " again (renamed back); declare it to own it again");
      plan.delta = RestoreDelta{delta, f->config.path};
      return plan;
    }
    plan.description = "restore " + plan.source.str() + " to snapshot " + s->name + taken;
    if (!v) {
      plan.problems.push_back({"", "volume " + volumeId(*s->volume) + " is gone."});
      return plan;
    }
    delta.path = v->config.path;
    if (auto why = volumeSnapshotRefusal(*v, state, SnapshotStorage::Internal, local))
      plan.problems.push_back({"", *why});
    if (s->external) {
      const std::string frozen = frozenVolumeName(s->volume->name, s->name);
      const VolumeInfo* f = state.findVolume(s->volume->pool, frozen);
      if (f && v->config.backingPath != f->config.path)
        plan.problems.push_back({"", "volume " + volumeId(*s->volume) + " is not backed by " + frozen +
                                         ": a newer external snapshot lies between them. Delete the newer snapshots "
                                         "first, or restore the newest."});
      plan.notes.push_back("the volume becomes a new empty overlay on " + frozen + "; the snapshot stays");
    } else {
      plan.notes.push_back("qemu-img snapshot -a: the image's content becomes the snapshot's; the snapshot stays");
    }
  } else {
    plan.source = ResourceId{kinds::VirtualMachine, "", s->domain};
    plan.description = "restore " + plan.source.str() + " to snapshot " + s->name + taken;
    const DomainInfo* d = state.findDomain(s->domain);
    if (!d) {
      plan.problems.push_back({"", "VM " + s->domain + " is gone."});
      return plan;
    }
    if (s->external)
      plan.problems.push_back({"",
                               "libvirt 9.0 cannot revert to an external snapshot (revert to external snapshot "
                               "not supported yet)."});
    if (s->memory)
      plan.notes.push_back("the VM runs again from the moment of the snapshot, with the memory it had then");
    else
      plan.notes.push_back(std::string("the VM's disks return to the snapshot's; the VM is ") +
                           (s->domainState == "running" ? "running" : "stopped") + " afterwards, as it was then");
    plan.notes.push_back("the snapshot stays");
  }
  plan.delta = RestoreDelta{delta};
  return plan;
}

Result<void> restoreSnapshot(const RestorePlan& plan, virConnectPtr conn, const std::filesystem::path& stateDir) {
  const auto* restore = std::any_cast<RestoreDelta>(&plan.delta);
  if (!restore) return fail("internal error: the restore plan carries no snapshot delta");
  const SnapshotDelta& d = restore->snapshot;
  if (!restore->keptFile.empty()) {
    std::error_code ec;
    if (fs::exists(d.path, ec)) return fail(d.path + " exists again; nothing was changed.");
    fs::rename(restore->keptFile, d.path, ec);
    if (ec) return fail("cannot rename " + restore->keptFile + " to " + d.path + ": " + ec.message() + ".");
    if (auto ok = writeVolumeSnapshotRecord(stateDir, d.name, std::nullopt); !ok) return ok;
    return refreshPool(conn, d.volume->pool);
  }
  if (!d.volume) return revertDomainSnapshot(conn, d.domain, d.name);
  if (d.external) return revertExternalVolumeSnapshot(d.path, d.name);
  return revertImageSnapshot(d.path, d.name);
}

}  // namespace hostform::kvm
