#pragma once
/// The Volume kind: a volume in a libvirt storage pool, possibly a qcow2
/// overlay on a backing volume (schemas/volume.schema.json). Served by providers/kvm.

#include <optional>
#include <string>

#include "reconciler/kinds/storage_pool.h"

namespace hostform {

enum class VolumeFormat { Qcow2, Raw };
enum class Allocation { Thin, Full };
HOSTFORM_DECLARE_ENUM_NAMES(VolumeFormat)
HOSTFORM_DECLARE_ENUM_NAMES(Allocation)

/// A pool volume named from elsewhere (a backing volume, a VM's disk).
struct VolumeRef {
  std::string pool;
  std::string name;
  bool operator==(const VolumeRef&) const = default;
};

struct VolumeSpec {
  std::string pool;
  Bytes capacity = 0;
  VolumeFormat format = VolumeFormat::Qcow2;
  Allocation allocation = Allocation::Thin;
  std::optional<VolumeRef> backingVolume;
  bool operator==(const VolumeSpec&) const = default;
};

/// Its module (reconciler/kind.h): a qcow2 volume of at most 2PiB (QEMU's limit
/// with 64KiB clusters); refers to its pool and its backing volume; identity
/// Volume/<pool>/<name>.
extern const KindOf<VolumeSpec> kVolumeKind;

namespace kinds {
inline constexpr Kind Volume{&kVolumeKind};
}

}  // namespace hostform
