#pragma once
/// The StoragePool kind: a libvirt storage pool, a directory, an LVM volume
/// group or an NFS export (schemas/storage-pool.schema.json). Served by providers/kvm.

#include <optional>
#include <string>

#include "reconciler/kind.h"

namespace hostform {

enum class PoolType { Dir, Logical, Netfs };
HOSTFORM_DECLARE_ENUM_NAMES(PoolType)

struct PoolSource {
  std::optional<std::string> volumeGroup;
  std::optional<std::string> host;
  std::optional<std::string> path;
  bool operator==(const PoolSource&) const = default;
};

struct StoragePoolSpec {
  PoolType type = PoolType::Dir;
  std::optional<std::string> target;
  PoolSource source;
  bool autostart = true;
  bool active = true;
  bool operator==(const StoragePoolSpec&) const = default;
};

/// Its module (reconciler/kind.h): a logical pool refers to its volume group.
extern const KindOf<StoragePoolSpec> kStoragePoolKind;

namespace kinds {
inline constexpr Kind StoragePool{&kStoragePoolKind};
}

}  // namespace hostform
