#include "providers/lvm/provider.h"

#include <filesystem>
#include <fstream>

#include "providers/lvm/apply.h"
#include "providers/lvm/events.h"
#include "providers/lvm/plan.h"
#include "providers/lvm/status.h"
#include "reconciler/atomic_file.h"
#include "reconciler/kinds/snapshot.h"

namespace hostform::lvm {

LvmProvider::LvmProvider(std::unique_ptr<DeviceProbe> devices, std::unique_ptr<Commands> commands,
                         std::chrono::milliseconds timeout)
    : shells_(commands == nullptr),
      devices_(devices ? std::move(devices) : std::make_unique<HostDeviceProbe>()),
      commands_(commands ? std::move(commands) : std::make_unique<HostCommands>()),
      timeout_(timeout) {}

LvmProvider::~LvmProvider() = default;

namespace {

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool LvmProvider::serves(const Resource& r) const {
  return r.kind() != kinds::Snapshot || r.as<SnapshotSpec>().source.logicalVolume.has_value();
}

Result<Observation> LvmProvider::observe() { return observeHost(*commands_, timeout_); }

Diff LvmProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) {
  const auto& snapshot = static_cast<const LvmSnapshot&>(host);
  MemoizedProbe devices(*devices_, snapshot.probes);
  PlanInputs in{snapshot.state, devices, now()};
  if (desired.kind() == kinds::VolumeGroup) return planVolumeGroup(desired, live, ctx, in);
  if (desired.kind() == kinds::LogicalVolume) return planLogicalVolume(desired, live, ctx, in);
  if (desired.kind() == kinds::Snapshot && serves(desired)) return planSnapshot(desired, live, ctx, in);
  Diff diff;
  diff.problems.push_back({"kind", "the lvm provider does not handle " + std::string(kindName(desired.kind())) + "."});
  return diff;
}

std::vector<StatusFact> LvmProvider::status(const Resource& desired, const Observed* live, const Snapshot& host) {
  if (!live) return Provider::status(desired, live, host);
  if (desired.kind() == kinds::Snapshot)
    return snapshotStatusOf(desired, static_cast<const LvmSnapshot&>(host).state, now());
  return statusOf(desired.id, static_cast<const LvmSnapshot&>(host).state);
}

std::vector<Gauge> LvmProvider::gauges(const Snapshot& host) const {
  return thinPoolGauges(static_cast<const LvmSnapshot&>(host).state);
}

Deletion LvmProvider::deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) {
  const auto& snapshot = static_cast<const LvmSnapshot&>(host);
  MemoizedProbe devices(*devices_, snapshot.probes);
  return deletionOf(live, snapshot.state, ctx, PlanInputs{snapshot.state, devices, now()});
}

std::optional<RestorePlan> LvmProvider::planRestore(const Observed& snapshot, const PlanContext&, const Snapshot& host) {
  if (snapshot.resource.kind() != kinds::Snapshot || !serves(snapshot.resource)) return std::nullopt;
  const auto& lvm = static_cast<const LvmSnapshot&>(host);
  MemoizedProbe devices(*devices_, lvm.probes);
  return planSnapshotRestore(snapshot, PlanInputs{lvm.state, devices, now()});
}

Result<void> LvmProvider::restore(const Observed&, const RestorePlan& plan, const Snapshot&, const ApplyContext& ctx) {
  return restoreSnapshot(plan, ctx, ApplyInputs{*commands_, timeout_});
}

const std::string& LvmProvider::shellProfile() {
  if (shellProfile_) return *shellProfile_;
  shellProfile_ = std::string();
  auto dir = devices_->profileDir();
  if (!dir) return *shellProfile_;
  const std::filesystem::path path = std::filesystem::path(*dir) / (std::string(kShellProfileName) + ".profile");
  std::ifstream in(path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (text != kShellProfileText) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec || !writeFileAtomically(path, kShellProfileText, "the lvm shell's command profile")) return *shellProfile_;
  }
  shellProfile_ = kShellProfileName;
  return *shellProfile_;
}

Commands& LvmProvider::commandsFor(const std::string& key) {
  if (!shells_) return *commands_;
  std::lock_guard lock(sessionsMutex_);
  auto& session = sessions_[key];
  if (!session) session = std::make_unique<ShellCommands>(*commands_, shellProfile());
  return *session;
}

Result<void> LvmProvider::apply(const Action& action, const ApplyContext& ctx) {
  // The engine runs the actions of one serial key (one VG) one at a time, so
  // each session has one user at a time; different VGs' shells run side by side.
  return applyAction(action, ctx, ApplyInputs{commandsFor(serialKey(action)), timeout_});
}

std::string LvmProvider::serialKey(const Action& action) const {
  if (action.id.kind == kinds::Snapshot) {
    const Resource& r = action.desired ? *action.desired : action.live->resource;
    return r.as<SnapshotSpec>().source.logicalVolume->volumeGroup;
  }
  return action.id.kind == kinds::LogicalVolume ? action.id.scope : action.id.name;
}

Result<std::unique_ptr<EventSource>> LvmProvider::events(const EventOptions& options) {
  // Its own runner: the source runs on the watcher's event thread, not the
  // provider's, and outlives the cycle's provider.
  return openSeqnoPoll(std::make_unique<HostCommands>(), options.pollInterval, std::chrono::seconds(30));
}

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{
    "lvm", {kinds::VolumeGroup, kinds::LogicalVolume, kinds::Snapshot},
    [](const ProviderOptions&) -> std::unique_ptr<Provider> { return std::make_unique<LvmProvider>(); }});

}  // namespace hostform::lvm
