#include "providers/kvm/observe.h"

#include <algorithm>
#include <set>

#include "providers/kvm/connection.h"

namespace hostform::kvm {
namespace {

template <class Handle, class Name>
std::set<std::string> namesOf(std::vector<Handle> list, Name name) {
  std::set<std::string> out;
  for (const Handle& h : list) out.insert(name(h.get()));
  return out;
}

Result<std::set<std::string>> poolNames(virConnectPtr conn, unsigned flags) {
  virStoragePoolPtr* raw = nullptr;
  int n = virConnectListAllStoragePools(conn, &raw, flags);
  if (n < 0) return libvirtFailure("cannot list storage pools");
  return namesOf(adoptList<PoolHandle>(raw, n), virStoragePoolGetName);
}

Result<std::set<std::string>> domainNames(virConnectPtr conn, unsigned flags) {
  virDomainPtr* raw = nullptr;
  int n = virConnectListAllDomains(conn, &raw, flags);
  if (n < 0) return libvirtFailure("cannot list domains");
  return namesOf(adoptList<DomainHandle>(raw, n), virDomainGetName);
}

Result<void> readPools(virConnectPtr conn, KvmState& state) {
  virStoragePoolPtr* raw = nullptr;
  int n = virConnectListAllStoragePools(conn, &raw, 0);
  if (n < 0) return libvirtFailure("cannot list storage pools");
  auto pools = adoptList<PoolHandle>(raw, n);
  auto active = poolNames(conn, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
  if (!active) return std::unexpected(active.error());
  auto autostart = poolNames(conn, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART);
  if (!autostart) return std::unexpected(autostart.error());

  for (const PoolHandle& pool : pools) {
    const std::string name = virStoragePoolGetName(pool.get());
    std::string xml = takeString(virStoragePoolGetXMLDesc(pool.get(), 0));
    if (xml.empty()) {
      // Gone between the list and the fetch: it is not there any more.
      if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_POOL) continue;
      return libvirtFailure("cannot read the definition of storage pool " + name);
    }
    auto config = parsePoolXml(xml);
    if (!config) return fail("storage pool " + name + ": " + config.error().message);
    PoolInfo info{std::move(*config), active->contains(name), autostart->contains(name)};
    if (info.active) {
      virStorageVolPtr* rawVols = nullptr;
      int nv = virStoragePoolListAllVolumes(pool.get(), &rawVols, 0);
      if (nv < 0) return libvirtFailure("cannot list the volumes of storage pool " + name);
      for (const VolumeHandle& vol : adoptList<VolumeHandle>(rawVols, nv)) {
        std::string volXml = takeString(virStorageVolGetXMLDesc(vol.get(), 0));
        if (volXml.empty()) {
          if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_VOL) continue;
          return libvirtFailure("cannot read volume " + std::string(virStorageVolGetName(vol.get())) +
                                " of storage pool " + name);
        }
        auto volConfig = parseVolumeXml(volXml);
        if (!volConfig) return fail("volume of storage pool " + name + ": " + volConfig.error().message);
        state.volumes.push_back({name, std::move(*volConfig)});
      }
    }
    state.pools.push_back(std::move(info));
  }
  return {};
}

Result<void> readDomains(virConnectPtr conn, KvmState& state) {
  virDomainPtr* raw = nullptr;
  int n = virConnectListAllDomains(conn, &raw, 0);
  if (n < 0) return libvirtFailure("cannot list domains");
  auto domains = adoptList<DomainHandle>(raw, n);
  auto running = domainNames(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  if (!running) return std::unexpected(running.error());
  auto paused = domainNames(conn, VIR_CONNECT_LIST_DOMAINS_PAUSED);
  if (!paused) return std::unexpected(paused.error());
  auto autostart = domainNames(conn, VIR_CONNECT_LIST_DOMAINS_AUTOSTART);
  if (!autostart) return std::unexpected(autostart.error());

  for (const DomainHandle& dom : domains) {
    const std::string name = virDomainGetName(dom.get());
    // The persistent definition: what the next start runs and what hostform writes.
    std::string xml = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
    if (xml.empty()) {
      if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) continue;
      return libvirtFailure("cannot read the definition of domain " + name);
    }
    auto config = parseDomainXml(xml);
    if (!config) return fail("domain " + name + ": " + config.error().message);
    state.domains.push_back(
        {std::move(*config), running->contains(name), paused->contains(name), autostart->contains(name)});
  }
  return {};
}

}  // namespace

Result<KvmState> readState(virConnectPtr conn) {
  KvmState state;
  if (auto ok = readPools(conn, state); !ok) return std::unexpected(ok.error());
  if (auto ok = readDomains(conn, state); !ok) return std::unexpected(ok.error());
  virNodeInfo node{};
  if (virNodeGetInfo(conn, &node) == 0) state.hostMemory = static_cast<Bytes>(node.memory) * KiB;
  std::ranges::sort(state.pools, {}, [](const PoolInfo& p) { return p.config.name; });
  std::ranges::sort(state.volumes, {}, [](const VolumeInfo& v) { return std::tie(v.pool, v.config.name); });
  std::ranges::sort(state.domains, {}, [](const DomainInfo& d) { return d.config.name; });
  return state;
}

// ---- KvmState -------------------------------------------------------------------

std::optional<PoolType> PoolInfo::type() const {
  PoolType t{};
  if (fromString(config.type, t)) return t;
  return std::nullopt;
}

const PoolInfo* KvmState::findPool(std::string_view name) const {
  auto it = std::ranges::find(pools, name, [](const PoolInfo& p) { return std::string_view(p.config.name); });
  return it == pools.end() ? nullptr : &*it;
}

const VolumeInfo* KvmState::findVolume(std::string_view pool, std::string_view name) const {
  for (const VolumeInfo& v : volumes)
    if (v.pool == pool && v.config.name == name) return &v;
  return nullptr;
}

const VolumeInfo* KvmState::volumeByPath(std::string_view path) const {
  if (path.empty()) return nullptr;
  for (const VolumeInfo& v : volumes)
    if (v.config.path == path) return &v;
  return nullptr;
}

const DomainInfo* KvmState::findDomain(std::string_view name) const {
  auto it = std::ranges::find(domains, name, [](const DomainInfo& d) { return std::string_view(d.config.name); });
  return it == domains.end() ? nullptr : &*it;
}

namespace {

/// /dev/<vg>/<lv>, but not the kernel's own directories under /dev.
std::optional<LogicalVolumeRef> logicalVolumeOf(std::string_view path) {
  if (!path.starts_with("/dev/")) return std::nullopt;
  std::string_view rest = path.substr(5);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) return std::nullopt;
  std::string_view vg = rest.substr(0, slash), lv = rest.substr(slash + 1);
  static constexpr std::string_view kSystemDirs[] = {"mapper", "disk", "md", "block", "bus", "char", "cpu",
                                                     "dri",    "input", "net", "pts", "shm", "snd", "vfio"};
  if (vg.empty() || lv.empty() || std::ranges::find(kSystemDirs, vg) != std::end(kSystemDirs)) return std::nullopt;
  return LogicalVolumeRef{std::string(vg), std::string(lv)};
}

Resource poolResource(const PoolInfo& p, PoolType type) {
  StoragePoolSpec spec;
  spec.type = type;
  if (type == PoolType::Logical) spec.source.volumeGroup = p.config.sourceName;
  else spec.target = p.config.target;
  if (type == PoolType::Netfs) {
    spec.source.host = p.config.sourceHost;
    spec.source.path = p.config.sourceDir;
  }
  spec.autostart = p.autostart;
  spec.active = p.active;
  return Resource{ResourceId{Kind::StoragePool, "", p.config.name}, {}, spec, {}, {}};
}

Resource volumeResource(const VolumeInfo& v, const KvmState& state) {
  VolumeSpec spec;
  spec.pool = v.pool;
  spec.capacity = v.config.capacity;
  spec.format = v.config.format == "qcow2" ? VolumeFormat::Qcow2 : VolumeFormat::Raw;
  spec.allocation =
      v.config.capacity > 0 && v.config.allocation >= v.config.capacity ? Allocation::Full : Allocation::Thin;
  if (const VolumeInfo* base = state.volumeByPath(v.config.backingPath))
    spec.backingVolume = VolumeRef{base->pool, base->config.name};
  return Resource{ResourceId{Kind::Volume, v.pool, v.config.name}, {}, spec, {}, {}};
}

Resource domainResource(const DomainInfo& d, const KvmState& state) {
  const DomainConfig& c = d.config;
  VirtualMachineSpec spec;
  spec.vcpus = c.vcpus;
  spec.maxVcpus = c.maxVcpus;
  spec.memory = c.memory;
  spec.maxMemory = c.maxMemory;
  spec.machine = machineFamily(c.machine);
  spec.firmware = c.firmware;
  spec.cpuMode = c.cpuMode;
  spec.state = d.active && !d.paused ? VmState::Running : VmState::Stopped;
  spec.autostart = d.autostart;
  spec.shutdownTimeout = c.meta.shutdownTimeout.value_or(VirtualMachineSpec{}.shutdownTimeout);
  spec.restartPolicy = c.meta.restartPolicy.value_or(RestartPolicy::Never);
  for (const DomainDisk& disk : c.disks) spec.disks.push_back(diskSpecOf(disk, state));
  for (const DomainNic& nic : c.nics) spec.interfaces.push_back({nic.bridge, nic.mac, nic.model});
  spec.boot = c.boot;
  spec.graphics = c.graphics;
  return Resource{ResourceId{Kind::VirtualMachine, "", c.name}, {}, spec, {}, {}};
}

}  // namespace

DiskSpec diskSpecOf(const DomainDisk& disk, const KvmState& state) {
  DiskSpec spec;
  if (disk.type == "volume") spec.source = VolumeRef{disk.pool, disk.volume};
  else if (const VolumeInfo* v = state.volumeByPath(disk.source)) spec.source = VolumeRef{v->pool, v->config.name};
  else if (auto lv = disk.type == "block" ? logicalVolumeOf(disk.source) : std::nullopt) spec.source = *lv;
  else spec.source = disk.source;
  spec.target = disk.target;
  DiskBus bus{};
  if (fromString(disk.bus, bus)) spec.bus = bus;
  spec.readOnly = disk.readOnly;
  return spec;
}

std::vector<Observed> KvmState::toObserved() const {
  std::vector<Observed> out;
  std::set<std::string> modelled;
  for (const PoolInfo& p : pools) {
    auto type = p.type();
    if (!type) continue;  // iscsi, rbd, ...: not in the manifest model, left alone
    modelled.insert(p.config.name);
    out.push_back({poolResource(p, *type), {}});
  }
  for (const VolumeInfo& v : volumes)
    if (modelled.contains(v.pool)) out.push_back({volumeResource(v, *this), {}});
  for (const DomainInfo& d : domains) out.push_back({domainResource(d, *this), d.config.meta.owner});
  return out;
}

}  // namespace hostform::kvm
