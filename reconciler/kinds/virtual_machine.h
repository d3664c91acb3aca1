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
enum class DiskBus { Virtio, Sata, Scsi };
HOSTFORM_DECLARE_ENUM_NAMES(Machine)
HOSTFORM_DECLARE_ENUM_NAMES(Firmware)
HOSTFORM_DECLARE_ENUM_NAMES(CpuMode)
HOSTFORM_DECLARE_ENUM_NAMES(Accelerator)
HOSTFORM_DECLARE_ENUM_NAMES(VmState)
HOSTFORM_DECLARE_ENUM_NAMES(BootDevice)
HOSTFORM_DECLARE_ENUM_NAMES(Graphics)
HOSTFORM_DECLARE_ENUM_NAMES(RestartPolicy)
HOSTFORM_DECLARE_ENUM_NAMES(DiskBus)

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

/// Its module (reconciler/kind.h): maxVcpus ≥ vcpus, memory in whole KiB and ≤
/// maxMemory, disk targets and MAC addresses unique within the VM; refers to
/// its disks' volumes and logical volumes and its NICs' bridges.
extern const KindOf<VirtualMachineSpec> kVirtualMachineKind;

namespace kinds {
inline constexpr Kind VirtualMachine{&kVirtualMachineKind};
}

}  // namespace hostform
