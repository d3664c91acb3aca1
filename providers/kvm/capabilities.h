#pragma once
/// What this host's hypervisor can run, in libvirt's own words: the host
/// capabilities (virConnectGetCapabilities: the domain types and machine types
/// of x86_64 guests) and the domain capabilities of one domain type and
/// machine (virConnectGetDomainCapabilities: UEFI firmware, CPU modes). The
/// plan refuses what they rule out, so apply never finds it out
/// (docs/spec.md §4 "Plan is honest").

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/provider.h"
#include "reconciler/result.h"

namespace hostform::kvm {

struct HostCapabilities {
  /// False when the driver describes no QEMU guests at all (test:///default
  /// describes "test" domains): nothing can be checked, so nothing is refused.
  bool qemuDriver = false;
  std::set<std::string> domainTypes;  ///< of hvm x86_64 guests: "qemu", and "kvm" where KVM works
  std::set<std::string> machines;     ///< machine types and their aliases: "pc", "q35", "pc-q35-7.2"
};

/// Reads virConnectGetCapabilities' XML.
Result<HostCapabilities> parseHostCapabilities(std::string_view xml);

/// The domain capabilities of one domain type and machine.
struct DomainCapabilities {
  bool efi = false;                ///< libvirt finds UEFI firmware (OVMF) for these guests
  std::set<std::string> cpuModes;  ///< the supported ones: "host-passthrough", "host-model", "custom", ...
};

/// Reads virConnectGetDomainCapabilities' XML.
Result<DomainCapabilities> parseDomainCapabilities(std::string_view xml);

/// What a plan knows of the host for one VM's accelerator and machine.
struct CapabilityReport {
  std::optional<HostCapabilities> host;      ///< nullopt: not reported; nothing is checked
  std::optional<DomainCapabilities> domain;  ///< nullopt: not reported (see domainError)
  std::string domainError;  ///< libvirt's reason when it reported no domain capabilities; empty: not asked or unsupported
};

/// The arguments of virConnectGetDomainCapabilities for a VM: its domain type
/// ("kvm" or "qemu") and machine alias ("q35" or "pc").
std::string_view virtTypeOf(Accelerator accelerator);
std::string_view machineAlias(Machine machine);

/// What `spec` asks of the hypervisor that `report` says it cannot do, as plan
/// problems naming the field (spec.accelerator, spec.machine, spec.firmware,
/// spec.cpuMode), each a whole sentence that says what to do instead.
std::vector<Diff::Problem> capabilityProblems(const std::string& vm, const VirtualMachineSpec& spec,
                                              const CapabilityReport& report);

}  // namespace hostform::kvm
