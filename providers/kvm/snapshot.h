#pragma once
/// Snapshots of KVM storage and domains (kind Snapshot, docs/spec.md): the
/// primitives, each one backend operation.
///
/// A volume's snapshot (spec.source.volume), on a qcow2 volume that no running
/// VM uses:
///   internal  a qcow2 internal snapshot named after the Snapshot
///             (`qemu-img snapshot -c/-d/-a`); it lives inside the image.
///   external  the volume's file is frozen: renamed to "<volume>@<snapshot>"
///             in the same pool, and a new qcow2 overlay backed by it takes the
///             volume's name and path, so every VM that names the volume keeps
///             using it. Restore discards the overlay (a new empty one on the
///             frozen file); delete merges the frozen file into the image
///             above it (`qemu-img rebase`, safe mode) and removes it.
/// qcow2 has no place for an owner: hostform records the volume snapshots it
/// made, with their owner, in <stateDir>/kvm/snapshots.json, and observes only
/// those (reading every image of every pool on each observe would cost one
/// qemu-img run per image).
///
/// A VM's snapshot (spec.source.virtualMachine): a libvirt domain snapshot,
/// internal (every writable disk qcow2; with the memory when the VM runs: a
/// system checkpoint), its owner in the snapshot's <description>
/// ("hostform owner=<owner>"). External domain snapshots are refused (see
/// domainSnapshotRefusal).
///
/// External tools run with an argument vector (reconciler/process.h).

#include <libvirt/libvirt.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "providers/kvm/state.h"
#include "reconciler/handle.h"
#include "reconciler/result.h"

namespace hostform::kvm {

namespace fs = std::filesystem;

// ---- qcow2 internal snapshots (qemu-img) -------------------------------------------

/// One internal snapshot of a qcow2 image, as `qemu-img info --output=json` lists it.
struct ImageSnapshot {
  std::string id;
  std::string name;
  std::int64_t dateSec = 0;  ///< when it was taken, seconds since the epoch
  Bytes vmStateSize = 0;     ///< the saved memory of a running VM; 0 for a disk-only snapshot
  bool operator==(const ImageSnapshot&) const = default;
};

/// What an image holds: its snapshots, its format, its allocation.
struct ImageSnapshots {
  std::string format;
  Bytes actualSize = 0;  ///< the file's allocation on the host
  std::string backingFile;
  std::vector<ImageSnapshot> snapshots;
};

/// `qemu-img info -U --output=json FILE` (-U: also while a VM has it open).
Result<ImageSnapshots> readImageSnapshots(const fs::path& image);
/// The JSON of `qemu-img info --output=json`, parsed (split out for tests).
Result<ImageSnapshots> parseImageInfo(const std::string& json, const std::string& file);

/// `qemu-img snapshot -c NAME FILE`; refused when the image already holds a
/// snapshot of that name (qemu-img would make a second one).
Result<void> createImageSnapshot(const fs::path& image, const std::string& name);
/// `qemu-img snapshot -d NAME FILE`.
Result<void> deleteImageSnapshot(const fs::path& image, const std::string& name);
/// `qemu-img snapshot -a NAME FILE`: the image's content becomes the snapshot's.
Result<void> revertImageSnapshot(const fs::path& image, const std::string& name);

// ---- qcow2 external snapshots of a volume (a frozen file and an overlay) -----------

/// The frozen file's name: "<volume>@<snapshot>".
std::string frozenVolumeName(const std::string& volume, const std::string& snapshot);

/// Freezes `image` as <dir>/<volume>@<snapshot> and puts a new empty qcow2
/// overlay backed by it at `image`'s path (same owner and mode).
Result<void> createExternalVolumeSnapshot(const fs::path& image, const std::string& snapshot);
/// Discards what was written to `image` since the snapshot: a new empty overlay
/// on the frozen file. Refused when a newer external snapshot lies between them.
Result<void> revertExternalVolumeSnapshot(const fs::path& image, const std::string& snapshot);
/// Merges the frozen file into the image that uses it as backing file (the
/// volume or a newer frozen file) and removes it.
Result<void> deleteExternalVolumeSnapshot(const fs::path& image, const std::string& snapshot);

// ---- hostform's records of volume snapshots ---------------------------------------

enum class SnapshotStorage { Internal, External };
std::string_view storageName(SnapshotStorage s);

/// <stateDir>/kvm/snapshots.json; none when the file does not exist.
Result<VolumeSnapshotRecords> readVolumeSnapshotRecords(const fs::path& stateDir);
/// Sets (or, nullopt, drops) one record: read, changed and written back
/// atomically, serialised across the threads of this process.
Result<void> writeVolumeSnapshotRecord(const fs::path& stateDir, const std::string& name,
                                       const std::optional<VolumeSnapshotRecord>& record);

// ---- libvirt domain snapshots --------------------------------------------------

using DomainSnapshotHandle = Handle<virDomainSnapshot, virDomainSnapshotFree>;

/// One libvirt snapshot of a domain, from its XML.
struct DomainSnapshotInfo {
  std::string domain;
  std::string name;
  std::int64_t creationTime = 0;   ///< seconds since the epoch
  std::string state;               ///< the domain's state when taken: running, shutoff, paused, disk-snapshot
  bool memory = false;             ///< holds the memory (<memory snapshot='internal'|'external'/>)
  bool external = false;           ///< a disk is snapshotted externally
  std::string owner;               ///< from "hostform owner=<owner>" in <description>; empty: not hostform's
  std::vector<std::string> disks;  ///< the targets snapshotted (vda, ...)
  bool operator==(const DomainSnapshotInfo&) const = default;
};

/// The <description> that marks a snapshot as hostform's.
std::string snapshotDescription(const std::string& owner);
/// The owner in a description hostform wrote; empty for any other.
std::string ownerOfDescription(const std::string& description);

/// The XML virDomainSnapshotCreateXML gets for an internal snapshot: name and
/// owner mark; libvirt chooses the rest (memory when running, every writable disk).
std::string domainSnapshotXml(const std::string& name, const std::string& owner);
Result<DomainSnapshotInfo> parseDomainSnapshotXml(const std::string& domain, const std::string& xml);

/// Every snapshot of every domain that has any (one list call per domain).
Result<std::vector<DomainSnapshotInfo>> readDomainSnapshots(virConnectPtr conn);

/// virDomainSnapshotCreateXML (internal; a running VM's memory with it).
Result<void> createDomainSnapshot(virConnectPtr conn, const std::string& domain, const std::string& name,
                                  const std::string& owner);
/// virDomainSnapshotDelete.
Result<void> deleteDomainSnapshot(virConnectPtr conn, const std::string& domain, const std::string& name);
/// virDomainRevertToSnapshot: the disks, and the memory and run state when
/// the snapshot has them (a VM snapshotted running runs again from that point).
Result<void> revertDomainSnapshot(virConnectPtr conn, const std::string& domain, const std::string& name);

// ---- what cannot be done, found at plan time --------------------------------------

/// Why `volume` cannot have a snapshot of `storage` taken, deleted or restored
/// now; nullopt: it can. `local`: libvirt runs on this host (qemu-img must
/// reach the file).
std::optional<std::string> volumeSnapshotRefusal(const VolumeInfo& volume, const KvmState& state,
                                                 SnapshotStorage storage, bool local);
/// Why `domain` cannot have a snapshot of `storage` taken; nullopt: it can.
std::optional<std::string> domainSnapshotRefusal(const DomainInfo& domain, const KvmState& state,
                                                 SnapshotStorage storage);
/// The running domains that use `volume` (as a disk of their live definition's source).
std::vector<std::string> runningUsers(const VolumeInfo& volume, const KvmState& state);

}  // namespace hostform::kvm
