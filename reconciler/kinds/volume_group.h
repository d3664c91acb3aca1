#pragma once
/// The VolumeGroup kind: an LVM volume group and its physical volumes
/// (schemas/volume-group.schema.json). Served by providers/lvm.

#include <string>
#include <vector>

#include "reconciler/kind.h"

namespace hostform {

struct VolumeGroupSpec {
  std::vector<std::string> physicalVolumes;
  Bytes extentSize = 4 * MiB;
  bool force = false;
  bool operator==(const VolumeGroupSpec&) const = default;
};

/// Its module (reconciler/kind.h): extent sizes lvm2 takes, LVM's name rules.
extern const KindOf<VolumeGroupSpec> kVolumeGroupKind;

namespace kinds {
inline constexpr Kind VolumeGroup{&kVolumeGroupKind};
}

/// lvm2's rules for VG and LV names (lib/misc/lvm-string.c) beyond the
/// schema's character set: no "." or "..", no reserved prefix or infix.
void checkLvmName(SpecReader& in, const yaml::Node& at, const std::string& name, const std::string& path);

}  // namespace hostform
