#pragma once
/// The KVM provider: StoragePool, Volume and VirtualMachine through libvirt.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "providers/kvm/capabilities.h"
#include "providers/kvm/session.h"
#include "providers/kvm/state.h"
#include "reconciler/kinds/snapshot.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

class KvmProvider final : public Provider {
 public:
  /// `uri` empty: $LIBVIRT_DEFAULT_URI, else qemu:///system. `stateDir`: where
  /// images are cached, volume sources recorded and console logs kept.
  explicit KvmProvider(const std::string& uri, std::filesystem::path stateDir = {});

  std::string_view name() const override { return "kvm"; }
  std::vector<Kind> kinds() const override {
    return {kinds::StoragePool, kinds::Volume, kinds::VirtualMachine, kinds::Snapshot};
  }
  /// Snapshots of volumes and VMs; those of logical volumes are the LVM provider's.
  bool serves(const Resource& r) const override;
  /// Domains carry their mark in <metadata>, domain snapshots in their
  /// <description>, volume snapshots in <stateDir>/kvm/snapshots.json;
  /// pools and volumes have no place for one.
  OwnershipMark ownershipMark(Kind kind) const override {
    return kind == kinds::VirtualMachine || kind == kinds::Snapshot ? OwnershipMark::InBand : OwnershipMark::Ledger;
  }

  Result<Observation> observe() override;
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  /// Snapshots of one volume one at a time: qemu-img locks the image, and an
  /// external snapshot renames it.
  std::string serialKey(const Action& action) const override;
  /// What observe() sees, and each VM's cloud-init user data read back from its seed.
  Result<std::vector<Resource>> exportResources() override;
  /// Pools and volumes from the snapshot; a VM's state, uptime and addresses read now (status.h).
  std::vector<StatusFact> status(const Resource& desired, const Observed* live, const Snapshot& host) override;
  /// `hostform restore` of a volume or VM snapshot (providers/kvm/snapshot_kind.h).
  std::optional<RestorePlan> planRestore(const Observed& snapshot, const PlanContext& ctx,
                                         const Snapshot& host) override;
  Result<void> restore(const Observed& snapshot, const RestorePlan& plan, const Snapshot& host,
                       const ApplyContext& ctx) override;

  /// libvirt's domain and storage pool lifecycle events, on a connection of
  /// their own (events.h).
  Result<std::unique_ptr<EventSource>> events(const EventOptions& options) override;

  const std::string& uri() const { return connection_.uri(); }

 private:
  /// libvirt's pools, volumes and domains, with the recorded volume sources
  /// and hostform's snapshots.
  Result<KvmState> readHost();

  Connection connection_;  ///< the session: the one thing kept between observe, plan and apply
  std::filesystem::path stateDir_;
};

/// The KVM provider's snapshot: every pool, volume and domain libvirt
/// reported, and the capability reports plans of this observe asked for.
class KvmSnapshot final : public Snapshot {
 public:
  explicit KvmSnapshot(KvmState s) : state(std::move(s)) {}

  KvmState state;

  /// libvirt's reports for VMs of `accelerator` and `machine` (PlanInputs::capabilities):
  /// read through `session` when a plan first asks, then kept with the
  /// snapshot, so each is read once per observe and a provider keeps none of
  /// it. The snapshot is shared as const by everything planned from it: the
  /// memo is guarded by a mutex.
  CapabilityReport capabilities(Connection& session, Accelerator accelerator, Machine machine) const;

 private:
  mutable std::mutex mutex_;
  // Guarded by mutex_.
  mutable std::optional<std::optional<HostCapabilities>> host_;  ///< outer: read yet; inner: reported
  mutable std::map<std::pair<Accelerator, Machine>, CapabilityReport> reports_;
};

}  // namespace hostform::kvm
