#include "providers/kvm/provider.h"

#include "providers/kvm/apply.h"
#include "providers/kvm/observe.h"
#include "providers/kvm/plan.h"

namespace hostform::kvm {

KvmProvider::KvmProvider(const std::string& uri) : connection_(resolveUri(uri)) {}

std::shared_ptr<const KvmState> KvmProvider::snapshot() const {
  std::lock_guard guard(mutex_);
  return state_;
}

Result<std::vector<Observed>> KvmProvider::observe() {
  auto conn = connection_.get();
  if (!conn) return std::unexpected(conn.error());
  auto state = readState(*conn);
  if (!state) return fail(state.error().message + " (libvirt at " + connection_.uri() + ")");
  auto shared = std::make_shared<const KvmState>(std::move(*state));
  std::vector<Observed> out = shared->toObserved();
  std::lock_guard guard(mutex_);
  state_ = std::move(shared);
  return out;
}

Diff KvmProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx) {
  auto state = snapshot();
  PlanInputs in{*state, connection_.local()};
  switch (desired.kind()) {
    case Kind::StoragePool: return planPool(desired, live, ctx, in);
    case Kind::Volume: return planVolume(desired, live, ctx, in);
    case Kind::VirtualMachine: return planDomain(desired, live, ctx, in);
    default: break;
  }
  Diff diff;
  diff.problems.push_back({"kind", "the kvm provider does not handle " + std::string(kindName(desired.kind())) + "."});
  return diff;
}

std::optional<std::string> KvmProvider::deletionLoss(const Observed& live, const PlanContext& ctx) {
  return deletionLossOf(live, ctx, *snapshot());
}

std::vector<Diff::Problem> KvmProvider::deletionProblems(const Observed& live, const PlanContext& ctx) {
  return deletionProblemsOf(live, ctx, *snapshot());
}

Result<void> KvmProvider::apply(const Action& action, const ApplyContext& ctx) {
  auto conn = connection_.get();
  if (!conn) return std::unexpected(conn.error());
  auto state = snapshot();
  ApplyInputs in{*conn, *state};
  switch (action.id.kind) {
    case Kind::StoragePool: return applyPool(action, ctx, in);
    case Kind::Volume: return applyVolume(action, ctx, in);
    case Kind::VirtualMachine: return applyDomain(action, ctx, in);
    default: break;
  }
  return fail("the kvm provider does not handle " + std::string(kindName(action.id.kind)));
}

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{
    "kvm", {Kind::StoragePool, Kind::Volume, Kind::VirtualMachine},
    [](const ProviderOptions& options) -> std::unique_ptr<Provider> {
      return std::make_unique<KvmProvider>(options.libvirtUri);
    }});

}  // namespace hostform::kvm
