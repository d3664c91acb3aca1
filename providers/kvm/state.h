#pragma once
/// The KVM provider's picture of the host: every storage pool, volume and
/// domain, as read from libvirt in one observe.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "providers/kvm/domain_xml.h"
#include "providers/kvm/storage_xml.h"
#include "reconciler/plan.h"

namespace hostform::kvm {

struct PoolInfo {
  PoolConfig config;
  bool active = false;
  bool autostart = false;
  /// dir, logical, netfs: the types of the manifest. Others are left out.
  std::optional<PoolType> type() const;
};

struct VolumeInfo {
  std::string pool;
  VolumeConfig config;
};

struct DomainInfo {
  DomainConfig config;  ///< from the persistent definition
  bool active = false;  ///< running or paused
  bool paused = false;
  bool autostart = false;
  /// The user data in the domain's cloud-init seed (config.meta.seed), read
  /// back so export can show it; unset: no seed, or not readable.
  std::optional<std::string> seedUserData;
};

/// What hostform recorded of the image it filled a volume from
/// (<stateDir>/kvm/sources.json, providers/kvm/image.h).
struct SourceRecord {
  ImageSource source;
  bool importing = false;  ///< written before the upload, cleared after it: set = an import was cut short
  bool operator==(const SourceRecord&) const = default;
};

/// Records by "pool/name".
using SourceRecords = std::map<std::string, SourceRecord>;
inline std::string recordKey(std::string_view pool, std::string_view name) {
  return std::string(pool) + "/" + std::string(name);
}

/// A volume snapshot hostform took, as recorded in <stateDir>/kvm/snapshots.json
/// (providers/kvm/snapshot.h): qcow2 has no place for an owner.
struct VolumeSnapshotRecord {
  std::string pool, volume;
  bool external = false;
  std::string owner;
  std::int64_t created = 0;  ///< seconds since the epoch
  /// A snapshot taken before a loss (the file of a deleted or refilled volume
  /// kept as its frozen file): the owner whose apply took it; `owner` is then
  /// empty, so no prune deletes it.
  std::string safety;
  bool operator==(const VolumeSnapshotRecord&) const = default;
};
/// By snapshot name.
using VolumeSnapshotRecords = std::map<std::string, VolumeSnapshotRecord>;

/// One snapshot hostform took and found on the host: a qcow2 snapshot of a
/// volume (volume set) or a libvirt snapshot of a domain (domain set).
struct SnapshotInfo {
  std::string name;
  std::optional<VolumeRef> volume;
  std::string domain;
  bool external = false;
  std::string owner;
  std::int64_t created = 0;  ///< seconds since the epoch
  /// Space it holds: an internal volume snapshot's saved memory (0), an
  /// external one's frozen file's allocation. A domain snapshot's memory is read
  /// by status, not by every observe.
  Bytes used = 0;
  bool memory = false;      ///< domain: holds the memory (taken running)
  bool kept = false;        ///< volume: the whole file of a volume deleted or refilled since (before-loss)
  std::string domainState;  ///< domain: the state it was taken in (running, shutoff)
};

struct KvmState {
  std::vector<PoolInfo> pools;      ///< sorted by name
  std::vector<VolumeInfo> volumes;  ///< sorted by pool, name
  std::vector<DomainInfo> domains;  ///< sorted by name
  Bytes hostMemory = 0;             ///< the host's RAM (virNodeGetInfo)
  SourceRecords sources;            ///< the images volumes were filled from, as recorded under the state directory
  std::vector<SnapshotInfo> snapshots;  ///< hostform's snapshots found on the host, sorted by name, names unique
  /// Every libvirt snapshot name of every domain (hostform's or not), by domain: a new one must not clash.
  std::map<std::string, std::set<std::string>> domainSnapshotNames;
  VolumeSnapshotRecords volumeSnapshotRecords;  ///< as recorded, found on the host or not
  std::int64_t observedAt = 0;  ///< when it was read (seconds since the epoch): names snapshots taken before a loss

  /// Sorts the lists as the find functions need them; call after filling them.
  void sort();
  const PoolInfo* findPool(std::string_view name) const;
  const VolumeInfo* findVolume(std::string_view pool, std::string_view name) const;
  const VolumeInfo* volumeByPath(std::string_view path) const;
  const DomainInfo* findDomain(std::string_view name) const;
  const SnapshotInfo* findSnapshot(std::string_view name) const;
  /// Whether pool/name is the frozen file of a recorded external volume snapshot.
  bool isFrozenFile(std::string_view pool, std::string_view name) const;

  /// The state in the manifest model, with owners of domains (pools and
  /// volumes are owned through the ledger).
  std::vector<Observed> toObserved() const;
};

/// The disk as the manifest model describes it: a pool volume when the path is
/// one, a logical volume when it is /dev/<vg>/<lv>, else a path.
DiskSpec diskSpecOf(const DomainDisk& disk, const KvmState& state);

}  // namespace hostform::kvm
