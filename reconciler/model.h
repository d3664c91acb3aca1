#pragma once
/// The manifest model: one typed spec per kind (docs/spec.md §1), with defaults resolved.
/// Desired state (from manifests) and observed state (from providers) use the
/// same types, so comparing them is comparing two values of one schema.

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "reconciler/units.h"

namespace hostform {

/// The order of this enum is the order of Spec's alternatives and the order
/// kinds are listed in plans and exports.
enum class Kind { Bridge, VolumeGroup, LogicalVolume, StoragePool, Volume, VirtualMachine };
inline constexpr Kind kAllKinds[] = {Kind::Bridge,      Kind::VolumeGroup, Kind::LogicalVolume,
                                     Kind::StoragePool, Kind::Volume,      Kind::VirtualMachine};

std::string_view kindName(Kind kind);
std::optional<Kind> parseKind(std::string_view name);

/// Identity of a resource: `Kind/name`, or `Kind/scope/name` for kinds that live
/// inside another (LogicalVolume inside its VG, Volume inside its pool).
struct ResourceId {
  Kind kind{};
  std::string scope;  ///< VG of a LogicalVolume, pool of a Volume; empty otherwise
  std::string name;

  std::string str() const;
  auto operator<=>(const ResourceId&) const = default;
};

// ---- enums of the manifest, each with its spelling in YAML -----------------
enum class AdminState { Up, Down };
enum class LvType { Linear, ThinPool, Thin };
enum class PoolType { Dir, Logical, Netfs };
enum class VolumeFormat { Qcow2, Raw };
enum class Allocation { Thin, Full };
enum class Machine { Pc, Q35 };
enum class Firmware { Bios, Uefi };
enum class CpuMode { Default, HostModel, HostPassthrough };
enum class Accelerator { Kvm, Tcg };
enum class VmState { Running, Stopped };
enum class BootDevice { Hd, Network, Cdrom };
enum class Graphics { None, Vnc };
enum class RestartPolicy { Never, Auto };
enum class DiskBus { Virtio, Sata, Scsi };

std::string_view toString(AdminState);
std::string_view toString(LvType);
std::string_view toString(PoolType);
std::string_view toString(VolumeFormat);
std::string_view toString(Allocation);
std::string_view toString(Machine);
std::string_view toString(Firmware);
std::string_view toString(CpuMode);
std::string_view toString(Accelerator);
std::string_view toString(VmState);
std::string_view toString(BootDevice);
std::string_view toString(Graphics);
std::string_view toString(RestartPolicy);
std::string_view toString(DiskBus);

/// Reads a YAML spelling into the enum; false when the word is not one of them.
bool fromString(std::string_view text, AdminState& out);
bool fromString(std::string_view text, LvType& out);
bool fromString(std::string_view text, PoolType& out);
bool fromString(std::string_view text, VolumeFormat& out);
bool fromString(std::string_view text, Allocation& out);
bool fromString(std::string_view text, Machine& out);
bool fromString(std::string_view text, Firmware& out);
bool fromString(std::string_view text, CpuMode& out);
bool fromString(std::string_view text, Accelerator& out);
bool fromString(std::string_view text, VmState& out);
bool fromString(std::string_view text, BootDevice& out);
bool fromString(std::string_view text, Graphics& out);
bool fromString(std::string_view text, RestartPolicy& out);
bool fromString(std::string_view text, DiskBus& out);

// ---- specs ------------------------------------------------------------------
struct StpSpec {
  bool enabled = false;
  std::uint32_t priority = 32768;
  Millis forwardDelay{15'000};
  Millis helloTime{2'000};
  Millis maxAge{20'000};
  bool operator==(const StpSpec&) const = default;
};

struct BridgeSpec {
  AdminState state = AdminState::Up;
  std::optional<std::uint32_t> mtu;          ///< unset: the kernel's default, not compared
  std::optional<std::string> macAddress;     ///< lower case; unset: kernel chosen, not compared
  StpSpec stp;
  std::vector<std::string> ports;            ///< authoritative
  std::vector<std::string> addresses;        ///< CIDR, authoritative for global scope
  bool operator==(const BridgeSpec&) const = default;
};

struct VolumeGroupSpec {
  std::vector<std::string> physicalVolumes;
  Bytes extentSize = 4 * MiB;
  bool force = false;
  bool operator==(const VolumeGroupSpec&) const = default;
};

struct LogicalVolumeSpec {
  std::string volumeGroup;
  LvType type = LvType::Linear;
  Bytes size = 0;
  std::optional<std::string> thinPool;
  bool operator==(const LogicalVolumeSpec&) const = default;
};

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

struct VolumeRef {
  std::string pool;
  std::string name;
  bool operator==(const VolumeRef&) const = default;
};

struct LogicalVolumeRef {
  std::string volumeGroup;
  std::string name;
  bool operator==(const LogicalVolumeRef&) const = default;
};

struct VolumeSpec {
  std::string pool;
  Bytes capacity = 0;
  VolumeFormat format = VolumeFormat::Qcow2;
  Allocation allocation = Allocation::Thin;
  std::optional<VolumeRef> backingVolume;
  bool operator==(const VolumeSpec&) const = default;
};

struct DiskSpec {
  /// Exactly one source: a libvirt volume, a logical volume, or a host path.
  std::variant<VolumeRef, LogicalVolumeRef, std::string> source;
  std::optional<std::string> target;  ///< vda, vdb…; unset: assigned in order
  DiskBus bus = DiskBus::Virtio;
  bool readOnly = false;
  bool operator==(const DiskSpec&) const = default;
};

struct InterfaceSpec {
  std::string bridge;
  std::optional<std::string> macAddress;  ///< lower case; unset: generated once, then kept
  std::string model = "virtio";
  bool operator==(const InterfaceSpec&) const = default;
};

struct VirtualMachineSpec {
  std::uint32_t vcpus = 1;
  std::uint32_t maxVcpus = 1;  ///< defaults to vcpus
  Bytes memory = 0;
  Bytes maxMemory = 0;  ///< defaults to memory
  Machine machine = Machine::Q35;
  Firmware firmware = Firmware::Bios;
  CpuMode cpuMode = CpuMode::Default;
  /// kvm: hardware virtualisation; tcg: QEMU's emulation (libvirt domain type qemu).
  Accelerator accelerator = Accelerator::Kvm;
  VmState state = VmState::Running;
  bool autostart = true;
  Millis shutdownTimeout{60'000};
  std::vector<DiskSpec> disks;
  std::vector<InterfaceSpec> interfaces;
  std::vector<BootDevice> boot{BootDevice::Hd};
  Graphics graphics = Graphics::None;
  RestartPolicy restartPolicy = RestartPolicy::Never;
  bool operator==(const VirtualMachineSpec&) const = default;
};

/// Alternatives in the order of Kind.
using Spec = std::variant<BridgeSpec, VolumeGroupSpec, LogicalVolumeSpec, StoragePoolSpec, VolumeSpec,
                          VirtualMachineSpec>;

/// Where something was written: a file and a 1-based line and column.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
};

/// Where one field of a loaded document was written (same file as the document).
struct FieldPos {
  std::string path;  ///< "spec.volumeGroup"
  int line = 0;
  int column = 0;
};

struct Resource {
  ResourceId id;
  std::map<std::string, std::string> labels;
  Spec spec;
  SourcePos source;                ///< the document's start; unknown for observed resources
  std::vector<FieldPos> positions; ///< of the spec's fields, for plan-time diagnostics

  Kind kind() const { return id.kind; }
  template <class S>
  const S& as() const { return std::get<S>(spec); }
  template <class S>
  S& as() { return std::get<S>(spec); }
};

/// A reference from one resource to another, named by the field that makes it.
struct Reference {
  ResourceId target;
  std::string field;  ///< "spec.volumeGroup", "spec.disks[1].volume"
};

/// Every resource `r` refers to (docs/spec.md §1 "References and order").
std::vector<Reference> references(const Resource& r);

/// One comparable leaf of a spec: its path below `spec` and its value as the
/// plan shows it ("10GiB", "15s", "[eth1, eth2]"). Unset optional fields are left out.
struct Field {
  std::string path;
  std::string value;
  bool operator==(const Field&) const = default;
};
std::vector<Field> fields(const Resource& r);

/// The identity a spec gives a resource of `kind` named `name`.
ResourceId identityOf(Kind kind, const std::string& name, const Spec& spec);

}  // namespace hostform

template <>
struct std::hash<hostform::ResourceId> {
  std::size_t operator()(const hostform::ResourceId& id) const noexcept {
    std::size_t h = std::hash<std::string>{}(id.name);
    h ^= std::hash<std::string>{}(id.scope) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h ^ (static_cast<std::size_t>(id.kind) * 0x9e3779b97f4a7c15ULL);
  }
};
