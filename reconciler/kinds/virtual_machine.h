#pragma once
/// The VirtualMachine kind: a libvirt domain, its disks and NICs
/// (schemas/virtual-machine.schema.json). Served by providers/kvm.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "reconciler/kinds/bridge.h"
#include "reconciler/kinds/logical_volume.h"
#include "reconciler/kinds/volume.h"

namespace hostform {

enum class Machine { Pc, Q35 };
enum class Firmware { Bios, Uefi };
enum class CpuMode { Default, HostModel, HostPassthrough };
enum class Accelerator { Kvm, Tcg };
enum class VmState { Running, Stopped };
enum class BootDevice { Hd, Network, Cdrom };
enum class Graphics { None, Vnc };
enum class RestartPolicy { Never, Auto };
enum class DiskBus { Virtio, Sata, Scsi, Ide };
enum class DiskDevice { Disk, Cdrom };
HOSTFORM_DECLARE_ENUM_NAMES(Machine)
HOSTFORM_DECLARE_ENUM_NAMES(Firmware)
HOSTFORM_DECLARE_ENUM_NAMES(CpuMode)
HOSTFORM_DECLARE_ENUM_NAMES(Accelerator)
HOSTFORM_DECLARE_ENUM_NAMES(VmState)
HOSTFORM_DECLARE_ENUM_NAMES(BootDevice)
HOSTFORM_DECLARE_ENUM_NAMES(Graphics)
HOSTFORM_DECLARE_ENUM_NAMES(RestartPolicy)
HOSTFORM_DECLARE_ENUM_NAMES(DiskBus)
HOSTFORM_DECLARE_ENUM_NAMES(DiskDevice)

/// The bus a disk gets when the manifest names none: virtio for a disk; for a
/// cdrom sata on q35 and ide on pc (the buses those machines have for one).
DiskBus defaultBus(DiskDevice device, Machine machine);

struct DiskSpec {
  /// Exactly one source: a libvirt volume, a logical volume, or a host path.
  std::variant<VolumeRef, LogicalVolumeRef, std::string> source;
  std::optional<std::string> target;  ///< vda, vdb…; unset: assigned in order
  DiskBus bus = DiskBus::Virtio;
  bool readOnly = false;  ///< always true for a cdrom
  DiskDevice device = DiskDevice::Disk;
  bool operator==(const DiskSpec&) const = default;
};

struct InterfaceSpec {
  std::string bridge;
  std::optional<std::string> macAddress;  ///< lower case; unset: generated once, then kept
  std::string model = "virtio";
  bool operator==(const InterfaceSpec&) const = default;
};

/// A file the domain boots from (spec.kernel): a host path or a pool volume.
using BootFile = std::variant<std::string, VolumeRef>;

/// Direct kernel boot: <os><kernel>, <initrd>, <cmdline>.
struct KernelSpec {
  BootFile image;
  std::optional<BootFile> initrd;
  std::optional<std::string> cmdline;
  bool operator==(const KernelSpec&) const = default;
};

/// A NoCloud seed for cloud-init. metaData and networkConfig are arbitrary
/// maps, kept as canonical JSON text (keys sorted, compact) so specs compare
/// with == and the seed's files are exactly that text.
struct CloudInitSpec {
  std::optional<std::string> userData;       ///< verbatim; never shown (see userDataDigest)
  std::optional<std::string> metaData;       ///< canonical JSON object
  std::optional<std::string> networkConfig;  ///< canonical JSON object, version 2
  std::optional<std::string> pool;           ///< unset: the pool of the first pool-volume disk
  bool operator==(const CloudInitSpec&) const = default;
};

/// How plans and logs show user data: "sha256:<first 12 hex> (<N> bytes)".
std::string userDataDigest(const std::string& userData);

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
  std::optional<KernelSpec> kernel;
  std::optional<CloudInitSpec> cloudInit;
  bool operator==(const VirtualMachineSpec&) const = default;
};

/// Its module (reconciler/kind.h): maxVcpus ≥ vcpus, memory in whole KiB and ≤
/// maxMemory, disk targets and MAC addresses unique within the VM; refers to
/// its disks' volumes and logical volumes and its NICs' bridges, its kernel's
/// volumes and its cloud-init seed's pool. userData must be a cloud-init format.
extern const KindOf<VirtualMachineSpec> kVirtualMachineKind;

namespace kinds {
inline constexpr Kind VirtualMachine{&kVirtualMachineKind};
}

}  // namespace hostform
