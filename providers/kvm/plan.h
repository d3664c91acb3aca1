#pragma once
/// Comparing declared pools, volumes and VMs with the host, and checking at
/// plan time that applying the difference is possible (docs/spec.md §4 "Plan is honest").

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "providers/kvm/capabilities.h"
#include "providers/kvm/state.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

struct PlanInputs {
  const KvmState& state;
  bool localHost = true;  ///< paths of path-disks and pool targets can be checked here
  /// What the hypervisor can do for a VM's accelerator and machine; read when
  /// first asked, once per observe (KvmSnapshot keeps them). Empty: nothing is checked.
  std::function<CapabilityReport(Accelerator, Machine)> capabilities = {};
};

Diff planPool(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);
Diff planVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);
Diff planDomain(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

Deletion deletionOf(const Observed& live, const PlanContext& ctx, const KvmState& state);

/// The capacity libvirt will report for a declared volume: logical volumes are
/// whole extents, files whole 512-byte sectors.
Bytes effectiveCapacity(const Resource& volume, const PlanContext& ctx, const KvmState& state);

/// A declared disk resolved to what the domain XML holds.
Result<DomainDisk> resolveDisk(const DiskSpec& disk, const std::string& target, const PlanContext& ctx,
                               const KvmState& state);

/// Everything that differs between a declared VM and its domain, as the plan
/// shows it and as apply carries it out: one computation for both, so apply
/// does exactly what the plan said.
struct DomainDelta {
  DomainWrite want;  ///< the full desired definition (disks and NICs resolved)
  std::vector<FieldChange> changes;
  std::vector<Diff::Problem> problems;
  std::optional<std::string> dataLoss;
  // Applied to the running domain (LIVE), after the persistent definition:
  std::optional<Bytes> liveMemory;
  std::optional<std::uint32_t> liveVcpus;
  std::vector<DomainDisk> detachDisks, attachDisks;
  std::vector<DomainNic> detachNics, attachNics, retargetNics;
  bool restartNeeded = false;  ///< a restart-class change on a running domain
  bool configChanged = false;  ///< the persistent definition must be written
};

/// `newMac` makes a MAC for a NIC the manifest gives none (called once per new NIC).
DomainDelta compareDomain(const Resource& desired, const DomainInfo* live, const PlanContext& ctx,
                          const KvmState& state, const std::string& owner, const std::function<std::string()>& newMac);

/// A random locally administered MAC in QEMU's 52:54:00 range, unused on the host.
std::string randomMac(const KvmState& state);

}  // namespace hostform::kvm
