#pragma once
/// The LogicalVolume kind: a linear volume, thin pool or thin volume in a
/// volume group (schemas/logical-volume.schema.json). Served by providers/lvm.

#include <cstdint>
#include <optional>
#include <string>

#include "reconciler/kinds/volume_group.h"

namespace hostform {

enum class LvType { Linear, ThinPool, Thin };
HOSTFORM_DECLARE_ENUM_NAMES(LvType)

enum class FsType { Ext4, Xfs };
HOSTFORM_DECLARE_ENUM_NAMES(FsType)

/// spec.filesystem: made on a new LV, grown with it when `resize`.
struct FilesystemSpec {
  FsType type = FsType::Ext4;
  bool resize = true;
  bool operator==(const FilesystemSpec&) const = default;
};

/// spec.autoExtend of a thin pool: lvm's thin_pool_autoextend_threshold and
/// thin_pool_autoextend_percent, through a metadata profile.
struct AutoExtendSpec {
  std::uint32_t threshold = 0;  ///< 50–99: data% at which lvm's monitoring extends the pool
  std::uint32_t percent = 0;    ///< 1–100: by how much of its size
  bool operator==(const AutoExtendSpec&) const = default;
};

struct LogicalVolumeSpec {
  std::string volumeGroup;
  LvType type = LvType::Linear;
  Bytes size = 0;
  std::optional<std::string> thinPool;
  /// Activated (a device node /dev/<vg>/<name>) or not; kept across reboots
  /// through lvm's autoactivation flag.
  bool active = true;
  std::optional<FilesystemSpec> filesystem;  ///< linear and thin only
  std::optional<AutoExtendSpec> autoExtend;  ///< thin pools only
  bool operator==(const LogicalVolumeSpec&) const = default;
};

/// "ext4 (resize)" / "xfs (no resize)"-free display: "ext4", "xfs, resize false".
std::string showFilesystem(const std::optional<FilesystemSpec>& fs);
/// "threshold 80%, percent 20%"; "(none)" is the caller's.
std::string showAutoExtend(const AutoExtendSpec& a);

/// A logical volume named from elsewhere (a VM's disk).
struct LogicalVolumeRef {
  std::string volumeGroup;
  std::string name;
  bool operator==(const LogicalVolumeRef&) const = default;
};

/// Its module (reconciler/kind.h): LVM's name rules; refers to its volume
/// group and its thin pool, which must be of type thin-pool; identity
/// LogicalVolume/<vg>/<name>. filesystem only on linear and thin volumes
/// that are active; autoExtend only on thin pools.
extern const KindOf<LogicalVolumeSpec> kLogicalVolumeKind;

namespace kinds {
inline constexpr Kind LogicalVolume{&kLogicalVolumeKind};
}

}  // namespace hostform
