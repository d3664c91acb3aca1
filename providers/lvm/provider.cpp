#include "providers/lvm/provider.h"

#include <map>

#include "providers/lvm/apply.h"
#include "providers/lvm/session.h"
#include "providers/lvm/plan.h"

namespace hostform::lvm {
namespace {

/// blkid once per device and plan: the free-space check of every LV of a new
/// VG asks about the same devices.
class CachedProbe final : public DeviceProbe {
 public:
  explicit CachedProbe(std::unique_ptr<DeviceProbe> inner) : inner_(std::move(inner)) {}
  Result<DeviceInfo> probe(const std::string& path) override {
    std::lock_guard guard(mutex_);
    auto it = seen_.find(path);
    if (it == seen_.end()) it = seen_.emplace(path, inner_->probe(path)).first;
    return it->second;
  }
  /// Asked once per observe, and only when a plan creates a thin volume.
  std::optional<std::string> thinUnsupported() override {
    std::lock_guard guard(mutex_);
    if (!thin_) thin_ = inner_->thinUnsupported();
    return *thin_;
  }
  void forget() {
    std::lock_guard guard(mutex_);
    seen_.clear();
    thin_.reset();
  }

 private:
  std::unique_ptr<DeviceProbe> inner_;
  std::mutex mutex_;
  std::map<std::string, Result<DeviceInfo>> seen_;
  std::optional<std::optional<std::string>> thin_;
};

}  // namespace

LvmProvider::LvmProvider(std::unique_ptr<DeviceProbe> devices, std::unique_ptr<Commands> commands,
                         std::chrono::milliseconds timeout)
    : devices_(std::make_unique<CachedProbe>(devices ? std::move(devices) : std::make_unique<HostDeviceProbe>())),
      commands_(commands ? std::move(commands) : std::make_unique<HostCommands>()),
      timeout_(timeout) {}

Observation LvmProvider::adopt(LvmState state) {
  auto snapshot = std::make_shared<const LvmSnapshot>(std::move(state));
  static_cast<CachedProbe&>(*devices_).forget();
  return Observation{toObserved(snapshot->state), snapshot};
}

Result<Observation> LvmProvider::observe() {
  auto out = runChecked(*commands_, fullReportCommand(), timeout_);
  if (!out) return hostform::unexpected(out.error());
  auto state = parseFullReport(*out);
  if (!state) return hostform::unexpected(state.error());
  return adopt(std::move(*state));
}

Diff LvmProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) {
  PlanInputs in{static_cast<const LvmSnapshot&>(host).state, *devices_};
  if (desired.kind() == kinds::VolumeGroup) return planVolumeGroup(desired, live, ctx, in);
  if (desired.kind() == kinds::LogicalVolume) return planLogicalVolume(desired, live, ctx, in);
  Diff diff;
  diff.problems.push_back({"kind", "the lvm provider does not handle " + std::string(kindName(desired.kind())) + "."});
  return diff;
}

Deletion LvmProvider::deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) {
  return deletionOf(live, static_cast<const LvmSnapshot&>(host).state, ctx);
}

Result<void> LvmProvider::apply(const Action& action, const ApplyContext& ctx) {
  static const LvmState kNone;
  const LvmState& state = action.snapshot ? static_cast<const LvmSnapshot&>(*action.snapshot).state : kNone;
  return applyAction(action, ctx, ApplyInputs{state, *commands_, timeout_});
}

std::string LvmProvider::serialKey(const Action& action) const {
  return action.id.kind == kinds::LogicalVolume ? action.id.scope : action.id.name;
}

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{
    "lvm", {kinds::VolumeGroup, kinds::LogicalVolume},
    [](const ProviderOptions&) -> std::unique_ptr<Provider> { return std::make_unique<LvmProvider>(); }});

}  // namespace hostform::lvm
