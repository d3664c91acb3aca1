#pragma once
/// The KVM provider: StoragePool, Volume and VirtualMachine through libvirt.

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <mutex>

#include "providers/kvm/capabilities.h"
#include "providers/kvm/connection.h"
#include "providers/kvm/state.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

class KvmProvider final : public Provider {
 public:
  /// `uri` empty: $LIBVIRT_DEFAULT_URI, else qemu:///system.
  explicit KvmProvider(const std::string& uri);

  std::string_view name() const override { return "kvm"; }
  std::vector<Kind> kinds() const override { return {Kind::StoragePool, Kind::Volume, Kind::VirtualMachine}; }
  /// Domains carry their mark in <metadata>; pools and volumes have no place for one.
  OwnershipMark ownershipMark(Kind kind) const override {
    return kind == Kind::VirtualMachine ? OwnershipMark::InBand : OwnershipMark::Ledger;
  }

  Result<std::vector<Observed>> observe() override;
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;

  const std::string& uri() const { return connection_.uri(); }

 private:
  std::shared_ptr<const KvmState> snapshot() const;
  /// PlanInputs::capabilities: libvirt's reports, each read once per observe.
  CapabilityReport capabilities(Accelerator accelerator, Machine machine);

  Connection connection_;
  mutable std::mutex mutex_;
  std::shared_ptr<const KvmState> state_ = std::make_shared<KvmState>();
  // Guarded by mutex_; cleared by observe().
  std::optional<std::optional<HostCapabilities>> hostCapabilities_;
  std::map<std::pair<Accelerator, Machine>, CapabilityReport> capabilityReports_;
};

}  // namespace hostform::kvm
