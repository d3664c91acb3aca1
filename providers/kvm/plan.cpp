#include "providers/kvm/plan.h"
#include "providers/kvm/snapshot_kind.h"
#include "reconciler/kinds/snapshot.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <random>
#include <set>

#include "providers/kvm/image.h"

namespace hostform::kvm {
namespace {

std::string str(bool b) { return b ? "true" : "false"; }

std::string trimSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

/// The pool a volume lives in, declared or live.
struct PoolView {
  std::optional<PoolType> type;
  std::string target;      ///< directory (dir, netfs) or /dev/<vg> (logical)
  std::string volumeGroup; ///< logical
  bool active = false;
  bool exists = false;     ///< on the host now
  Bytes available = 0;
};

PoolView poolView(const std::string& name, const PlanContext& ctx, const KvmState& state) {
  PoolView v;
  if (const PoolInfo* live = state.findPool(name)) {
    v.type = live->type();
    v.target = trimSlash(live->config.target);
    v.volumeGroup = live->config.sourceName;
    v.active = live->active;
    v.exists = true;
    v.available = live->config.available;
  }
  if (const Resource* declared = ctx.findDesired(ResourceId{kinds::StoragePool, "", name})) {
    const auto& s = declared->as<StoragePoolSpec>();
    v.type = s.type;
    if (s.type == PoolType::Logical) {
      v.volumeGroup = s.source.volumeGroup.value_or("");
      v.target = "/dev/" + v.volumeGroup;
    } else {
      v.target = trimSlash(s.target.value_or(""));
    }
    v.active = s.active;
  }
  return v;
}

/// The path a volume has or will have.
std::string volumePath(const VolumeRef& ref, const PlanContext& ctx, const KvmState& state) {
  if (const VolumeInfo* v = state.findVolume(ref.pool, ref.name)) return v->config.path;
  PoolView pool = poolView(ref.pool, ctx, state);
  if (pool.target.empty()) return {};
  return pool.target + "/" + ref.name;
}

std::string volumeFormat(const VolumeRef& ref, const PlanContext& ctx, const KvmState& state) {
  if (const Resource* declared = ctx.findDesired(ResourceId{kinds::Volume, ref.pool, ref.name})) {
    if (poolView(ref.pool, ctx, state).type == PoolType::Logical) return "raw";
    return std::string(toString(declared->as<VolumeSpec>().format));
  }
  if (const VolumeInfo* v = state.findVolume(ref.pool, ref.name))
    return v->config.format == "qcow2" ? "qcow2" : "raw";
  return "raw";
}

Bytes roundUp(Bytes value, Bytes unit) { return unit == 0 ? value : (value + unit - 1) / unit * unit; }

Bytes extentSizeOf(const std::string& vg, const PlanContext& ctx) {
  const ResourceId id{kinds::VolumeGroup, "", vg};
  if (const Observed* live = ctx.findObserved(id)) return live->resource.as<VolumeGroupSpec>().extentSize;
  if (const Resource* declared = ctx.findDesired(id)) return declared->as<VolumeGroupSpec>().extentSize;
  return 4 * MiB;
}

std::string busPrefix(DiskBus bus) { return bus == DiskBus::Virtio ? "vd" : bus == DiskBus::Ide ? "hd" : "sd"; }

/// vda, vdb, ..., vdz, vdaa, ...
std::string targetName(const std::string& prefix, std::size_t index) {
  std::string suffix;
  std::size_t n = index;
  do {
    suffix.insert(suffix.begin(), static_cast<char>('a' + n % 26));
    n = n / 26;
  } while (n-- > 0);
  return prefix + suffix;
}

/// Targets of declared disks: explicit ones kept, the rest assigned in order.
std::vector<std::string> assignTargets(const std::vector<DiskSpec>& disks) {
  std::set<std::string> used;
  for (const DiskSpec& d : disks)
    if (d.target) used.insert(*d.target);
  std::vector<std::string> out;
  for (const DiskSpec& d : disks) {
    if (d.target) {
      out.push_back(*d.target);
      continue;
    }
    std::string prefix = busPrefix(d.bus);
    for (std::size_t i = 0;; ++i) {
      std::string t = targetName(prefix, i);
      if (used.insert(t).second) {
        out.push_back(t);
        break;
      }
    }
  }
  return out;
}

/// The path a domain's disk reads, whatever way the XML names it.
std::string diskPath(const DomainDisk& d, const KvmState& state) {
  if (d.type != "volume") return d.source;
  if (const VolumeInfo* v = state.findVolume(d.pool, d.volume)) return v->config.path;
  return {};
}

bool sameSource(const DomainDisk& want, const DomainDisk& have, const KvmState& state, const std::string& wantPath) {
  if (want.type == "volume" && have.type == "volume") return want.pool == have.pool && want.volume == have.volume;
  const std::string havePath = diskPath(have, state);
  return !wantPath.empty() && wantPath == havePath;
}

std::string describeSource(const DiskSpec& d) {
  if (auto* v = std::get_if<VolumeRef>(&d.source)) return "volume " + v->pool + "/" + v->name;
  if (auto* lv = std::get_if<LogicalVolumeRef>(&d.source)) return "logicalVolume " + lv->volumeGroup + "/" + lv->name;
  return "path " + std::get<std::string>(d.source);
}

std::string describeDisk(const DiskSpec& d, const DomainDisk& resolved) {
  if (resolved.device == "cdrom") return describeSource(d) + " (cdrom, " + resolved.bus + ")";
  return describeSource(d) + " (" + resolved.bus + (resolved.readOnly ? ", read-only" : "") + ")";
}

/// A boot file's path on the host: a volume's path (as disks resolve theirs).
std::string bootFilePath(const BootFile& f, const PlanContext& ctx, const KvmState& state) {
  if (auto* v = std::get_if<VolumeRef>(&f)) return volumePath(*v, ctx, state);
  return std::get<std::string>(f);
}

std::string orNone(const std::string& s) { return s.empty() ? "(none)" : s; }

std::string describeBoot(const std::vector<BootDevice>& boot) {
  std::string out = "[";
  for (std::size_t i = 0; i < boot.size(); ++i) out += (i ? ", " : "") + std::string(toString(boot[i]));
  return out + "]";
}

bool hotPluggable(const std::string& bus) { return bus == "virtio" || bus == "scsi"; }

}  // namespace

std::string randomMac(const KvmState& state) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::set<std::string> used;
  for (const DomainInfo& d : state.domains)
    for (const DomainNic& n : d.config.nics) used.insert(n.mac);
  for (;;) {
    std::uniform_int_distribution<int> byte(0, 255);
    char mac[18];
    std::snprintf(mac, sizeof mac, "52:54:00:%02x:%02x:%02x", byte(rng), byte(rng), byte(rng));
    if (!used.contains(mac)) return mac;
  }
}

Result<DomainDisk> resolveDisk(const DiskSpec& disk, const std::string& target, const PlanContext& ctx,
                               const KvmState& state) {
  DomainDisk out;
  out.target = target;
  out.bus = std::string(toString(disk.bus));
  out.readOnly = disk.readOnly;
  out.device = std::string(toString(disk.device));
  if (auto* v = std::get_if<VolumeRef>(&disk.source)) {
    out.type = "volume";
    out.pool = v->pool;
    out.volume = v->name;
    out.driverType = volumeFormat(*v, ctx, state);
  } else if (auto* lv = std::get_if<LogicalVolumeRef>(&disk.source)) {
    out.type = "block";
    out.source = "/dev/" + lv->volumeGroup + "/" + lv->name;
    out.driverType = "raw";
  } else {
    const std::string& path = std::get<std::string>(disk.source);
    out.type = path.starts_with("/dev/") ? "block" : "file";
    out.source = path;
    out.driverType = "raw";
  }
  return out;
}

// ---- StoragePool ------------------------------------------------------------

Diff planPool(const Resource& desired, const Observed* live, const PlanContext&, PlanInputs in) {
  Diff diff;
  const auto& want = desired.as<StoragePoolSpec>();
  const std::string& name = desired.id.name;
  if (!live) {
    // Defined inactive and without autostart: started when declared active,
    // autostart set either way.
    diff.delta = PoolDelta{want.active ? std::optional(true) : std::nullopt, want.autostart};
    if (const PoolInfo* other = in.state.findPool(name))
      diff.problems.push_back({"metadata.name", "a storage pool named " + name + " of type " + other->config.type +
                                                    " exists; hostform manages dir, logical and netfs pools only."});
    if (in.localHost && want.target && want.type != PoolType::Logical) {
      std::error_code ec;
      auto st = std::filesystem::status(*want.target, ec);
      if (!ec && std::filesystem::exists(st) && !std::filesystem::is_directory(st))
        diff.problems.push_back({"spec.target", *want.target + " exists and is not a directory."});
    }
    return diff;
  }
  const auto& have = live->resource.as<StoragePoolSpec>();
  auto immutable = [&](const std::string& field, const std::string& from, const std::string& to) {
    if (from == to) return;
    diff.problems.push_back({"spec." + field, "storage pool " + name + " has " + field + " " + from +
                                                  " on the host and " + to +
                                                  " in the manifest; it is fixed when the pool is created."});
  };
  immutable("type", std::string(toString(have.type)), std::string(toString(want.type)));
  if (have.type == want.type) {
    if (want.type == PoolType::Logical) {
      immutable("source.volumeGroup", have.source.volumeGroup.value_or(""), want.source.volumeGroup.value_or(""));
    } else {
      immutable("target", trimSlash(have.target.value_or("")), trimSlash(want.target.value_or("")));
    }
    if (want.type == PoolType::Netfs) {
      immutable("source.host", have.source.host.value_or(""), want.source.host.value_or(""));
      immutable("source.path", trimSlash(have.source.path.value_or("")), trimSlash(want.source.path.value_or("")));
    }
  }
  PoolDelta delta;
  if (have.active != want.active) {
    diff.changes.push_back({"active", str(have.active), str(want.active)});
    delta.active = want.active;
  }
  if (have.autostart != want.autostart) {
    diff.changes.push_back({"autostart", str(have.autostart), str(want.autostart)});
    delta.autostart = want.autostart;
  }
  diff.delta = delta;
  return diff;
}

// ---- Volume -------------------------------------------------------------------

Bytes effectiveCapacity(const Resource& volume, const PlanContext& ctx, const KvmState& state) {
  const auto& spec = volume.as<VolumeSpec>();
  PoolView pool = poolView(spec.pool, ctx, state);
  if (pool.type == PoolType::Logical) return roundUp(spec.capacity, extentSizeOf(pool.volumeGroup, ctx));
  return roundUp(spec.capacity, 512);
}

namespace {

/// What a plan can tell of a source's image without fetching anything: a local
/// file's size and qemu-img's word on it, a download's if it is cached, else
/// that it is downloaded at apply.
struct SourceLook {
  std::string shown;             ///< the plan's `source.size`
  std::optional<ImageInfo> info;
  std::vector<Diff::Problem> problems;
};

SourceLook lookAtSource(const ImageSource& src, const std::filesystem::path& stateDir) {
  SourceLook out;
  std::filesystem::path file;
  const std::string field = src.path.empty() ? "spec.source.url" : "spec.source.path";
  std::error_code ec;
  bool cached = false;
  if (src.local()) {
    // hostform reads the file itself and streams it to libvirt, so it is
    // checked here whether libvirt is local or not.
    file = src.localPath();
    const auto st = std::filesystem::status(file, ec);
    if (!std::filesystem::exists(st)) {
      out.problems.push_back({field, file.string() + " does not exist."});
      return out;
    }
    if (!std::filesystem::is_regular_file(st)) {
      out.problems.push_back({field, file.string() + " is not a regular file."});
      return out;
    }
  } else {
    file = cachedImage(stateDir, src.sha256);
    if (stateDir.empty() || !std::filesystem::is_regular_file(file, ec)) {
      out.shown = "(downloaded at apply)";
      return out;
    }
    cached = true;
  }
  auto info = inspectImage(file);
  if (!info) {
    out.problems.push_back({field, "cannot use " + file.string() + " as an image: " + info.error().message});
    return out;
  }
  out.shown = approximateSize(info->fileSize) + " " + info->format + " image, virtual size " +
              formatSize(info->virtualSize) + (cached ? " (downloaded before)" : "");
  out.info = std::move(*info);
  return out;
}

/// The parts of a create from a source: the image's size for the plan, and
/// what stands in the way.
void planSource(const VolumeSpec& want, const std::string& id, PlanInputs in, Diff& diff) {
  SourceLook look = lookAtSource(*want.source, in.stateDir);
  for (auto& p : look.problems) diff.problems.push_back(std::move(p));
  if (!look.shown.empty()) diff.changes.push_back({"source.size", std::nullopt, look.shown, ChangeClass::Live});
  if (look.info && want.capacity > 0 && want.capacity < look.info->virtualSize)
    diff.problems.push_back({"spec.capacity", id + " is filled from an image of virtual size " +
                                                  formatSize(look.info->virtualSize) + ", more than its capacity " +
                                                  formatSize(want.capacity) +
                                                  "; declare a capacity at least that large, or none (the image's size)."});
}

/// Whether the volume's file, read here, already holds the bytes `sha256` names.
bool contentIs(const VolumeInfo& v, const std::string& sha256, bool localHost) {
  std::error_code ec;
  if (!localHost || v.config.path.empty() || !std::filesystem::is_regular_file(v.config.path, ec)) return false;
  auto sum = sha256OfFile(v.config.path);
  return sum && *sum == sha256;
}

}  // namespace

Diff planVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in) {
  Diff diff;
  const auto& want = desired.as<VolumeSpec>();
  const std::string id = desired.id.str();
  PoolView pool = poolView(want.pool, ctx, in.state);
  const Bytes capacity = effectiveCapacity(desired, ctx, in.state);
  const bool logical = pool.type == PoolType::Logical;
  VolumeDelta delta{capacity, want.allocation == Allocation::Full || logical, logical};
  delta.source = want.source;
  delta.format = logical ? VolumeFormat::Raw : want.format;

  if (pool.type == PoolType::Logical && want.format == VolumeFormat::Qcow2)
    diff.problems.push_back({"spec.format", "storage pool " + want.pool +
                                                " is a logical pool: its volumes are logical volumes and always raw; "
                                                "set format: raw."});
  if (pool.type == PoolType::Logical && want.backingVolume)
    diff.problems.push_back({"spec.backingVolume", "volumes of logical pool " + want.pool + " cannot have a backing volume."});

  if (!live) {
    diff.delta = delta;
    if (!pool.active)
      diff.problems.push_back({"spec.pool", "storage pool " + want.pool +
                                                " is not active (spec.active: false), so volumes cannot be created in it."});
    if (delta.full && pool.exists && pool.available > 0 && capacity > pool.available)
      diff.problems.push_back({"spec.capacity", "storage pool " + want.pool + " has " + formatSize(pool.available) +
                                                    " free, and " + id + " needs " + formatSize(capacity) + "."});
    if (const VolumeInfo* other = in.state.findVolume(want.pool, desired.id.name); other)
      diff.problems.push_back({"metadata.name", "storage pool " + want.pool + " holds a volume " + desired.id.name +
                                                    " that hostform cannot describe."});
    if (want.source) planSource(want, id, in, diff);
    return diff;
  }

  const auto& have = live->resource.as<VolumeSpec>();
  // The image the volume was filled from, as recorded. A volume without a
  // record is taken as it is: hostform never overwrites content it did not write.
  const auto record = in.state.sources.find(recordKey(want.pool, desired.id.name));
  if (want.source && record != in.state.sources.end()) {
    const SourceRecord& had = record->second;
    if (had.importing) {
      // An import cut short (a crash mid-upload): what is there is no one's data.
      diff.changes.push_back({"source", "(import cut short)", want.source->shown(), ChangeClass::Replace});
      planSource(want, id, in, diff);
      diff.delta = delta;
      return diff;
    }
    if (had.source.sha256 != want.source->sha256) {
      const VolumeInfo* v = in.state.findVolume(want.pool, desired.id.name);
      if (v && contentIs(*v, want.source->sha256, in.localHost)) {
        // Already those bytes: only the record follows the manifest.
        diff.changes.push_back({"source", had.source.shown(), want.source->shown(), ChangeClass::Live});
        delta.recordOnly = want.source;
      } else {
        diff.changes.push_back({"source", had.source.shown(), want.source->shown(), ChangeClass::Replace});
        planSource(want, id, in, diff);
        diff.dataLoss = "filling " + id + " from image sha256:" + want.source->sha256.substr(0, 12) +
                        " replaces its content (image sha256:" + had.source.sha256.substr(0, 12) +
                        " and whatever was written since)";
        diff.loss.destroys = have.capacity;
        // It is deleted and made anew: the deletion keeps the old file (deletionOf).
        std::string whyNot;
        if (ctx.snapshotBeforeLoss && v) {
          if (auto keep = keepVolumePlan(*v, in.state, in.localHost, whyNot))
            diff.loss.snapshotFirst = keepVolumeShown(*keep);
          else
            diff.loss.noSnapshot = whyNot;
        }
        diff.delta = delta;
        return diff;
      }
    } else if (had.source != *want.source) {
      // Same bytes from another place: nothing to import.
      diff.changes.push_back({"source", had.source.shown(), want.source->shown(), ChangeClass::Live});
      delta.recordOnly = want.source;
    }
  }
  if (have.format != want.format && pool.type != PoolType::Logical)
    diff.problems.push_back({"spec.format", id + " is " + std::string(toString(have.format)) + " on the host and " +
                                                std::string(toString(want.format)) +
                                                " in the manifest; the format is fixed when a volume is created."});
  auto backingName = [](const std::optional<VolumeRef>& r) { return r ? r->pool + "/" + r->name : std::string("none"); };
  if (want.backingVolume && have.backingVolume != want.backingVolume)
    diff.problems.push_back({"spec.backingVolume", id + " has backing volume " + backingName(have.backingVolume) +
                                                       " on the host and " + backingName(want.backingVolume) +
                                                       " in the manifest; it is fixed when a volume is created."});
  // A thin volume the guest has filled is still thin by intent: only "full
  // declared, thin on the host" is a real difference, and it cannot be applied.
  if (want.allocation == Allocation::Full && have.allocation == Allocation::Thin && pool.type != PoolType::Logical)
    diff.problems.push_back({"spec.allocation", id + " is thin on the host; preallocation happens when a volume is "
                                                     "created and cannot be added later."});
  // With a source and no capacity, the volume is as large as its image made it.
  const bool sized = !(want.source && want.capacity == 0);
  if (sized && have.capacity != capacity) {
    if (pool.type == PoolType::Logical) {
      diff.problems.push_back({"spec.capacity", "libvirt cannot resize volumes of logical pool " + want.pool +
                                                    "; declare the logical volume as a LogicalVolume to resize it."});
    } else {
      diff.changes.push_back({"capacity", formatSize(have.capacity), formatSize(capacity), ChangeClass::Live});
      delta.resize = true;
      delta.shrink = capacity < have.capacity;
      if (delta.shrink) {
        diff.dataLoss = "shrinking " + id + " from " + formatSize(have.capacity) + " to " + formatSize(capacity) +
                        " discards everything stored beyond " + formatSize(capacity);
        diff.loss.destroys = have.capacity - capacity;
        if (ctx.snapshotBeforeLoss)
          diff.loss.noSnapshot = "qemu-img cannot shrink a qcow2 image that holds a snapshot, and a raw file holds none";
        for (const SnapshotInfo& snap : in.state.snapshots)
          if (snap.volume && !snap.external && snap.volume->pool == want.pool && snap.volume->name == desired.id.name)
            diff.problems.push_back({"spec.capacity", id + " holds internal snapshot " + snap.name +
                                                          ", and qemu-img cannot shrink a qcow2 image that holds "
                                                          "snapshots; delete them first."});
      } else if (want.allocation == Allocation::Full && pool.available > 0 && capacity - have.capacity > pool.available)
        diff.problems.push_back({"spec.capacity", "storage pool " + want.pool + " has " + formatSize(pool.available) +
                                                      " free; growing " + id + " needs " +
                                                      formatSize(capacity - have.capacity) + "."});
    }
  }
  diff.delta = delta;
  return diff;
}

// ---- VirtualMachine ------------------------------------------------------------

namespace {

/// Where a change shows in a VM's plan: settings first, then disks and
/// interfaces, then autostart and state, the order an operator reads a VM's
/// definition in.
enum class Section : std::uint8_t { Settings, Disks, Interfaces, Autostart, State, Restart, Count };

}  // namespace

bool DomainDelta::hasLiveChanges() const {
  return liveMemory || liveVcpus || !detachDisks.empty() || !attachDisks.empty() || !detachNics.empty() ||
         !retargetNics.empty() || !attachNics.empty();
}

std::string seedPool(const VirtualMachineSpec& spec) {
  if (spec.cloudInit && spec.cloudInit->pool) return *spec.cloudInit->pool;
  for (const DiskSpec& d : spec.disks)
    if (auto* v = std::get_if<VolumeRef>(&d.source)) return v->pool;
  return {};
}

DomainComparison compareDomain(const Resource& desired, const DomainInfo* live, const PlanContext& ctx,
                               const KvmState& state, const std::string& owner, const std::filesystem::path& stateDir) {
  DomainComparison out;
  DomainDelta& d = out.delta;
  const auto& spec = desired.as<VirtualMachineSpec>();
  d.want.name = desired.id.name;
  d.want.spec = &spec;
  d.want.meta = {owner, spec.shutdownTimeout, spec.restartPolicy};

  const bool running = live && live->active;
  bool restartNeeded = false;  // a restart-class change on a running domain
  std::array<std::vector<FieldChange>, static_cast<std::size_t>(Section::Count)> sections;
  auto cls = [&](bool liveCapable) { return !running || liveCapable ? ChangeClass::Live : ChangeClass::Restart; };
  auto change = [&](Section at, std::string field, std::string from, std::string to, ChangeClass c) {
    if (c == ChangeClass::Restart) restartNeeded = true;
    sections[static_cast<std::size_t>(at)].push_back({std::move(field), std::move(from), std::move(to), c});
  };
  auto shown = [&] {
    for (std::vector<FieldChange>& section : sections)
      std::ranges::move(section, std::back_inserter(out.changes));
    return std::move(out);
  };

  // Disks, by target.
  const std::vector<std::string> targets = assignTargets(spec.disks);
  std::set<std::string> wanted;
  for (std::size_t i = 0; i < spec.disks.size(); ++i) {
    const std::string at = "spec.disks[" + std::to_string(i) + "]";
    if (!wanted.insert(targets[i]).second) {
      out.problems.push_back({at + ".target", "two disks use target " + targets[i] + "."});
      continue;
    }
    auto resolved = resolveDisk(spec.disks[i], targets[i], ctx, state);
    if (!resolved) {
      out.problems.push_back({at, resolved.error().message});
      continue;
    }
    const std::string wantPath = resolved->type == "volume"
                                     ? volumePath(std::get<VolumeRef>(spec.disks[i].source), ctx, state)
                                     : resolved->source;
    const DomainDisk* have = nullptr;
    if (live)
      for (const DomainDisk& h : live->config.disks)
        if (h.target == targets[i]) have = &h;
    const std::string field = "disks[" + targets[i] + "]";
    if (!have) {
      d.want.disks.push_back(*resolved);
      d.want.parts.disks = true;
      const ChangeClass c = cls(hotPluggable(resolved->bus));
      change(Section::Disks, field, "(none)", describeDisk(spec.disks[i], *resolved), c);
      if (running && c == ChangeClass::Live) d.attachDisks.push_back(*resolved);
      continue;
    }
    if (!sameSource(*resolved, *have, state, wantPath)) {
      d.want.disks.push_back(*resolved);
      d.want.parts.disks = true;
      const ChangeClass c = cls(hotPluggable(resolved->bus) && have->bus == resolved->bus);
      change(Section::Disks, field + ".source", describeSource(diskSpecOf(*have, state)),
             describeSource(spec.disks[i]), c);
      // A cdrom's medium is read-only: swapping it loses nothing.
      if (have->device != "cdrom" || resolved->device != "cdrom")
        out.dataLoss = "replacing disk " + targets[i] + " of " + desired.id.name + " (" +
                       describeSource(diskSpecOf(*have, state)) + ") detaches what the guest stores on it";
      if (running && c == ChangeClass::Live) {
        d.detachDisks.push_back(*have);
        d.attachDisks.push_back(*resolved);
      }
      continue;
    }
    // Same storage: keep the domain's own description of it (its node stays as is).
    DomainDisk kept = *have;
    if (have->device != resolved->device) {
      change(Section::Disks, field + ".device", have->device, resolved->device, cls(false));
      kept.device = resolved->device;
    }
    if (have->bus != resolved->bus) {
      change(Section::Disks, field + ".bus", have->bus, resolved->bus, cls(false));
      kept.bus = resolved->bus;
    }
    if (have->readOnly != resolved->readOnly) {
      change(Section::Disks, field + ".readOnly", str(have->readOnly), str(resolved->readOnly), cls(false));
      kept.readOnly = resolved->readOnly;
    }
    if (!(kept == *have)) d.want.parts.disks = true;
    d.want.disks.push_back(kept);
  }
  if (live)
    for (const DomainDisk& h : live->config.disks) {
      if (wanted.contains(h.target)) continue;
      d.want.parts.disks = true;
      const ChangeClass c = cls(hotPluggable(h.bus));
      change(Section::Disks, "disks[" + h.target + "]", describeSource(diskSpecOf(h, state)), "(none)", c);
      if (running && c == ChangeClass::Live) d.detachDisks.push_back(h);
    }

  // Bridge NICs: by declared MAC, then by bridge in order, then in order.
  std::vector<const DomainNic*> haveNics;
  if (live)
    for (const DomainNic& n : live->config.nics) haveNics.push_back(&n);
  std::vector<const DomainNic*> match(spec.interfaces.size(), nullptr);
  std::vector<bool> taken(haveNics.size(), false);
  auto claim = [&](std::size_t i, auto pred) {
    for (std::size_t j = 0; j < haveNics.size(); ++j)
      if (!taken[j] && pred(*haveNics[j])) {
        taken[j] = true;
        match[i] = haveNics[j];
        return;
      }
  };
  for (std::size_t i = 0; i < spec.interfaces.size(); ++i)
    if (spec.interfaces[i].macAddress) claim(i, [&](const DomainNic& n) { return n.mac == *spec.interfaces[i].macAddress; });
  for (std::size_t i = 0; i < spec.interfaces.size(); ++i)
    if (!spec.interfaces[i].macAddress && !match[i])
      claim(i, [&](const DomainNic& n) { return n.bridge == spec.interfaces[i].bridge; });
  for (std::size_t i = 0; i < spec.interfaces.size(); ++i)
    if (!spec.interfaces[i].macAddress && !match[i]) claim(i, [](const DomainNic&) { return true; });

  for (std::size_t i = 0; i < spec.interfaces.size(); ++i) {
    const InterfaceSpec& want = spec.interfaces[i];
    const std::string field = "interfaces[" + std::to_string(i) + "]";
    if (!match[i]) {
      if (!want.macAddress) d.newMacs.push_back(d.want.nics.size());
      if (running) d.attachNics.push_back(d.want.nics.size());
      d.want.nics.push_back({want.bridge, want.macAddress.value_or(std::string(kMacToGenerate)), want.model});
      d.want.parts.nics = true;
      change(Section::Interfaces, field, "(none)",
             want.bridge + (want.macAddress ? " " + *want.macAddress : std::string()), ChangeClass::Live);
      continue;
    }
    DomainNic nic = *match[i];
    if (nic.bridge != want.bridge) {
      change(Section::Interfaces, field + ".bridge", nic.bridge, want.bridge, ChangeClass::Live);
      nic.bridge = want.bridge;
      d.want.parts.nics = true;
      if (running) d.retargetNics.push_back(nic);
    }
    if (nic.model != want.model) {
      change(Section::Interfaces, field + ".model", nic.model.empty() ? "(default)" : nic.model, want.model,
             cls(false));
      nic.model = want.model;
      d.want.parts.nics = true;
    }
    d.want.nics.push_back(nic);
  }
  for (std::size_t j = 0; j < haveNics.size(); ++j) {
    if (taken[j]) continue;
    d.want.parts.nics = true;
    change(Section::Interfaces, "interfaces[" + haveNics[j]->mac + "]", haveNics[j]->bridge + " " + haveNics[j]->mac,
           "(none)", ChangeClass::Live);
    if (running) d.detachNics.push_back(*haveNics[j]);
  }

  // Direct kernel boot: paths as the host has them (volumes resolved).
  if (spec.kernel) {
    d.want.kernel.kernel = bootFilePath(spec.kernel->image, ctx, state);
    if (spec.kernel->initrd) d.want.kernel.initrd = bootFilePath(*spec.kernel->initrd, ctx, state);
    d.want.kernel.cmdline = spec.kernel->cmdline.value_or("");
    if (d.want.kernel.kernel.empty())
      out.problems.push_back({"spec.kernel.volume", "the path of the kernel's volume is unknown: its pool is neither "
                                                    "on the host nor declared with a target."});
    if (spec.kernel->initrd && d.want.kernel.initrd.empty())
      out.problems.push_back({"spec.kernel.initrd.volume", "the path of the initrd's volume is unknown: its pool is "
                                                           "neither on the host nor declared with a target."});
  }
  if (live) {
    const DomainKernel& hk = live->config.kernel;
    const DomainKernel& wk = d.want.kernel;
    if (hk.kernel != wk.kernel) change(Section::Settings, "kernel", orNone(hk.kernel), orNone(wk.kernel), cls(false));
    if (hk.initrd != wk.initrd)
      change(Section::Settings, "kernel.initrd", orNone(hk.initrd), orNone(wk.initrd), cls(false));
    if (hk.cmdline != wk.cmdline)
      change(Section::Settings, "kernel.cmdline", orNone(hk.cmdline), orNone(wk.cmdline), cls(false));
    d.want.parts.kernel = !(hk == wk);
  }

  // The console log's place (apply makes its directory before a start);
  // written into new domains only.
  if (!stateDir.empty()) d.want.consoleLog = (stateDir / "console" / (desired.id.name + ".log")).string();

  // The cloud-init seed: a volume of the VM's own, rewritten when its files
  // change, attached as a cdrom.
  const std::optional<SeedRecord> oldSeed = live ? live->config.meta.seed : std::nullopt;
  bool seedRecordChanged = false;
  if (spec.cloudInit) {
    const Seed seed = seedFor(desired.id.name, *spec.cloudInit);
    const std::string pool = seedPool(spec);
    if (pool.empty())
      out.problems.push_back({"spec.cloudInit.pool", "no storage pool for the cloud-init seed: set cloudInit.pool, "
                                                     "or give the VM a disk that is a volume (its pool is the "
                                                     "default)."});
    SeedRecord record{pool,
                      seedVolumeName(desired.id.name),
                      seed.digest,
                      seed.instanceId,
                      userDataDigest(seed.files.userData),
                      spec.cloudInit->metaData.value_or(""),
                      spec.cloudInit->networkConfig.value_or("")};
    // Its cdrom: sata on q35, ide on pc, on a target no declared or unmodelled disk uses.
    DomainDisk disk;
    disk.type = "volume";
    disk.device = "cdrom";
    disk.pool = record.pool;
    disk.volume = record.volume;
    disk.driverType = "raw";
    disk.bus = std::string(toString(defaultBus(DiskDevice::Cdrom, spec.machine)));
    disk.readOnly = true;
    std::set<std::string> usedTargets = wanted;
    if (live) usedTargets.insert(live->config.otherTargets.begin(), live->config.otherTargets.end());
    const std::string prefix = busPrefix(defaultBus(DiskDevice::Cdrom, spec.machine));
    if (live && live->config.seedDisk && live->config.seedDisk->bus == disk.bus &&
        !usedTargets.contains(live->config.seedDisk->target)) {
      disk.target = live->config.seedDisk->target;
    } else {
      for (std::size_t i = 0; disk.target.empty(); ++i)
        if (std::string t = targetName(prefix, i); !usedTargets.contains(t)) disk.target = t;
    }
    const std::string label = record.pool + "/" + record.volume;
    const bool volumeThere = state.findVolume(record.pool, record.volume) != nullptr;
    if (!pool.empty() && ctx.findDesired(ResourceId{kinds::Volume, record.pool, record.volume}))
      out.problems.push_back({"spec.cloudInit", "the cloud-init seed of " + desired.id.name + " is the volume " + label +
                                                    ", which the manifests declare as a Volume; the seed belongs to "
                                                    "the VM: remove that Volume or choose another cloudInit.pool."});
    if (!pool.empty() && (!oldSeed || oldSeed->digest != record.digest || oldSeed->pool != record.pool ||
                          oldSeed->volume != record.volume || !volumeThere))
      d.seed = SeedWrite{record.pool, record.volume, seed.files};
    if (oldSeed && (oldSeed->pool != record.pool || oldSeed->volume != record.volume) &&
        state.findVolume(oldSeed->pool, oldSeed->volume))
      d.deleteSeed = VolumeRef{oldSeed->pool, oldSeed->volume};
    if (live) {
      // What changed, as a person reads it: never the user data itself.
      if (!oldSeed) {
        change(Section::Settings, "cloudInit", "(none)", "seed " + label, ChangeClass::Live);
      } else {
        if (oldSeed->userData != record.userData)
          change(Section::Settings, "cloudInit.userData", oldSeed->userData, record.userData, ChangeClass::Live);
        if (oldSeed->metaData != record.metaData)
          change(Section::Settings, "cloudInit.metaData", orNone(oldSeed->metaData), orNone(record.metaData),
                 ChangeClass::Live);
        if (oldSeed->networkConfig != record.networkConfig)
          change(Section::Settings, "cloudInit.networkConfig", orNone(oldSeed->networkConfig),
                 orNone(record.networkConfig), ChangeClass::Live);
        if (oldSeed->pool != record.pool || oldSeed->volume != record.volume)
          change(Section::Settings, "cloudInit.pool", oldSeed->pool + "/" + oldSeed->volume, label,
                 ChangeClass::Live);
        if (oldSeed->digest == record.digest && !volumeThere)
          change(Section::Settings, "cloudInit.seed", "(missing)", label, ChangeClass::Live);
      }
      if (d.seed) {
        if (seed.instanceIdDeclared && oldSeed && oldSeed->instanceId == seed.instanceId)
          change(Section::Settings, "cloudInit.instanceId", seed.instanceId,
                 "instance-id " + seed.instanceId + " unchanged: cloud-init applies only per-boot settings",
                 ChangeClass::Live);
        else
          change(Section::Settings, "cloudInit.instanceId", oldSeed ? oldSeed->instanceId : "(none)",
                 "cloud-init reads the new seed at the guest's next boot as new instance " + seed.instanceId,
                 ChangeClass::Live);
      }
      // The cdrom: attached (or moved) only with a restart on sata and ide.
      if (!live->config.seedDisk || !(*live->config.seedDisk == disk)) {
        d.want.parts.seed = true;
        if (live->config.seedDisk)
          change(Section::Disks, "cloudInit.cdrom", live->config.seedDisk->target, disk.target, cls(false));
        else
          change(Section::Disks, "cloudInit.cdrom", "(none)", disk.target + " (" + disk.bus + ")", cls(false));
      }
    }
    seedRecordChanged = !oldSeed || !(*oldSeed == record);
    d.want.seedDisk = disk;
    d.want.meta.seed = std::move(record);
  } else if (oldSeed) {
    // cloudInit removed: the cdrom goes, then its volume.
    d.want.parts.seed = true;
    seedRecordChanged = true;
    change(Section::Settings, "cloudInit", "seed " + oldSeed->pool + "/" + oldSeed->volume, "(none)", cls(false));
    if (state.findVolume(oldSeed->pool, oldSeed->volume)) d.deleteSeed = VolumeRef{oldSeed->pool, oldSeed->volume};
  }

  if (!live) {
    d.want.parts = DomainParts::all();
    d.configChanged = true;
    d.autostart = spec.autostart;
    return shown();
  }

  // Scalars.
  const DomainConfig& have = live->config;
  const bool maxMemoryChanges = have.maxMemory != spec.maxMemory;
  const bool maxVcpusChanges = have.maxVcpus != spec.maxVcpus;
  DomainParts& parts = d.want.parts;
  if (have.vcpus != spec.vcpus) {
    const ChangeClass c = cls(!maxVcpusChanges);
    change(Section::Settings, "vcpus", std::to_string(have.vcpus), std::to_string(spec.vcpus), c);
    if (running && c == ChangeClass::Live) d.liveVcpus = spec.vcpus;
    parts.vcpus = true;
  }
  if (maxVcpusChanges) {
    change(Section::Settings, "maxVcpus", std::to_string(have.maxVcpus), std::to_string(spec.maxVcpus),
           cls(false));
    parts.vcpus = true;
  }
  if (have.memory != spec.memory) {
    const ChangeClass c = cls(!maxMemoryChanges);
    change(Section::Settings, "memory", formatSize(have.memory), formatSize(spec.memory), c);
    if (running && c == ChangeClass::Live) d.liveMemory = spec.memory;
    parts.memory = true;
  }
  if (maxMemoryChanges) {
    change(Section::Settings, "maxMemory", formatSize(have.maxMemory), formatSize(spec.maxMemory), cls(false));
    parts.memory = true;
  }
  if (machineFamily(have.machine) != spec.machine) {
    change(Section::Settings, "machine", std::string(toString(machineFamily(have.machine))),
           std::string(toString(spec.machine)), cls(false));
    parts.machine = true;
  }
  if (have.firmware != spec.firmware) {
    change(Section::Settings, "firmware", std::string(toString(have.firmware)), std::string(toString(spec.firmware)),
           cls(false));
    parts.firmware = true;
  }
  if (have.cpuMode != spec.cpuMode) {
    change(Section::Settings, "cpuMode", std::string(toString(have.cpuMode)), std::string(toString(spec.cpuMode)),
           cls(false));
    parts.cpuMode = true;
  }
  if (have.accelerator != spec.accelerator) {
    change(Section::Settings, "accelerator", std::string(toString(have.accelerator)),
           std::string(toString(spec.accelerator)), cls(false));
    parts.accelerator = true;
  }
  if (have.boot != spec.boot) {
    change(Section::Settings, "boot", describeBoot(have.boot), describeBoot(spec.boot), cls(false));
    parts.boot = true;
  }
  if (have.graphics != spec.graphics) {
    change(Section::Settings, "graphics", std::string(toString(have.graphics)), std::string(toString(spec.graphics)),
           cls(false));
    parts.graphics = true;
  }
  const Millis haveTimeout = have.meta.shutdownTimeout.value_or(VirtualMachineSpec{}.shutdownTimeout);
  if (haveTimeout != spec.shutdownTimeout)
    change(Section::Settings, "shutdownTimeout", formatDuration(haveTimeout), formatDuration(spec.shutdownTimeout),
           ChangeClass::Live);
  const RestartPolicy havePolicy = have.meta.restartPolicy.value_or(RestartPolicy::Never);
  if (havePolicy != spec.restartPolicy)
    change(Section::Settings, "restartPolicy", std::string(toString(havePolicy)),
           std::string(toString(spec.restartPolicy)), ChangeClass::Live);
  // The parts above, or hostform's <metadata> (shutdownTimeout, restartPolicy,
  // and the owner mark, which adoption adds).
  d.configChanged = parts.any() || haveTimeout != spec.shutdownTimeout || havePolicy != spec.restartPolicy ||
                    have.meta.owner != owner || seedRecordChanged;

  if (live->autostart != spec.autostart) {
    change(Section::Autostart, "autostart", str(live->autostart), str(spec.autostart), ChangeClass::Live);
    d.autostart = spec.autostart;
  }
  const std::string haveState = live->paused ? "paused" : live->active ? "running" : "stopped";
  if (haveState != toString(spec.state))
    change(Section::State, "state", haveState, std::string(toString(spec.state)), ChangeClass::Live);
  d.restartNow = restartNeeded && spec.restartPolicy == RestartPolicy::Auto && spec.state == VmState::Running;
  if (d.restartNow) change(Section::Restart, "restart", "pending", "now (restartPolicy: auto)", ChangeClass::Live);
  // The running domain gets the live changes only when it goes on running as
  // it is: a restart or a stop makes them moot (the definition has them), and
  // a paused domain is resumed with them waiting for its next start.
  if (d.restartNow || spec.state != VmState::Running || live->paused) {
    d.liveMemory.reset();
    d.liveVcpus.reset();
    d.detachDisks.clear();
    d.attachDisks.clear();
    d.detachNics.clear();
    d.retargetNics.clear();
    d.attachNics.clear();
  }
  return shown();
}

DomainDelta withMacs(DomainDelta delta, const std::function<std::string()>& newMac) {
  for (const std::size_t nic : delta.newMacs) delta.want.nics[nic].mac = newMac();
  delta.newMacs.clear();
  return delta;
}

Diff planDomain(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in) {
  const auto& spec = desired.as<VirtualMachineSpec>();
  const DomainInfo* info = live ? in.state.findDomain(desired.id.name) : nullptr;
  DomainComparison compared = compareDomain(desired, info, ctx, in.state, ctx.owner, in.stateDir);
  Diff diff;
  diff.problems = std::move(compared.problems);
  diff.dataLoss = std::move(compared.dataLoss);
  diff.restartsNow = compared.delta.restartNow;
  diff.delta = std::move(compared.delta);

  if (in.capabilities)
    for (Diff::Problem& p : capabilityProblems(desired.id.str(), spec, in.capabilities(spec.accelerator, spec.machine)))
      diff.problems.push_back(std::move(p));
  if (in.state.hostMemory > 0 && spec.maxMemory > in.state.hostMemory)
    diff.problems.push_back({"spec.maxMemory", desired.id.str() + " asks for " + formatSize(spec.maxMemory) +
                                                   " of memory and the host has " + formatSize(in.state.hostMemory) + "."});
  if (in.localHost)
    for (std::size_t i = 0; i < spec.disks.size(); ++i)
      if (auto* path = std::get_if<std::string>(&spec.disks[i].source)) {
        std::error_code ec;
        if (!std::filesystem::exists(*path, ec))
          diff.problems.push_back({"spec.disks[" + std::to_string(i) + "].path", *path + " does not exist."});
      }
  if (in.localHost && spec.kernel) {
    auto missing = [&](const BootFile& f, const std::string& field, const std::string& what) {
      if (auto* path = std::get_if<std::string>(&f)) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(*path, ec))
          diff.problems.push_back({field, "the " + what + " " + *path + " is not a file on this host."});
      }
    };
    missing(spec.kernel->image, "spec.kernel.path", "kernel");
    if (spec.kernel->initrd) missing(*spec.kernel->initrd, "spec.kernel.initrd.path", "initrd");
  }

  if (!live) return diff;
  if (live->owner.empty() && !compared.changes.empty()) {
    std::string fields;
    for (const FieldChange& c : compared.changes) fields += (fields.empty() ? "" : ", ") + c.field;
    diff.problems.push_back({"metadata.name", "the name " + desired.id.name +
                                                  " is taken by a domain hostform did not create, and it differs from "
                                                  "the manifest in: " + fields +
                                                  ". hostform changes nothing on a VM it does not own. To adopt it, "
                                                  "declare it as `hostform export --kind VirtualMachine` shows it, "
                                                  "apply, then change it; or choose another name."});
    return diff;
  }
  diff.changes = std::move(compared.changes);
  return diff;
}

// ---- deletion -----------------------------------------------------------------

namespace {

std::optional<std::string> deletionLoss(const Observed& live, const KvmState& state) {
  if (live.resource.kind() != kinds::Volume) return std::nullopt;
  // An import cut short left nothing anyone wrote.
  if (auto r = state.sources.find(recordKey(live.resource.id.scope, live.resource.id.name));
      r != state.sources.end() && r->second.importing)
    return std::nullopt;
  const VolumeInfo* v = state.findVolume(live.resource.id.scope, live.resource.id.name);
  const Bytes capacity = live.resource.as<VolumeSpec>().capacity;
  return "deleting volume " + live.resource.id.scope + "/" + live.resource.id.name + " destroys its " +
         formatSize(capacity) + " of contents" +
         (v ? " (" + formatSize(v->config.allocation) + " allocated)" : std::string());
}

std::vector<Diff::Problem> deletionProblems(const Observed& live, const PlanContext& ctx, const KvmState& state) {
  std::vector<Diff::Problem> out;
  const ResourceId& id = live.resource.id;
  if (id.kind == kinds::Volume) {
    const VolumeInfo* v = state.findVolume(id.scope, id.name);
    const std::string path = v ? v->config.path : std::string();
    for (const DomainInfo& d : state.domains) {
      const ResourceId vm{kinds::VirtualMachine, "", d.config.name};
      if (ctx.prunable(vm)) continue;
      for (const DomainDisk& disk : d.config.disks)
        if ((disk.type == "volume" && disk.pool == id.scope && disk.volume == id.name) ||
            (!path.empty() && diskPath(disk, state) == path))
          out.push_back({"", "domain " + d.config.name + " uses it as disk " + disk.target + "."});
    }
    for (const VolumeInfo& other : state.volumes)
      if (!path.empty() && other.config.backingPath == path &&
          !ctx.prunable(ResourceId{kinds::Volume, other.pool, other.config.name}))
        out.push_back({"", "volume " + other.pool + "/" + other.config.name + " is an overlay on it."});
  } else if (id.kind == kinds::StoragePool) {
    std::vector<std::string> kept;
    // A VM's seed goes with the VM: it keeps the pool only while the VM stays.
    std::set<std::string> seedsGoing;
    for (const DomainInfo& d : state.domains)
      if (d.config.meta.seed && d.config.meta.seed->pool == id.name &&
          ctx.prunable(ResourceId{kinds::VirtualMachine, "", d.config.name}))
        seedsGoing.insert(d.config.meta.seed->volume);
    // An external volume snapshot's frozen file goes with its Snapshot.
    std::set<std::string> frozenGoing;
    for (const auto& [snapshot, r] : state.volumeSnapshotRecords)
      if (r.external && r.pool == id.name && ctx.prunable(ResourceId{kinds::Snapshot, "", snapshot}))
        frozenGoing.insert(r.volume + "@" + snapshot);
    for (const VolumeInfo& v : state.volumes)
      if (v.pool == id.name && !seedsGoing.contains(v.config.name) && !frozenGoing.contains(v.config.name) &&
          (state.isFrozenFile(v.pool, v.config.name) ||
           !ctx.prunable(ResourceId{kinds::Volume, v.pool, v.config.name})))
        kept.push_back(v.config.name);
    if (!kept.empty()) {
      std::string names;
      for (const std::string& n : kept) names += (names.empty() ? "" : ", ") + n;
      out.push_back({"", "it holds volumes hostform does not delete (" + names +
                             "); hostform removes only pools that are empty."});
    }
  }
  return out;
}

}  // namespace

Deletion deletionOf(const Observed& live, const PlanContext& ctx, const KvmState& state, bool local) {
  Deletion d;
  d.problems = deletionProblems(live, ctx, state);
  if (d.problems.empty()) d.dataLoss = deletionLoss(live, state);
  if (d.dataLoss && live.resource.kind() == kinds::Volume) {
    d.loss.destroys = live.resource.as<VolumeSpec>().capacity;
    // A qcow2 snapshot would be inside the file the delete removes: the
    // snapshot is the whole file, kept under another name instead.
    const VolumeInfo* v = state.findVolume(live.resource.id.scope, live.resource.id.name);
    std::string whyNot;
    if (ctx.snapshotBeforeLoss && v && ctx.prunable(ResourceId{kinds::StoragePool, "", v->pool})) {
      d.loss.noSnapshot = "storage pool " + v->pool + " is deleted in the same run, and a kept file would outlive it";
    } else if (ctx.snapshotBeforeLoss && v) {
      if (auto keep = keepVolumePlan(*v, state, local, whyNot)) {
        d.loss.snapshotFirst = keepVolumeShown(*keep);
        d.delta = *keep;
      } else {
        d.loss.noSnapshot = whyNot;
      }
    }
  }
  return d;
}

}  // namespace hostform::kvm
