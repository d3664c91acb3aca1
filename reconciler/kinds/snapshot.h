#pragma once
/// The Snapshot kind: a point-in-time copy of a logical volume (LVM thick or
/// thin snapshot), of a volume (qcow2 internal or external snapshot) or of a
/// virtual machine (libvirt domain snapshot) (schemas/snapshot.schema.json).
/// Served by two providers: providers/lvm takes logicalVolume sources,
/// providers/kvm volume and virtualMachine sources (Provider::serves).

#include <optional>
#include <string>

#include "reconciler/kinds/logical_volume.h"
#include "reconciler/kinds/volume.h"

namespace hostform {

enum class SnapshotMode { Internal, External };
HOSTFORM_DECLARE_ENUM_NAMES(SnapshotMode)

/// What a snapshot is taken of: exactly one of the three is set.
struct SnapshotSource {
  std::optional<LogicalVolumeRef> logicalVolume;
  std::optional<VolumeRef> volume;
  std::optional<std::string> virtualMachine;
  bool operator==(const SnapshotSource&) const = default;

  /// The resource it names: LogicalVolume/<vg>/<name>, Volume/<pool>/<name>
  /// or VirtualMachine/<name>.
  ResourceId id() const;
  /// "logicalVolume vg0/data", as plans show it.
  std::string shown() const;
};

struct SnapshotSpec {
  SnapshotSource source;
  /// A thick LVM snapshot's copy-on-write size; nullopt otherwise.
  std::optional<Bytes> size;
  /// Volume and VM sources only (the schema refuses it for an LV).
  SnapshotMode mode = SnapshotMode::Internal;
  bool operator==(const SnapshotSpec&) const = default;
};

/// Its module (reconciler/kind.h): refers to its source; an unscoped identity
/// Snapshot/<name> (names are unique among snapshots whatever their source);
/// rank 70, after everything it can snapshot.
extern const KindOf<SnapshotSpec> kSnapshotKind;

namespace kinds {
inline constexpr Kind Snapshot{&kSnapshotKind};
}

}  // namespace hostform
