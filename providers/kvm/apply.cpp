#include "providers/kvm/apply.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "providers/kvm/session.h"
#include "providers/kvm/observe.h"
#include "providers/kvm/plan.h"

namespace hostform::kvm {
namespace {

using namespace std::chrono_literals;

bool has(const Action& a, std::string_view field) {
  return std::ranges::any_of(a.changes, [&](const FieldChange& c) { return c.field == field; });
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
  if (a.op == Op::Create) {
    const std::string xml = newPoolXml(name, spec);
    PoolHandle pool(virStoragePoolDefineXML(in.conn, xml.c_str(), 0));
    if (!pool) return libvirtFailure("cannot define storage pool " + name);
    if (spec.active)
      if (auto ok = buildAndStart(pool.get(), name, spec.type); !ok) return ok;
    if (virStoragePoolSetAutostart(pool.get(), spec.autostart ? 1 : 0) < 0)
      return libvirtFailure("cannot set autostart of storage pool " + name);
    return {};
  }

  auto pool = lookupPool(in.conn, name);
  if (!pool) return hostform::unexpected(pool.error());
  if (has(a, "active")) {
    if (spec.active) {
      if (auto ok = buildAndStart(pool->get(), name, spec.type); !ok) return ok;
    } else if (virStoragePoolDestroy(pool->get()) < 0) {
      return libvirtFailure("cannot stop storage pool " + name);
    }
  }
  if (has(a, "autostart") && virStoragePoolSetAutostart(pool->get(), spec.autostart ? 1 : 0) < 0)
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

}  // namespace

Result<void> applyVolume(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  const std::string& pool = a.id.scope;
  const std::string& name = a.id.name;
  const std::string label = pool + "/" + name;
  if (a.op == Op::Delete) {
    auto vol = lookupVolume(in.conn, pool, name);
    if (!vol) return hostform::unexpected(vol.error());
    if (virStorageVolDelete(vol->get(), 0) < 0) return libvirtFailure("cannot delete volume " + label);
    return {};
  }

  const auto& spec = a.desired->as<VolumeSpec>();
  const PoolInfo* poolInfo = in.state.findPool(pool);
  const bool logical = poolInfo && poolInfo->type() == PoolType::Logical;
  // Whole sectors / extents, as the plan computed them.
  const Bytes capacity = effectiveCapacity(*a.desired, PlanContext{}, in.state);
  if (a.op == Op::Create) {
    auto p = lookupPool(in.conn, pool);
    if (!p) return hostform::unexpected(p.error());
    VolumeWrite want;
    want.name = name;
    want.capacity = capacity;
    want.format = spec.format;
    want.full = spec.allocation == Allocation::Full || logical;
    want.withFormat = !logical;
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
    return {};
  }

  if (has(a, "capacity")) {
    auto vol = lookupVolume(in.conn, pool, name);
    if (!vol) return hostform::unexpected(vol.error());
    auto have = readVolume(vol->get());
    if (!have) return hostform::unexpected(have.error());
    // A disk in use by a running guest is resized through the guest's block
    // layer, so the guest sees the new size at once (and the image lock holds).
    if (auto user = runningUser(in.conn, pool, name, have->path)) {
      if (virDomainBlockResize(user->first.get(), user->second.c_str(), capacity, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
        return libvirtFailure("cannot resize volume " + label + " (disk " + user->second + " of running domain " +
                              virDomainGetName(user->first.get()) + ")");
    } else {
      unsigned flags = capacity < have->capacity ? VIR_STORAGE_VOL_RESIZE_SHRINK : 0;
      if (spec.allocation == Allocation::Full) flags |= VIR_STORAGE_VOL_RESIZE_ALLOCATE;
      if (virStorageVolResize(vol->get(), capacity, flags) < 0) return libvirtFailure("cannot resize volume " + label);
    }
  }
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

/// ACPI shutdown, then forced off when the guest has not stopped within `timeout`.
Result<void> shutdown(virDomainPtr dom, const std::string& name, Millis timeout, const ApplyContext& ctx) {
  if (isOff(domainState(dom))) return {};
  if (domainState(dom) == VIR_DOMAIN_PAUSED) {
    // A paused guest cannot answer ACPI.
    if (virDomainDestroy(dom) < 0) return libvirtFailure("cannot stop paused domain " + name);
    return {};
  }
  const auto start = std::chrono::steady_clock::now();
  if (virDomainShutdown(dom) < 0 && !isOff(domainState(dom))) {
    ctx.progress("domain " + name + " refused ACPI shutdown (" + lastError() + "); forcing it off");
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

/// The state an apply compares against: this domain as libvirt has it now, and
/// the volumes its declared disks name (created earlier in this run, perhaps).
Result<KvmState> freshStateFor(virConnectPtr conn, virDomainPtr dom, const VirtualMachineSpec& spec) {
  KvmState state;
  if (dom) {
    std::string xml = takeString(virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE));
    if (xml.empty()) return libvirtFailure(std::string("cannot read the definition of domain ") + virDomainGetName(dom));
    auto config = parseDomainXml(xml);
    if (!config) return hostform::unexpected(config.error());
    const int s = domainState(dom);
    int autostart = 0;
    (void)virDomainGetAutostart(dom, &autostart);
    state.domains.push_back({std::move(*config), !isOff(s), s == VIR_DOMAIN_PAUSED, autostart == 1});
  }
  auto addVolume = [&](const std::string& pool, const std::string& name) -> Result<void> {
    // Not sorted yet: a linear look (a VM has a handful of disks).
    if (std::ranges::any_of(state.volumes, [&](const VolumeInfo& v) { return v.pool == pool && v.config.name == name; }))
      return {};
    auto vol = lookupVolume(conn, pool, name);
    if (!vol) return hostform::unexpected(vol.error());
    auto config = readVolume(vol->get());
    if (!config) return hostform::unexpected(config.error());
    state.volumes.push_back({pool, std::move(*config)});
    return {};
  };
  for (const DiskSpec& disk : spec.disks)
    if (auto* v = std::get_if<VolumeRef>(&disk.source))
      if (auto ok = addVolume(v->pool, v->name); !ok) return hostform::unexpected(ok.error());
  if (!state.domains.empty())
    for (const DomainDisk& disk : state.domains.front().config.disks)
      if (disk.type == "volume") (void)addVolume(disk.pool, disk.volume);  // gone: compared by name only
  state.sort();
  return state;
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
  for (const DomainNic& nic : d.attachNics)
    if (auto ok = device(dom, nicDeviceXml(nic), "attach interface " + nic.mac, virDomainAttachDeviceFlags); !ok)
      return ok;
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
  return {};
}

}  // namespace

Result<void> applyDomain(const Action& a, const ApplyContext& ctx, ApplyInputs in) {
  if (a.op == Op::Delete) return deleteDomain(a, ctx, in);
  const std::string& name = a.id.name;
  const auto& spec = a.desired->as<VirtualMachineSpec>();

  DomainHandle dom;
  if (a.op != Op::Create) {
    auto found = lookupDomain(in.conn, name);
    if (!found) return hostform::unexpected(found.error());
    dom = std::move(*found);
  }
  auto fresh = freshStateFor(in.conn, dom.get(), spec);
  if (!fresh) return hostform::unexpected(fresh.error());
  const DomainInfo* before = fresh->domains.empty() ? nullptr : &fresh->domains.front();
  PlanContext none;
  none.owner = ctx.owner;
  DomainDelta delta = compareDomain(*a.desired, before, none, *fresh, ctx.owner, [&] { return randomMac(in.state); });
  if (!delta.problems.empty()) return fail(delta.problems.front().field + ": " + delta.problems.front().message);

  // 1. The persistent definition, always: a later restart never loses a change.
  if (!dom) {
    const std::string xml = newDomainXml(delta.want);
    dom.reset(virDomainDefineXML(in.conn, xml.c_str()));
    if (!dom) return libvirtFailure("cannot define domain " + name);
  } else if (delta.configChanged) {
    std::string current = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE));
    if (current.empty()) return libvirtFailure("cannot read the definition of domain " + name);
    auto patched = patchDomainXml(current, delta.want);
    if (!patched) return hostform::unexpected(patched.error());
    DomainHandle redefined(virDomainDefineXML(in.conn, patched->c_str()));
    if (!redefined) return libvirtFailure("cannot update the definition of domain " + name);
  }

  const bool active = before && before->active;
  const bool restart = active && delta.restartNeeded && spec.restartPolicy == RestartPolicy::Auto &&
                       spec.state == VmState::Running;

  // 2. The running domain, in place.
  if (active && !restart && spec.state == VmState::Running && !(before && before->paused))
    if (auto ok = liveChanges(dom.get(), delta); !ok) return ok;

  // 3. Autostart and state.
  const bool autostartNow = before ? before->autostart : false;
  if ((!before || autostartNow != spec.autostart) && virDomainSetAutostart(dom.get(), spec.autostart ? 1 : 0) < 0)
    return libvirtFailure("cannot set autostart of domain " + name);

  if (spec.state == VmState::Stopped) return shutdown(dom.get(), name, spec.shutdownTimeout, ctx);
  if (restart) {
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
