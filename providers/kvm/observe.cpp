#include "providers/kvm/observe.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "providers/kvm/cloud_init.h"
#include "providers/kvm/session.h"
#include "providers/kvm/snapshot_kind.h"

namespace hostform::kvm {
namespace {

/// Threads that fetch per-object XML at once over the one connection: the
/// calls are round-trips to libvirtd, which serves them concurrently, so a
/// few in flight cut observe time (measured: 1 -> 4 threads, -33%).
constexpr std::size_t kFetchThreads = 4;

/// Runs fetch(i) for i in [0, n) on up to kFetchThreads threads.
template <class Fetch>
void fetchAll(std::size_t n, Fetch fetch) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) fetch(i);
  };
  std::vector<std::jthread> threads;
  for (std::size_t t = 1; t < std::min(n, kFetchThreads); ++t) threads.emplace_back(worker);
  worker();
}

/// An XML document fetched for one object, or why it could not be.
struct Fetched {
  std::string xml;
  int errorCode = VIR_ERR_OK;
  std::string error;
};

template <class Call>
Fetched fetchXml(Call call) {
  Fetched f;
  f.xml = takeString(call());
  if (f.xml.empty()) {
    f.errorCode = virGetLastErrorCode();
    f.error = lastError();
  }
  return f;
}

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

/// Whether the directory of a dir or netfs pool holds a regular file that is
/// not among `volumes`: one copied in by hand since libvirt last looked.
bool holdsUnlistedFiles(const std::string& poolXml, const std::vector<VolumeHandle>& volumes) {
  auto config = parsePoolXml(poolXml);
  if (!config || (config->type != "dir" && config->type != "netfs") || config->target.empty()) return false;
  std::set<std::string> listed;
  for (const VolumeHandle& v : volumes) listed.insert(virStorageVolGetName(v.get()));
  std::error_code ec;
  for (std::filesystem::directory_iterator it(config->target, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code typeError;
    if (it->is_regular_file(typeError) && !listed.contains(it->path().filename().string())) return true;
  }
  return false;
}

Result<void> readPools(virConnectPtr conn, bool local, KvmState& state) {
  virStoragePoolPtr* raw = nullptr;
  int n = virConnectListAllStoragePools(conn, &raw, 0);
  if (n < 0) return libvirtFailure("cannot list storage pools");
  auto pools = adoptList<PoolHandle>(raw, n);
  auto active = poolNames(conn, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
  if (!active) return hostform::unexpected(active.error());
  auto autostart = poolNames(conn, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART);
  if (!autostart) return hostform::unexpected(autostart.error());

  // Pool XML and volume lists, then volume XML: each batch fetched concurrently.
  std::vector<Fetched> poolXml(pools.size());
  std::vector<std::vector<VolumeHandle>> poolVolumes(pools.size());
  std::vector<std::string> listErrors(pools.size());
  std::vector<int> listErrorCodes(pools.size(), VIR_ERR_OK);
  fetchAll(pools.size(), [&](std::size_t i) {
    poolXml[i] = fetchXml([&] { return virStoragePoolGetXMLDesc(pools[i].get(), 0); });
    if (!active->contains(virStoragePoolGetName(pools[i].get()))) return;
    virStorageVolPtr* rawVols = nullptr;
    int nv = virStoragePoolListAllVolumes(pools[i].get(), &rawVols, 0);
    if (nv < 0) {
      listErrorCodes[i] = virGetLastErrorCode();
      listErrors[i] = lastError();
    } else {
      poolVolumes[i] = adoptList<VolumeHandle>(rawVols, nv);
    }
    // libvirt learns of files in a pool's directory only when the pool is
    // refreshed: an image copied in by hand is seen after this.
    if (local && listErrors[i].empty() && !poolXml[i].xml.empty() &&
        holdsUnlistedFiles(poolXml[i].xml, poolVolumes[i]) && virStoragePoolRefresh(pools[i].get(), 0) == 0) {
      rawVols = nullptr;
      nv = virStoragePoolListAllVolumes(pools[i].get(), &rawVols, 0);
      if (nv >= 0) poolVolumes[i] = adoptList<VolumeHandle>(rawVols, nv);
    }
  });
  struct VolumeJob {
    std::size_t pool;
    virStorageVolPtr vol;
  };
  std::vector<VolumeJob> jobs;
  for (std::size_t i = 0; i < pools.size(); ++i)
    for (const VolumeHandle& v : poolVolumes[i]) jobs.push_back({i, v.get()});
  std::vector<Fetched> volXml(jobs.size());
  fetchAll(jobs.size(), [&](std::size_t j) { volXml[j] = fetchXml([&] { return virStorageVolGetXMLDesc(jobs[j].vol, 0); }); });

  std::vector<bool> poolGone(pools.size(), false);
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const std::string name = virStoragePoolGetName(pools[i].get());
    if (poolXml[i].xml.empty()) {
      // Gone between the list and the fetch: it is not there any more.
      if (poolXml[i].errorCode == VIR_ERR_NO_STORAGE_POOL) {
        poolGone[i] = true;
        continue;
      }
      return fail("cannot read the definition of storage pool " + name + ": " + poolXml[i].error);
    }
    if (!listErrors[i].empty()) {
      // Removed since the list: gone. Stopped since the list: active no more,
      // and an inactive pool lists no volumes.
      if (listErrorCodes[i] == VIR_ERR_NO_STORAGE_POOL) continue;
      if (listErrorCodes[i] == VIR_ERR_OPERATION_INVALID) {
        if (auto config = parsePoolXml(poolXml[i].xml)) state.pools.push_back({std::move(*config), false, autostart->contains(name)});
        continue;
      }
      return fail("cannot list the volumes of storage pool " + name + ": " + listErrors[i]);
    }
    auto config = parsePoolXml(poolXml[i].xml);
    if (!config) return fail("storage pool " + name + ": " + config.error().message);
    state.pools.push_back({std::move(*config), active->contains(name), autostart->contains(name)});
  }
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    if (poolGone[jobs[j].pool]) continue;
    const std::string pool = virStoragePoolGetName(pools[jobs[j].pool].get());
    if (volXml[j].xml.empty()) {
      // Gone since the list, alone or with its pool: not there any more.
      if (volXml[j].errorCode == VIR_ERR_NO_STORAGE_VOL || volXml[j].errorCode == VIR_ERR_NO_STORAGE_POOL) continue;
      return fail("cannot read volume " + std::string(virStorageVolGetName(jobs[j].vol)) + " of storage pool " + pool +
                  ": " + volXml[j].error);
    }
    auto volConfig = parseVolumeXml(volXml[j].xml);
    if (!volConfig) return fail("volume of storage pool " + pool + ": " + volConfig.error().message);
    state.volumes.push_back({pool, std::move(*volConfig)});
  }
  return {};
}

/// The user data of a domain's seed, read back through libvirt (a remote
/// libvirtd too); nullopt when the volume is gone or not a seed image.
std::optional<std::string> readSeedUserData(virConnectPtr conn, const SeedRecord& seed) {
  PoolHandle pool(virStoragePoolLookupByName(conn, seed.pool.c_str()));
  if (!pool) return std::nullopt;
  VolumeHandle vol(virStorageVolLookupByName(pool.get(), seed.volume.c_str()));
  virStorageVolInfo info{};
  // Seeds are tens of KiB; anything large is not one hostform wrote.
  if (!vol || virStorageVolGetInfo(vol.get(), &info) < 0 || info.capacity > 16 * MiB) return std::nullopt;
  Handle<virStream, virStreamFree> stream(virStreamNew(conn, 0));
  if (!stream || virStorageVolDownload(vol.get(), stream.get(), 0, info.capacity, 0) < 0) return std::nullopt;
  std::string bytes;
  std::vector<char> buf(64 * 1024);
  int n = 0;
  while ((n = virStreamRecv(stream.get(), buf.data(), buf.size())) > 0) bytes.append(buf.data(), static_cast<std::size_t>(n));
  if (n < 0) {
    virStreamAbort(stream.get());
    return std::nullopt;
  }
  if (virStreamFinish(stream.get()) < 0) return std::nullopt;
  auto files = readSeedIso(bytes);
  if (!files) return std::nullopt;
  return std::move(files->userData);
}

Result<void> readDomains(virConnectPtr conn, KvmState& state) {
  virDomainPtr* raw = nullptr;
  int n = virConnectListAllDomains(conn, &raw, 0);
  if (n < 0) return libvirtFailure("cannot list domains");
  auto domains = adoptList<DomainHandle>(raw, n);
  auto running = domainNames(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  if (!running) return hostform::unexpected(running.error());
  auto paused = domainNames(conn, VIR_CONNECT_LIST_DOMAINS_PAUSED);
  if (!paused) return hostform::unexpected(paused.error());
  auto autostart = domainNames(conn, VIR_CONNECT_LIST_DOMAINS_AUTOSTART);
  if (!autostart) return hostform::unexpected(autostart.error());

  // The persistent definition: what the next start runs and what hostform writes.
  std::vector<Fetched> xml(domains.size());
  fetchAll(domains.size(), [&](std::size_t i) {
    xml[i] = fetchXml([&] { return virDomainGetXMLDesc(domains[i].get(), VIR_DOMAIN_XML_INACTIVE); });
  });
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const std::string name = virDomainGetName(domains[i].get());
    if (xml[i].xml.empty()) {
      if (xml[i].errorCode == VIR_ERR_NO_DOMAIN) continue;
      return fail("cannot read the definition of domain " + name + ": " + xml[i].error);
    }
    auto config = parseDomainXml(xml[i].xml);
    if (!config) return fail("domain " + name + ": " + config.error().message);
    state.domains.push_back(
        {std::move(*config), running->contains(name), paused->contains(name), autostart->contains(name), {}});
  }
  return {};
}

}  // namespace

void readSeeds(virConnectPtr conn, KvmState& state) {
  fetchAll(state.domains.size(), [&](std::size_t i) {
    DomainInfo& d = state.domains[i];
    if (d.config.meta.seed) d.seedUserData = readSeedUserData(conn, *d.config.meta.seed);
  });
}

Result<KvmState> readState(virConnectPtr conn, bool local) {
  KvmState state, domains;
  // Storage and domains are independent reads: both in flight at once.
  Result<void> domainsRead;
  {
    std::jthread reader([&] { domainsRead = readDomains(conn, domains); });
    if (auto ok = readPools(conn, local, state); !ok) return hostform::unexpected(ok.error());
  }
  if (!domainsRead) return hostform::unexpected(domainsRead.error());
  state.domains = std::move(domains.domains);
  virNodeInfo node{};
  if (virNodeGetInfo(conn, &node) == 0) state.hostMemory = static_cast<Bytes>(node.memory) * KiB;
  state.sort();
  return state;
}

// ---- KvmState -------------------------------------------------------------------

std::optional<PoolType> PoolInfo::type() const {
  PoolType t{};
  if (fromString(config.type, t)) return t;
  return std::nullopt;
}

void KvmState::sort() {
  std::ranges::sort(pools, {}, [](const PoolInfo& p) { return p.config.name; });
  std::ranges::sort(volumes, {}, [](const VolumeInfo& v) { return std::tie(v.pool, v.config.name); });
  std::ranges::sort(domains, {}, [](const DomainInfo& d) { return d.config.name; });
}

// Binary searches: plan looks up a pool, volume or domain for every declared one.
const PoolInfo* KvmState::findPool(std::string_view name) const {
  auto it = std::ranges::lower_bound(pools, name, {}, [](const PoolInfo& p) { return std::string_view(p.config.name); });
  return it != pools.end() && it->config.name == name ? &*it : nullptr;
}

const VolumeInfo* KvmState::findVolume(std::string_view pool, std::string_view name) const {
  auto key = [](const VolumeInfo& v) { return std::pair<std::string_view, std::string_view>(v.pool, v.config.name); };
  auto it = std::ranges::lower_bound(volumes, std::pair(pool, name), {}, key);
  return it != volumes.end() && key(*it) == std::pair(pool, name) ? &*it : nullptr;
}

const VolumeInfo* KvmState::volumeByPath(std::string_view path) const {
  if (path.empty()) return nullptr;
  for (const VolumeInfo& v : volumes)
    if (v.config.path == path) return &v;
  return nullptr;
}

const SnapshotInfo* KvmState::findSnapshot(std::string_view name) const {
  auto it = std::ranges::lower_bound(snapshots, name, {}, [](const SnapshotInfo& s) { return std::string_view(s.name); });
  return it != snapshots.end() && it->name == name ? &*it : nullptr;
}

bool KvmState::isFrozenFile(std::string_view pool, std::string_view name) const {
  for (const auto& [snapshot, r] : volumeSnapshotRecords)
    if (r.external && r.pool == pool && r.volume + "@" + snapshot == name) return true;
  return false;
}

const DomainInfo* KvmState::findDomain(std::string_view name) const {
  auto it = std::ranges::lower_bound(domains, name, {}, [](const DomainInfo& d) { return std::string_view(d.config.name); });
  return it != domains.end() && it->config.name == name ? &*it : nullptr;
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
  return Resource{ResourceId{kinds::StoragePool, "", p.config.name}, {}, spec, {}, {}};
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
  if (auto it = state.sources.find(recordKey(v.pool, v.config.name)); it != state.sources.end())
    spec.source = it->second.source;
  return Resource{ResourceId{kinds::Volume, v.pool, v.config.name}, {}, spec, {}, {}};
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
  spec.accelerator = c.accelerator;
  spec.state = d.active && !d.paused ? VmState::Running : VmState::Stopped;
  spec.autostart = d.autostart;
  spec.shutdownTimeout = c.meta.shutdownTimeout.value_or(VirtualMachineSpec{}.shutdownTimeout);
  spec.restartPolicy = c.meta.restartPolicy.value_or(RestartPolicy::Never);
  for (const DomainDisk& disk : c.disks) spec.disks.push_back(diskSpecOf(disk, state));
  for (const DomainNic& nic : c.nics) spec.interfaces.push_back({nic.bridge, nic.mac, nic.model});
  spec.boot = c.boot;
  spec.graphics = c.graphics;
  if (!c.kernel.kernel.empty()) {
    auto file = [&](const std::string& path) -> BootFile {
      if (const VolumeInfo* v = state.volumeByPath(path)) return VolumeRef{v->pool, v->config.name};
      return path;
    };
    KernelSpec kernel{file(c.kernel.kernel), std::nullopt, std::nullopt};
    if (!c.kernel.initrd.empty()) kernel.initrd = file(c.kernel.initrd);
    if (!c.kernel.cmdline.empty()) kernel.cmdline = c.kernel.cmdline;
    spec.kernel = std::move(kernel);
  }
  if (const std::optional<SeedRecord>& seed = c.meta.seed) {
    CloudInitSpec ci;
    ci.userData = d.seedUserData;
    if (!seed->metaData.empty()) ci.metaData = seed->metaData;
    if (!seed->networkConfig.empty()) ci.networkConfig = seed->networkConfig;
    ci.pool = seed->pool;
    spec.cloudInit = std::move(ci);
  }
  return Resource{ResourceId{kinds::VirtualMachine, "", c.name}, {}, spec, {}, {}};
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
  spec.device = disk.device == "cdrom" ? DiskDevice::Cdrom : DiskDevice::Disk;
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
  // A domain's cloud-init seed belongs to the VM: never a Volume object.
  std::set<std::pair<std::string, std::string>> seeds;
  for (const DomainInfo& d : domains)
    if (d.config.meta.seed) seeds.emplace(d.config.meta.seed->pool, d.config.meta.seed->volume);
  for (const VolumeInfo& v : volumes)
    if (modelled.contains(v.pool) && !seeds.contains({v.pool, v.config.name}) && !isFrozenFile(v.pool, v.config.name))
      out.push_back({volumeResource(v, *this), {}});
  for (const DomainInfo& d : domains) out.push_back({domainResource(d, *this), d.config.meta.owner});
  // A volume's external snapshot is its frozen file: a Snapshot, never a Volume object.
  for (Observed& o : snapshotObjects(*this)) out.push_back(std::move(o));
  return out;
}

}  // namespace hostform::kvm
