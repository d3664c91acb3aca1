#include "providers/lvm/provider.h"

#include "providers/lvm/apply.h"
#include "providers/lvm/plan.h"
#include "providers/lvm/status.h"

namespace hostform::lvm {

LvmProvider::LvmProvider(std::unique_ptr<DeviceProbe> devices, std::unique_ptr<Commands> commands,
                         std::chrono::milliseconds timeout)
    : devices_(devices ? std::move(devices) : std::make_unique<HostDeviceProbe>()),
      commands_(commands ? std::move(commands) : std::make_unique<HostCommands>()),
      timeout_(timeout) {}

Result<Observation> LvmProvider::observe() { return observeHost(*commands_, timeout_); }

Diff LvmProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) {
  const auto& snapshot = static_cast<const LvmSnapshot&>(host);
  MemoizedProbe devices(*devices_, snapshot.probes);
  PlanInputs in{snapshot.state, devices};
  if (desired.kind() == kinds::VolumeGroup) return planVolumeGroup(desired, live, ctx, in);
  if (desired.kind() == kinds::LogicalVolume) return planLogicalVolume(desired, live, ctx, in);
  Diff diff;
  diff.problems.push_back({"kind", "the lvm provider does not handle " + std::string(kindName(desired.kind())) + "."});
  return diff;
}

std::vector<StatusFact> LvmProvider::status(const Resource& desired, const Observed* live, const Snapshot& host) {
  if (!live) return Provider::status(desired, live, host);
  return statusOf(desired.id, static_cast<const LvmSnapshot&>(host).state);
}

std::vector<Gauge> LvmProvider::gauges(const Snapshot& host) const {
  return thinPoolGauges(static_cast<const LvmSnapshot&>(host).state);
}

Deletion LvmProvider::deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) {
  return deletionOf(live, static_cast<const LvmSnapshot&>(host).state, ctx);
}

Result<void> LvmProvider::apply(const Action& action, const ApplyContext& ctx) {
  return applyAction(action, ctx, ApplyInputs{*commands_, timeout_});
}

std::string LvmProvider::serialKey(const Action& action) const {
  return action.id.kind == kinds::LogicalVolume ? action.id.scope : action.id.name;
}

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{
    "lvm", {kinds::VolumeGroup, kinds::LogicalVolume},
    [](const ProviderOptions&) -> std::unique_ptr<Provider> { return std::make_unique<LvmProvider>(); }});

}  // namespace hostform::lvm
