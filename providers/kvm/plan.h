#pragma once
/// Comparing declared pools, volumes and VMs with the host, checking at plan
/// time that applying the difference is possible (docs/spec.md §4 "Plan is
/// honest"), and computing the typed delta apply carries out.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/kvm/capabilities.h"
#include "providers/kvm/cloud_init.h"
#include "providers/kvm/state.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

struct PlanInputs {
  const KvmState& state;
  bool localHost = true;  ///< paths of path-disks and pool targets can be checked here
  /// The provider's state directory: new domains log their serial console to
  /// <stateDir>/console/<vm>.log (empty: no console log), and its image cache
  /// tells a downloaded image's size (providers/kvm/image.h).
  std::filesystem::path stateDir = {};
  /// What the hypervisor can do for a VM's accelerator and machine; read when
  /// first asked, once per observe (KvmSnapshot keeps them). Empty: nothing is checked.
  std::function<CapabilityReport(Accelerator, Machine)> capabilities = {};
};

Diff planPool(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);
Diff planVolume(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);
Diff planDomain(const Resource& desired, const Observed* live, const PlanContext& ctx, PlanInputs in);

/// `local`: libvirt runs on this host (a deleted volume's file can be kept as its snapshot before the loss).
Deletion deletionOf(const Observed& live, const PlanContext& ctx, const KvmState& state, bool local = true);

/// The capacity libvirt will report for a declared volume: logical volumes are
/// whole extents, files whole 512-byte sectors.
Bytes effectiveCapacity(const Resource& volume, const PlanContext& ctx, const KvmState& state);

/// A declared disk resolved to what the domain XML holds.
Result<DomainDisk> resolveDisk(const DiskSpec& disk, const std::string& target, const PlanContext& ctx,
                               const KvmState& state);

// ---- deltas: what a plan computed for its apply to carry out (Diff::delta) ----
// Apply executes them as they are: it never compares again, and never looks at
// the plan's FieldChanges, which are for people.

/// A pool's changes after it exists. A new pool is defined inactive, without
/// autostart.
struct PoolDelta {
  std::optional<bool> active;     ///< start it (built first) or stop it
  std::optional<bool> autostart;  ///< set it (every new pool: either way)
};

/// A volume as the plan sized it.
struct VolumeDelta {
  Bytes capacity = 0;     ///< as libvirt will report it (effectiveCapacity): whole sectors, or whole extents
  bool full = false;      ///< preallocated: declared so, or a logical volume (always allocated)
  bool logical = false;   ///< in a logical pool: a logical volume, with no file format
  bool resize = false;    ///< Update: the host's capacity differs; resize it to `capacity`
  bool shrink = false;    ///< Update: `capacity` is below the host's (the plan's data loss)
  /// Create (and the create of a Replace): fill the new volume from this image,
  /// in `format`, then grow it to `capacity` when that is larger than the
  /// image's virtual size (`capacity` 0: the image's size).
  std::optional<ImageSource> source;
  VolumeFormat format = VolumeFormat::Qcow2;  ///< the format the content is written in (raw in logical pools)
  /// Update: the volume's content already is the declared image: only its
  /// source record changes to `recordOnly`.
  std::optional<ImageSource> recordOnly;
};

/// The MAC of a NIC the manifest gives none, until apply chooses one: a plan
/// shows no random value (the next plan would show another), and the address
/// is picked once, when the NIC is written.
inline constexpr std::string_view kMacToGenerate = "(generated)";

/// The cloud-init seed volume apply writes before the definition: created, or
/// rewritten in place, with these files.
struct SeedWrite {
  std::string pool, volume;
  SeedFiles files;
};

/// A domain's definition and its live changes, as the plan decided them.
struct DomainDelta {
  DomainWrite want;  ///< the full desired definition (disks and NICs resolved); parts: what an update writes
  std::optional<SeedWrite> seed;          ///< write the seed volume (before the definition)
  std::optional<VolumeRef> deleteSeed;    ///< the old seed volume, deleted after the definition no longer has it
  bool configChanged = false;  ///< the persistent definition must be written (a part, or <metadata>: the owner too)
  std::vector<std::size_t> newMacs;  ///< NICs of want.nics whose MAC apply generates (kMacToGenerate until then)
  // Applied to the running domain (LIVE), after the persistent definition, when
  // the plan found it running and neither restarts nor stops it:
  std::optional<Bytes> liveMemory;
  std::optional<std::uint32_t> liveVcpus;
  std::vector<DomainDisk> detachDisks, attachDisks;
  std::vector<DomainNic> detachNics, retargetNics;
  std::vector<std::size_t> attachNics;  ///< indices in want.nics, so a generated MAC is the one attached
  bool restartNow = false;        ///< restart-class changes on a running domain, restartPolicy auto: restart it
  std::optional<bool> autostart;  ///< set it: a new domain, or one whose autostart differs

  bool hasLiveChanges() const;
};

/// A declared VM compared with its domain: what the plan shows, and the delta
/// apply carries out. One computation for both, so apply does what the plan said.
struct DomainComparison {
  DomainDelta delta;
  std::vector<FieldChange> changes;
  std::vector<Diff::Problem> problems;
  std::optional<std::string> dataLoss;
};

/// NICs the manifest gives no MAC keep kMacToGenerate (DomainDelta::newMacs).
/// `stateDir`: as PlanInputs::stateDir.
DomainComparison compareDomain(const Resource& desired, const DomainInfo* live, const PlanContext& ctx,
                               const KvmState& state, const std::string& owner,
                               const std::filesystem::path& stateDir = {});

/// The pool a VM's seed volume goes to: cloudInit.pool, else the pool of its
/// first disk that is a volume; empty: none.
std::string seedPool(const VirtualMachineSpec& spec);

/// `delta` with a MAC from `newMac` for each NIC in its newMacs (attachNics
/// names NICs by index, so an attached NIC has it too); nothing else changes.
DomainDelta withMacs(DomainDelta delta, const std::function<std::string()>& newMac);

/// A random locally administered MAC in QEMU's 52:54:00 range, unused on the host.
std::string randomMac(const KvmState& state);

}  // namespace hostform::kvm
