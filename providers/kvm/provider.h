#pragma once
/// The KVM provider: StoragePool, Volume and VirtualMachine through libvirt.

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <mutex>

#include "providers/kvm/capabilities.h"
#include "providers/kvm/session.h"
#include "providers/kvm/state.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

class KvmProvider final : public Provider {
 public:
  /// `uri` empty: $LIBVIRT_DEFAULT_URI, else qemu:///system.
  explicit KvmProvider(const std::string& uri);

  std::string_view name() const override { return "kvm"; }
  std::vector<Kind> kinds() const override { return {kinds::StoragePool, kinds::Volume, kinds::VirtualMachine}; }
  /// Domains carry their mark in <metadata>; pools and volumes have no place for one.
  OwnershipMark ownershipMark(Kind kind) const override {
    return kind == kinds::VirtualMachine ? OwnershipMark::InBand : OwnershipMark::Ledger;
  }

  Result<Observation> observe() override;
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;

  const std::string& uri() const { return connection_.uri(); }

 private:  /// PlanInputs::capabilities: libvirt's reports, each read once per observe.
  CapabilityReport capabilities(Accelerator accelerator, Machine machine);

  Connection connection_;
  mutable std::mutex mutex_;
  // Guarded by mutex_; cleared by observe().
  std::optional<std::optional<HostCapabilities>> hostCapabilities_;
  std::map<std::pair<Accelerator, Machine>, CapabilityReport> capabilityReports_;
};

/// The KVM provider's snapshot: every pool, volume and domain libvirt reported.
struct KvmSnapshot final : Snapshot {
  explicit KvmSnapshot(KvmState s) : state(std::move(s)) {}
  KvmState state;
};

}  // namespace hostform::kvm
