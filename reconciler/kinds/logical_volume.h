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

class LogicalVolumeKind final : public KindOf<LogicalVolumeSpec> {
 public:
  constexpr LogicalVolumeKind() : KindOf("LogicalVolume", 30, "logical-volume.schema.json") {}
  LogicalVolumeSpec read(SpecReader& in) const override;
  void write(const LogicalVolumeSpec& spec, SpecWriter& out) const override;
  void list(const LogicalVolumeSpec& spec, FieldList& out) const override;
  /// Its volume group, and its thin pool, which must be of type thin-pool.
  void refer(const LogicalVolumeSpec& spec, std::vector<Reference>& out) const override;
  /// Identity Kind/VG/name.
  std::string scopeOf(const LogicalVolumeSpec& spec) const override { return spec.volumeGroup; }
};
inline constinit const LogicalVolumeKind kLogicalVolumeKind;

namespace kinds {
inline constexpr Kind LogicalVolume{&kLogicalVolumeKind};
}

}  // namespace hostform
