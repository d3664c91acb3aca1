#include "providers/kvm/apply.h"

#include <stdlib.h>
#include <unistd.h>

#include <any>
#include <chrono>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>

#include "providers/kvm/image.h"
#include "providers/kvm/cloud_init.h"
#include "providers/kvm/session.h"
#include "providers/kvm/upload.h"
#include "providers/kvm/observe.h"
#include "providers/kvm/plan.h"
#include "providers/kvm/snapshot_kind.h"

namespace hostform::kvm {
namespace {

using namespace std::chrono_literals;

/// The delta the plan computed for this action (Diff::delta), in the type the
/// kind's plan function puts there.
template <class Delta>
Result<const Delta*> plannedDelta(const Action& a) {
  if (const auto* delta = std::any_cast<Delta>(&a.delta)) return delta;
  return fail("internal error: the plan of " + a.id.str() + " carries no delta for the kvm provider to apply");
}

// ---- pools ------------------------------------------------------------------------

Result<PoolHandle> lookupPool(virConnectPtr conn, const std::string& name) {
  PoolHandle pool(virStoragePoolLookupByName(conn, name.c_str()));
  if (!pool) return libvirtFailure("cannot find storage pool " + name);
  return pool;
}

/// dir and netfs pools need their directory; a logical pool's VG is the LVM provider's.
Result<void> buildAndStart(virStoragePoolPtr pool, const std::string& name, PoolType type) {
  if (type != PoolType::Logical && virStoragePoolBuild(pool, 0) < 0)
    return libvirtFailure("cannot build storage pool " + name);
  if (virStoragePoolCreate(pool, 0) < 0) return libvirtFailure("cannot start storage pool " + name);
  return {};
}

}  // namespace

Result<void> applyPool(const Action& a, const ApplyContext&, ApplyInputs in) {
  const std::string& name = a.id.name;
  if (a.op == Op::Delete) {
    auto pool = lookupPool(in.conn, name);
    if (!pool) return hostform::unexpected(pool.error());
    const auto& spec = a.live->resource.as<StoragePoolSpec>();
    if (virStoragePoolIsActive(pool->get()) == 1 && virStoragePoolDestroy(pool->get()) < 0)
      return libvirtFailure("cannot stop storage pool " + name);
    // A dir pool's directory goes with it when it is empty (libvirt refuses
    // otherwise, and then the files stay). Other pools' storage is not ours to remove.
    if (spec.type == PoolType::Dir) (void)virStoragePoolDelete(pool->get(), 0);
    if (virStoragePoolUndefine(pool->get()) < 0) return libvirtFailure("cannot undefine storage pool " + name);
    return {};
  }

  const auto& spec = a.desired->as<StoragePoolSpec>();
  auto delta = plannedDelta<PoolDelta>(a);
  if (!delta) return hostform::unexpected(delta.error());
  PoolHandle pool;
  if (a.op == Op::Create) {
    const std::string xml = newPoolXml(name, spec);
    pool.reset(virStoragePoolDefineXML(in.conn, xml.c_str(), 0));
    if (!pool) return libvirtFailure("cannot define storage pool " + name);
  } else {
    auto found = lookupPool(in.conn, name);
    if (!found) return hostform::unexpected(found.error());
    pool = std::move(*found);
  }
  if (const std::optional<bool> active = (*delta)->active) {
    if (*active) {
      if (auto ok = buildAndStart(pool.get(), name, spec.type); !ok) return ok;
    } else if (virStoragePoolDestroy(pool.get()) < 0) {
      return libvirtFailure("cannot stop storage pool " + name);
    }
  }
  if (const std::optional<bool> autostart = (*delta)->autostart;
      autostart && virStoragePoolSetAutostart(pool.get(), *autostart ? 1 : 0) < 0)
    return libvirtFailure("cannot set autostart of storage pool " + name);
  return {};
}

// ---- volumes ------------------------------------------------------------------------

namespace {

Result<VolumeHandle> lookupVolume(virConnectPtr conn, const std::string& pool, const std::string& name) {
  auto p = lookupPool(conn, pool);
  if (!p) return hostform::unexpected(p.error());
  VolumeHandle vol(virStorageVolLookupByName(p->get(), name.c_str()));
  if (!vol) return libvirtFailure("cannot find volume " + name + " in storage pool " + pool);
  return vol;
}

Result<VolumeConfig> readVolume(virStorageVolPtr vol) {
  std::string xml = takeString(virStorageVolGetXMLDesc(vol, 0));
  if (xml.empty()) return libvirtFailure("cannot read volume " + std::string(virStorageVolGetName(vol)));
  return parseVolumeXml(xml);
}

/// A running domain that has the volume open as a disk, and the disk's target.
std::optional<std::pair<DomainHandle, std::string>> runningUser(virConnectPtr conn, const std::string& pool,
                                                                const std::string& name, const std::string& path) {
  virDomainPtr* raw = nullptr;
  int n = virConnectListAllDomains(conn, &raw, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  for (DomainHandle& dom : adoptList<DomainHandle>(raw, n)) {
    auto config = parseDomainXml(takeString(virDomainGetXMLDesc(dom.get(), 0)));
    if (!config) continue;
    for (const DomainDisk& disk : config->disks)
      if ((disk.type == "volume" && disk.pool == pool && disk.volume == name) || (!path.empty() && disk.source == path))
        return std::pair(std::move(dom), disk.target);
  }
  return std::nullopt;
}

/// A temporary file removed when it goes out of scope.
class TempFile {
 public:
  static Result<TempFile> in(const std::filesystem::path& dir, const std::string& stem) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());
    std::string name = (dir / (stem + "-XXXXXX")).string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return fail("cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
    ::close(fd);
    return TempFile(name);
  }
  /// Owns `p` from now on: removed when this goes.
  explicit TempFile(std::filesystem::path p) : path_(std::move(p)) {}
  TempFile(TempFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A new volume filled from its source, as the plan decided (VolumeDelta):
/// fetch (or resume) and verify the image, ask qemu-img what it is, convert it
/// when its format is not the volume's, create the volume, record the import,
/// stream the content in, grow the volume to the declared capacity, record
/// the import done. A failure once the volume exists deletes it and its
/// record: there is never half a volume. Temporary files go on every path; a
/// partial download stays for the next apply to resume.
Result<void> importVolume(virStoragePoolPtr pool, const std::string& name, const std::string& label,
                          const VolumeDelta& delta, const ApplyContext& ctx, ApplyInputs in) {
  const ImageSource& source = *delta.source;
  auto image = fetchImage(source, in.stateDir, ctx.progress);
  if (!image) return hostform::unexpected(image.error());
  auto info = inspectImage(*image);
  if (!info) return hostform::unexpected(info.error());
  const Bytes imageSize = (info->virtualSize + 511) / 512 * 512;
  if (delta.capacity > 0 && delta.capacity < info->virtualSize)
    return fail("the image of " + label + " has a virtual size of " + formatSize(info->virtualSize) +
                ", more than the declared capacity " + formatSize(delta.capacity) + "; nothing was created.");

  std::filesystem::path content = *image;
  std::optional<TempFile> converted;
  if (needsConversion(info->format, delta.format)) {
    if (in.stateDir.empty()) return fail("images are converted in the state directory, and none is set (--state-dir).");
    std::error_code ec;
    std::filesystem::create_directories(imageCache(in.stateDir), ec);
    converted.emplace(conversionFile(in.stateDir, name));
    ctx.progress("converting the image of " + label + " from " + info->format + " to " +
                 std::string(toString(delta.format)) + " (qemu-img convert)");
    if (auto ok = convertImage(*image, info->format, converted->path(), delta.format); !ok) return ok;
    content = converted->path();
  }

  // A qcow2 volume takes the image's own size and is grown after (qemu-img
  // resize, through libvirt); raw content goes into a volume of its final size.
  VolumeWrite want;
  want.name = name;
  want.format = delta.format;
  want.full = delta.full;
  want.withFormat = !delta.logical;
  want.capacity = delta.format == VolumeFormat::Qcow2 ? imageSize : std::max(imageSize, delta.capacity);
  const std::string xml = newVolumeXml(want);
  VolumeHandle vol(virStorageVolCreateXML(pool, xml.c_str(), 0));
  if (!vol) return libvirtFailure("cannot create volume " + label);

  const std::string key = recordKey(virStoragePoolGetName(pool), name);
  auto undo = [&](Error error) -> Result<void> {
    if (virStorageVolDelete(vol.get(), 0) < 0)
      error.message += " Deleting the half-filled volume " + label + " failed too: " + lastError() + ".";
    else
      error.message += " The volume was deleted.";
    (void)writeSourceRecord(in.stateDir, key, std::nullopt);
    return hostform::unexpected(std::move(error));
  };
  if (auto ok = writeSourceRecord(in.stateDir, key, SourceRecord{source, true}); !ok) return undo(ok.error());
  auto last = std::chrono::steady_clock::now();
  auto sent = uploadToVolume(in.conn, vol.get(), content, [&](std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < 1s) return;
    last = now;
    ctx.progress("writing volume " + label + ": " + formatSize(done) + " of " + formatSize(total));
  });
  if (!sent) return undo(sent.error());
  if (delta.format == VolumeFormat::Qcow2 && delta.capacity > imageSize &&
      virStorageVolResize(vol.get(), delta.capacity, 0) < 0)
    return undo(Error{"cannot grow volume " + label + " to " + formatSize(delta.capacity) + ": " + lastError() + "."});
  if (auto ok = writeSourceRecord(in.stateDir, key, SourceRecord{source, false}); !ok) return undo(ok.error());
  return {};
}

}  // namespace

Result<void> applyVolume(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  const std::string& pool = a.id.scope;
  const std::string& name = a.id.name;
  const std::string label = pool + "/" + name;
  if (a.op == Op::Delete) {
    if (const auto* keep = std::any_cast<KeepVolume>(&a.delta)) {
      // The snapshot before the loss: the file is kept whole, under its snapshot's name.
      if (auto kept = keepVolume(*keep, in.conn, in.stateDir, ctx.owner); !kept) return kept;
      return writeSourceRecord(in.stateDir, recordKey(pool, name), std::nullopt);
    }
    auto vol = lookupVolume(in.conn, pool, name);
    if (!vol) return hostform::unexpected(vol.error());
    if (virStorageVolDelete(vol->get(), 0) < 0) return libvirtFailure("cannot delete volume " + label);
    // What filled it is no longer there.
    return writeSourceRecord(in.stateDir, recordKey(pool, name), std::nullopt);
  }

  const auto& spec = a.desired->as<VolumeSpec>();
  auto planned = plannedDelta<VolumeDelta>(a);
  if (!planned) return hostform::unexpected(planned.error());
  const VolumeDelta& delta = **planned;
  if (a.op == Op::Create) {
    auto p = lookupPool(in.conn, pool);
    if (!p) return hostform::unexpected(p.error());
    VolumeWrite want;
    want.name = name;
    want.capacity = delta.capacity;
    want.format = spec.format;
    want.full = delta.full;
    want.withFormat = !delta.logical;
    if (delta.source) return importVolume(p->get(), name, label, delta, ctx, in);
    if (spec.backingVolume) {
      auto base = lookupVolume(in.conn, spec.backingVolume->pool, spec.backingVolume->name);
      if (!base) return hostform::unexpected(base.error());
      auto baseConfig = readVolume(base->get());
      if (!baseConfig) return hostform::unexpected(baseConfig.error());
      want.backingPath = baseConfig->path;
      want.backingFormat = baseConfig->format.empty() ? "raw" : baseConfig->format;
    }
    if (want.full) ctx.progress("preallocating " + formatSize(want.capacity) + " for volume " + label);
    const std::string xml = newVolumeXml(want);
    VolumeHandle vol(virStorageVolCreateXML(p->get(), xml.c_str(), 0));
    if (!vol) return libvirtFailure("cannot create volume " + label);
    // A record left by a volume of this name deleted outside hostform says nothing of this one.
    return writeSourceRecord(in.stateDir, recordKey(pool, name), std::nullopt);
  }

  if (delta.resize) {
    auto vol = lookupVolume(in.conn, pool, name);
    if (!vol) return hostform::unexpected(vol.error());
    auto have = readVolume(vol->get());
    if (!have) return hostform::unexpected(have.error());
    // A disk in use by a running guest is resized through the guest's block
    // layer, so the guest sees the new size at once (and the image lock holds).
    // Which guest has it open is read now: one may have started since the plan.
    if (auto user = runningUser(in.conn, pool, name, have->path)) {
      if (virDomainBlockResize(user->first.get(), user->second.c_str(), delta.capacity,
                               VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
        return libvirtFailure("cannot resize volume " + label + " (disk " + user->second + " of running domain " +
                              virDomainGetName(user->first.get()) + ")");
    } else {
      // Shrinking only as planned: the plan's data loss is what was consented to.
      unsigned flags = delta.shrink ? VIR_STORAGE_VOL_RESIZE_SHRINK : 0;
      if (delta.full) flags |= VIR_STORAGE_VOL_RESIZE_ALLOCATE;
      if (virStorageVolResize(vol->get(), delta.capacity, flags) < 0)
        return libvirtFailure("cannot resize volume " + label);
    }
  }
  // The content already is the declared image: the record follows the manifest.
  if (delta.recordOnly)
    return writeSourceRecord(in.stateDir, recordKey(pool, name), SourceRecord{*delta.recordOnly, false});
  return {};
}

// ---- domains ----------------------------------------------------------------------

namespace {

Result<DomainHandle> lookupDomain(virConnectPtr conn, const std::string& name) {
  DomainHandle dom(virDomainLookupByName(conn, name.c_str()));
  if (!dom) return libvirtFailure("cannot find domain " + name);
  return dom;
}

int domainState(virDomainPtr dom) {
  int state = VIR_DOMAIN_NOSTATE, reason = 0;
  if (virDomainGetState(dom, &state, &reason, 0) < 0) return -1;
  return state;
}

bool isOff(int state) { return state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED || state < 0; }

/// Asks the guest to shut down: through the QEMU guest agent first (a clean
/// shutdown that needs no ACPI support in the guest), and when no agent
/// answers, by ACPI power button. Drivers without these flags get the plain
/// request. Returns why nothing could be asked, if so.
std::optional<std::string> requestShutdown(virDomainPtr dom, const std::string& name, const ApplyContext& ctx) {
  if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_GUEST_AGENT) == 0) return std::nullopt;
  if (isOff(domainState(dom))) return std::nullopt;
  const std::string agent = lastError();
  if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0) {
    ctx.progress("domain " + name + ": no guest agent answered (" + agent + "); shutting down by ACPI");
    return std::nullopt;
  }
  if (virGetLastErrorCode() == VIR_ERR_INVALID_ARG && virDomainShutdown(dom) == 0) return std::nullopt;
  if (isOff(domainState(dom))) return std::nullopt;
  return lastError();
}

/// Graceful shutdown (guest agent, else ACPI), then forced off when the guest
/// has not stopped within `timeout`.
Result<void> shutdown(virDomainPtr dom, const std::string& name, Millis timeout, const ApplyContext& ctx) {
  if (isOff(domainState(dom))) return {};
  if (domainState(dom) == VIR_DOMAIN_PAUSED) {
    // A paused guest cannot answer ACPI.
    if (virDomainDestroy(dom) < 0) return libvirtFailure("cannot stop paused domain " + name);
    return {};
  }
  const auto start = std::chrono::steady_clock::now();
  if (auto refused = requestShutdown(dom, name, ctx)) {
    ctx.progress("domain " + name + " refused a graceful shutdown (" + *refused + "); forcing it off");
  } else {
    // Poll every 100 ms; say how long it has been once a second.
    for (Millis waited{0}, reported{0}; waited < timeout;
         waited = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start)) {
      if (isOff(domainState(dom))) return {};
      if (waited - reported >= 1s) {
        reported = Millis(waited.count() / 1000 * 1000);
        ctx.progress("waiting for " + name + " to shut down: " + formatDuration(reported) + " of " +
                     formatDuration(timeout));
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  if (isOff(domainState(dom))) return {};
  ctx.progress(name + " did not shut down within " + formatDuration(timeout) + "; forcing it off");
  if (virDomainDestroy(dom) < 0 && !isOff(domainState(dom))) return libvirtFailure("cannot force off domain " + name);
  return {};
}


/// Creates the seed volume, or rewrites it in place (recreated when the new
/// image is larger), and streams the ISO into it. A volume this call created
/// is deleted again when the upload fails.
Result<void> writeSeed(const SeedWrite& seed, ApplyInputs in, const ApplyContext& ctx) {
  const std::string label = seed.pool + "/" + seed.volume;
  const std::filesystem::path dir =
      in.stateDir.empty() ? std::filesystem::temp_directory_path() : in.stateDir / "kvm";
  auto temp = TempFile::in(dir, "seed");
  if (!temp) return hostform::unexpected(temp.error());
  if (auto ok = writeSeedIso(seed.files, temp->path()); !ok) return ok;
  std::error_code ec;
  const Bytes size = std::filesystem::file_size(temp->path(), ec);
  if (ec) return fail("cannot read the size of " + temp->path().string() + ": " + ec.message());

  PoolHandle pool(virStoragePoolLookupByName(in.conn, seed.pool.c_str()));
  if (!pool) return libvirtFailure("cannot find storage pool " + seed.pool + " for the cloud-init seed");
  VolumeHandle vol(virStorageVolLookupByName(pool.get(), seed.volume.c_str()));
  if (vol) {
    virStorageVolInfo info{};
    if (virStorageVolGetInfo(vol.get(), &info) < 0) return libvirtFailure("cannot read volume " + label);
    if (info.capacity < size) {
      if (virStorageVolDelete(vol.get(), 0) < 0) return libvirtFailure("cannot replace volume " + label);
      vol.reset();
    }
  }
  bool created = false;
  if (!vol) {
    const std::string poolXml = takeString(virStoragePoolGetXMLDesc(pool.get(), 0));
    auto poolConfig = parsePoolXml(poolXml);
    if (!poolConfig) return hostform::unexpected(poolConfig.error());
    VolumeWrite want;
    want.name = seed.volume;
    want.capacity = size;
    want.format = VolumeFormat::Raw;
    want.withFormat = poolConfig->type != "logical";
    const std::string xml = newVolumeXml(want);
    vol.reset(virStorageVolCreateXML(pool.get(), xml.c_str(), 0));
    if (!vol) return libvirtFailure("cannot create the cloud-init seed volume " + label);
    created = true;
  }
  ctx.progress("writing the cloud-init seed " + label + " (user data " + userDataDigest(seed.files.userData) + ")");
  if (auto ok = uploadToVolume(in.conn, vol.get(), temp->path()); !ok) {
    if (created) (void)virStorageVolDelete(vol.get(), 0);
    return ok;
  }
  return {};
}

/// Deletes a seed volume that is no longer used; one already gone is fine.
Result<void> deleteSeed(const VolumeRef& seed, ApplyInputs in) {
  PoolHandle pool(virStoragePoolLookupByName(in.conn, seed.pool.c_str()));
  if (!pool) return {};
  VolumeHandle vol(virStorageVolLookupByName(pool.get(), seed.name.c_str()));
  if (!vol) return {};
  if (virStorageVolDelete(vol.get(), 0) < 0)
    return libvirtFailure("cannot delete the cloud-init seed volume " + seed.pool + "/" + seed.name);
  return {};
}

Result<void> device(virDomainPtr dom, const std::string& xml, const std::string& what,
                    int (*call)(virDomainPtr, const char*, unsigned int)) {
  if (call(dom, xml.c_str(), VIR_DOMAIN_AFFECT_LIVE) < 0)
    return libvirtFailure("cannot " + what + " on running domain " + virDomainGetName(dom));
  return {};
}

Result<void> liveChanges(virDomainPtr dom, const DomainDelta& d) {
  const std::string name = virDomainGetName(dom);
  if (d.liveMemory && virDomainSetMemoryFlags(dom, *d.liveMemory / KiB, VIR_DOMAIN_AFFECT_LIVE) < 0)
    return libvirtFailure("cannot set the memory of running domain " + name);
  if (d.liveVcpus && virDomainSetVcpusFlags(dom, *d.liveVcpus, VIR_DOMAIN_AFFECT_LIVE) < 0)
    return libvirtFailure("cannot set the vCPUs of running domain " + name);
  for (const DomainDisk& disk : d.detachDisks)
    if (auto ok = device(dom, diskDeviceXml(disk), "detach disk " + disk.target, virDomainDetachDeviceFlags); !ok)
      return ok;
  for (const DomainNic& nic : d.detachNics)
    if (auto ok = device(dom, nicDeviceXml(nic), "detach interface " + nic.mac, virDomainDetachDeviceFlags); !ok)
      return ok;
  for (const DomainDisk& disk : d.attachDisks)
    if (auto ok = device(dom, diskDeviceXml(disk), "attach disk " + disk.target, virDomainAttachDeviceFlags); !ok)
      return ok;
  for (const std::size_t i : d.attachNics) {
    const DomainNic& nic = d.want.nics[i];
    if (auto ok = device(dom, nicDeviceXml(nic), "attach interface " + nic.mac, virDomainAttachDeviceFlags); !ok)
      return ok;
  }
  for (const DomainNic& nic : d.retargetNics)
    if (auto ok = device(dom, nicDeviceXml(nic), "move interface " + nic.mac + " to bridge " + nic.bridge,
                         virDomainUpdateDeviceFlags);
        !ok)
      return ok;
  return {};
}

Result<void> deleteDomain(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  const std::string& name = a.id.name;
  auto dom = lookupDomain(in.conn, name);
  if (!dom) return hostform::unexpected(dom.error());
  const Millis timeout = a.live->resource.as<VirtualMachineSpec>().shutdownTimeout;
  if (auto ok = shutdown(dom->get(), name, timeout, ctx); !ok) return ok;
  // The definition goes, with its firmware variables and saved state; the
  // domain's disks stay (volumes are resources of their own).
  const unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                         VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM;
  if (virDomainUndefineFlags(dom->get(), flags) < 0) {
    // Drivers without NVRAM or snapshots refuse the flags; plain undefine is all they need.
    const int code = virGetLastErrorCode();
    if ((code != VIR_ERR_NO_SUPPORT && code != VIR_ERR_INVALID_ARG) || virDomainUndefine(dom->get()) < 0)
      return libvirtFailure("cannot undefine domain " + name);
  }
  // Its cloud-init seed is the VM's own: it goes with it.
  if (const DomainInfo* info = in.state.findDomain(name); info && info->config.meta.seed)
    return deleteSeed(VolumeRef{info->config.meta.seed->pool, info->config.meta.seed->volume}, in);
  return {};
}

}  // namespace

Result<void> applyDomain(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  if (a.op == Op::Delete) return deleteDomain(a, ctx, in);
  const std::string& name = a.id.name;
  const auto& spec = a.desired->as<VirtualMachineSpec>();
  auto planned = plannedDelta<DomainDelta>(a);
  if (!planned) return hostform::unexpected(planned.error());
  // Everything as the plan decided it, with a MAC chosen now for each NIC the
  // manifest gives none: unused on the host the plan observed.
  const DomainDelta delta = withMacs(**planned, [&] { return randomMac(in.state); });

  // 0. What the definition refers to: the console log's directory, and the
  // cloud-init seed (written before the definition names it).
  if (!delta.want.consoleLog.empty()) {
    const std::filesystem::path dir = std::filesystem::path(delta.want.consoleLog).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create the console log directory " + dir.string() + ": " + ec.message());
  }
  if (delta.seed)
    if (auto ok = writeSeed(*delta.seed, in, ctx); !ok) return ok;

  // 1. The persistent definition, always: a later restart never loses a change.
  DomainHandle dom;
  if (a.op == Op::Create) {
    const std::string xml = newDomainXml(delta.want);
    dom.reset(virDomainDefineXML(in.conn, xml.c_str()));
    if (!dom) return libvirtFailure("cannot define domain " + name);
  } else {
    auto found = lookupDomain(in.conn, name);
    if (!found) return hostform::unexpected(found.error());
    dom = std::move(*found);
    // An adopted domain gets the owner into <metadata>: the plan counts that
    // as a change of the definition (configChanged), and the action says so too.
    if (delta.configChanged || a.adopt) {
      // Patched as libvirt has it now, so what the plan does not change (and
      // everything hostform does not model) stays as it is.
      std::string current =
          takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE));
      if (current.empty()) return libvirtFailure("cannot read the definition of domain " + name);
      auto patched = patchDomainXml(current, delta.want);
      if (!patched) return hostform::unexpected(patched.error());
      DomainHandle redefined(virDomainDefineXML(in.conn, patched->c_str()));
      if (!redefined) return libvirtFailure("cannot update the definition of domain " + name);
    }
  }
  // The old seed, once the definition no longer names it. (A running domain
  // keeps its open file until it stops.)
  if (delta.deleteSeed)
    if (auto ok = deleteSeed(*delta.deleteSeed, in); !ok) return ok;

  // 2. The running domain, in place: the plan's live changes, made only while
  // it still runs (stopped since the plan, it starts below from the definition).
  if (delta.hasLiveChanges()) {
    const int now = domainState(dom.get());
    if (!isOff(now) && now != VIR_DOMAIN_PAUSED)
      if (auto ok = liveChanges(dom.get(), delta); !ok) return ok;
  }

  // 3. Autostart and state.
  if (delta.autostart && virDomainSetAutostart(dom.get(), *delta.autostart ? 1 : 0) < 0)
    return libvirtFailure("cannot set autostart of domain " + name);

  if (spec.state == VmState::Stopped) return shutdown(dom.get(), name, spec.shutdownTimeout, ctx);
  if (delta.restartNow) {
    ctx.progress("restarting " + name + " to apply changes that need a restart (restartPolicy: auto)");
    if (auto ok = shutdown(dom.get(), name, spec.shutdownTimeout, ctx); !ok) return ok;
  }
  const int state = domainState(dom.get());
  if (state == VIR_DOMAIN_PAUSED) {
    if (virDomainResume(dom.get()) < 0) return libvirtFailure("cannot resume domain " + name);
  } else if (isOff(state) && virDomainCreate(dom.get()) < 0) {
    return libvirtFailure("cannot start domain " + name);
  }
  return {};
}

}  // namespace hostform::kvm
