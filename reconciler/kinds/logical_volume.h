#pragma once
/// The LogicalVolume kind: a linear volume, thin pool or thin volume in a
/// volume group (schemas/logical-volume.schema.json). Served by providers/lvm.

#include <optional>
#include <string>

#include "reconciler/kinds/volume_group.h"

namespace hostform {

enum class LvType { Linear, ThinPool, Thin };
HOSTFORM_DECLARE_ENUM_NAMES(LvType)

struct LogicalVolumeSpec {
  std::string volumeGroup;
  LvType type = LvType::Linear;
  Bytes size = 0;
  std::optional<std::string> thinPool;
  bool operator==(const LogicalVolumeSpec&) const = default;
};

/// A logical volume named from elsewhere (a VM's disk).
struct LogicalVolumeRef {
  std::string volumeGroup;
  std::string name;
  bool operator==(const LogicalVolumeRef&) const = default;
};

/// Its module (reconciler/kind.h): LVM's name rules; refers to its volume
/// group and its thin pool, which must be of type thin-pool; identity
/// LogicalVolume/<vg>/<name>.
extern const KindOf<LogicalVolumeSpec> kLogicalVolumeKind;

namespace kinds {
inline constexpr Kind LogicalVolume{&kLogicalVolumeKind};
}

}  // namespace hostform
