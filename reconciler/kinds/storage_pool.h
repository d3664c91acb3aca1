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

class StoragePoolKind final : public KindOf<StoragePoolSpec> {
 public:
  constexpr StoragePoolKind() : KindOf("StoragePool", 40, "storage-pool.schema.json") {}
  StoragePoolSpec read(SpecReader& in) const override;
  void write(const StoragePoolSpec& spec, SpecWriter& out) const override;
  void list(const StoragePoolSpec& spec, FieldList& out) const override;
  /// A logical pool stands on its volume group.
  void refer(const StoragePoolSpec& spec, std::vector<Reference>& out) const override;
};
inline constinit const StoragePoolKind kStoragePoolKind;

namespace kinds {
inline constexpr Kind StoragePool{&kStoragePoolKind};
}

}  // namespace hostform
