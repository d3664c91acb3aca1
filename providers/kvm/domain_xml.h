#pragma once
/// Domain XML, read and written with pugixml.
///
/// Reading keeps only what the manifest model has: any valid libvirt domain
/// parses, and devices hostform does not model (cdroms, consoles, non-bridge
/// NICs, SPICE, ...) stay out of the diff. Writing an existing domain patches
/// its current XML in place, so those devices survive every update.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/result.h"

namespace hostform::kvm {

/// The XML namespace of hostform's element in a domain's <metadata> (docs/spec.md §4).
inline constexpr std::string_view kMetadataUri = "https://hostform.dev/xmlns/domain/1";
inline constexpr std::string_view kMetadataPrefix = "hostform";

/// One <disk device='disk'> or <disk device='cdrom'> (with a medium) as the domain has it.
struct DomainDisk {
  std::string type;        ///< file | block | volume | network | ...
  std::string source;      ///< file or dev path; empty for type=volume
  std::string pool, volume;///< type=volume
  std::string driverType;  ///< qcow2 | raw | ... (empty: libvirt's default, raw)
  std::string target;      ///< vda
  std::string bus;         ///< virtio | sata | scsi | ...
  bool readOnly = false;
  std::string device = "disk";  ///< disk | cdrom
  bool operator==(const DomainDisk&) const = default;
};

/// One <interface type='bridge'>.
struct DomainNic {
  std::string bridge;
  std::string mac;    ///< lower case
  std::string model;  ///< virtio
  bool operator==(const DomainNic&) const = default;
};

/// The cloud-init seed hostform wrote for a domain: its volume (which belongs
/// to the VM, not to the Volume objects), the digest of its files, its
/// instance-id, and how the plan shows what it holds (never the user data).
struct SeedRecord {
  std::string pool, volume;
  std::string digest;      ///< sha256 of the files as written (cloud_init.h seedDigest)
  std::string instanceId;
  std::string userData;    ///< as plans show it: sha256:<12 hex> (<N> bytes)
  std::string metaData;    ///< the declared metaData as compact JSON; empty: none
  std::string networkConfig;
  bool operator==(const SeedRecord&) const = default;
};

/// hostform's own element in <metadata>: the owner and the settings libvirt has
/// no place for.
struct DomainMetadata {
  std::string owner;
  std::optional<Millis> shutdownTimeout;
  std::optional<RestartPolicy> restartPolicy;
  std::optional<SeedRecord> seed;
};

/// Direct kernel boot as <os> has it; all empty: none.
struct DomainKernel {
  std::string kernel, initrd, cmdline;
  bool operator==(const DomainKernel&) const = default;
};

/// What hostform reads from a domain definition.
struct DomainConfig {
  std::string name;
  std::string uuid;
  std::uint32_t vcpus = 1;
  std::uint32_t maxVcpus = 1;
  Bytes memory = 0;
  Bytes maxMemory = 0;
  std::string machine;  ///< as libvirt has it: pc-q35-7.2
  Firmware firmware = Firmware::Bios;
  CpuMode cpuMode = CpuMode::Default;
  Accelerator accelerator = Accelerator::Kvm;  ///< <domain type='qemu'>: tcg; anything else: kvm
  std::vector<BootDevice> boot{BootDevice::Hd};
  Graphics graphics = Graphics::None;
  std::vector<DomainDisk> disks;  ///< disks and cdroms with a medium, the seed's cdrom left out
  std::vector<DomainNic> nics;
  DomainMetadata meta;
  DomainKernel kernel;
  std::optional<DomainDisk> seedDisk;     ///< the cdrom of meta.seed's volume
  std::vector<std::string> otherTargets;  ///< targets of disks hostform does not model
};

/// q35 for any q35 machine type ("pc-q35-7.2"), pc for everything else.
Machine machineFamily(std::string_view machine);

Result<DomainConfig> parseDomainXml(std::string_view xml);

/// The parts of a definition an update writes. compareDomain marks one for each
/// change it plans, and patchDomainXml writes exactly those: apply carries out
/// the plan's delta, and a part the plan did not change is never rewritten.
struct DomainParts {
  bool accelerator = false, memory = false, vcpus = false, machine = false, firmware = false, cpuMode = false,
       boot = false, graphics = false, disks = false, nics = false;
  bool kernel = false;   ///< <os>'s kernel, initrd and cmdline
  bool seed = false;     ///< the cloud-init seed's cdrom
  bool console = false;  ///< serial console with its log, and the guest-agent channel: new domains only
  static DomainParts all();
  bool any() const;
};

/// The state hostform writes: the desired spec with every disk and NIC resolved
/// to what the XML needs (paths, formats, targets, MACs).
struct DomainWrite {
  std::string name;
  const VirtualMachineSpec* spec = nullptr;
  std::vector<DomainDisk> disks;
  std::vector<DomainNic> nics;
  DomainMetadata meta;
  DomainParts parts;  ///< what patchDomainXml writes; newDomainXml writes everything
  DomainKernel kernel;                ///< paths resolved
  std::optional<DomainDisk> seedDisk; ///< the seed's cdrom (volume meta.seed names); unset: none
  std::string consoleLog;             ///< the serial console's log file; empty: no log
};

/// The definition of a new domain.
std::string newDomainXml(const DomainWrite& want);
/// `current` with the parts `want.parts` names set to `want`, and hostform's
/// <metadata> element; everything else kept as it is.
Result<std::string> patchDomainXml(std::string_view current, const DomainWrite& want);

/// Device XML for attach/detach.
std::string diskDeviceXml(const DomainDisk& disk);
std::string nicDeviceXml(const DomainNic& nic);

}  // namespace hostform::kvm
