#include "providers/kvm/provider.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "providers/kvm/apply.h"
#include "providers/kvm/events.h"
#include "providers/kvm/image.h"
#include "providers/kvm/observe.h"
#include "providers/kvm/plan.h"
#include "providers/kvm/snapshot_kind.h"
#include "providers/kvm/status.h"
#include "reconciler/module.h"

namespace hostform::kvm {

KvmProvider::KvmProvider(const std::string& uri, std::filesystem::path stateDir)
    : connection_(resolveUri(uri)), stateDir_(std::move(stateDir)) {}

Result<KvmState> KvmProvider::readHost() {
  auto conn = connection_.get();
  if (!conn) return hostform::unexpected(conn.error());
  auto state = readState(*conn, connection_.local());
  if (!state) return fail(state.error().message + " (libvirt at " + connection_.uri() + ")");
  auto records = readSourceRecords(stateDir_);
  if (!records) return hostform::unexpected(records.error());
  state->sources = std::move(*records);
  state->observedAt = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (auto snaps = readSnapshots(*conn, connection_.local(), stateDir_, *state); !snaps)
    return fail(snaps.error().message + " (libvirt at " + connection_.uri() + ")");
  return state;
}

Result<Observation> KvmProvider::observe() {
  auto state = readHost();
  if (!state) return hostform::unexpected(state.error());
  auto snapshot = std::make_shared<const KvmSnapshot>(std::move(*state));
  return Observation{snapshot->state.toObserved(), snapshot};
}

Result<std::vector<Resource>> KvmProvider::exportResources() {
  auto state = readHost();
  if (!state) return hostform::unexpected(state.error());
  readSeeds(*connection_.get(), *state);  // open: readHost used it
  std::vector<Resource> out;
  for (Observed& o : state->toObserved()) out.push_back(std::move(o.resource));
  return out;
}

namespace {

/// virConnectGetCapabilities, parsed; nullopt (with a warning) when libvirt
/// reports none or nothing readable: then nothing is checked.
std::optional<HostCapabilities> readHostCapabilities(virConnectPtr conn) {
  const std::string xml = takeString(virConnectGetCapabilities(conn));
  if (xml.empty()) {
    spdlog::warn("kvm: libvirt reports no host capabilities ({}); accelerators, machine types, firmware and CPU "
                 "modes are not checked at plan time",
                 lastError());
    return std::nullopt;
  }
  auto parsed = parseHostCapabilities(xml);
  if (parsed) return std::move(*parsed);
  spdlog::warn("kvm: {}; VMs are not checked against them at plan time", parsed.error().message);
  return std::nullopt;
}

/// virConnectGetDomainCapabilities for one domain type and machine, into `report`.
void readDomainCapabilities(virConnectPtr conn, Accelerator accelerator, Machine machine, CapabilityReport& report) {
  const std::string virtType(virtTypeOf(accelerator));
  const std::string alias(machineAlias(machine));
  // Domain capabilities exist only for a domain type and machine the host has.
  if (!report.host || !report.host->qemuDriver || !report.host->domainTypes.contains(virtType) ||
      !report.host->machines.contains(alias))
    return;
  const std::string xml =
      takeString(virConnectGetDomainCapabilities(conn, nullptr, "x86_64", alias.c_str(), virtType.c_str(), 0));
  if (xml.empty()) {
    // A driver without domain capabilities (VIR_ERR_NO_SUPPORT) has nothing to check against.
    if (virGetLastErrorCode() != VIR_ERR_NO_SUPPORT) report.domainError = lastError();
  } else if (auto parsed = parseDomainCapabilities(xml)) {
    report.domain = std::move(*parsed);
  } else {
    report.domainError = parsed.error().message;
  }
}

}  // namespace

CapabilityReport KvmSnapshot::capabilities(Connection& session, Accelerator accelerator, Machine machine) const {
  std::lock_guard guard(mutex_);  // plans run on one thread: holding it while libvirt answers costs nothing
  if (auto it = reports_.find({accelerator, machine}); it != reports_.end()) return it->second;
  CapabilityReport report;
  auto conn = session.get();
  if (!conn) return report;  // observe() reported that already
  if (!host_) host_ = readHostCapabilities(*conn);
  report.host = *host_;
  readDomainCapabilities(*conn, accelerator, machine, report);
  reports_.emplace(std::pair(accelerator, machine), report);
  return report;
}

Diff KvmProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) {
  const auto& snapshot = static_cast<const KvmSnapshot&>(host);
  PlanInputs in{snapshot.state, connection_.local(), stateDir_, [this, &snapshot](Accelerator a, Machine m) {
                  return snapshot.capabilities(connection_, a, m);
                }};
  if (desired.kind() == kinds::StoragePool) return planPool(desired, live, ctx, in);
  if (desired.kind() == kinds::Volume) return planVolume(desired, live, ctx, in);
  if (desired.kind() == kinds::VirtualMachine) return planDomain(desired, live, ctx, in);
  if (desired.kind() == kinds::Snapshot) return planSnapshot(desired, live, ctx, in);
  Diff diff;
  diff.problems.push_back({"kind", "the kvm provider does not handle " + std::string(kindName(desired.kind())) + "."});
  return diff;
}

bool KvmProvider::serves(const Resource& r) const { return servesResource(r); }

std::string KvmProvider::serialKey(const Action& action) const {
  if (action.id.kind != kinds::Snapshot) return {};
  const Resource* r = action.desired ? action.desired : action.live ? &action.live->resource : nullptr;
  if (!r) return {};
  const auto& source = r->as<SnapshotSpec>().source;
  return source.volume ? "kvm volume " + source.volume->pool + "/" + source.volume->name : std::string();
}

Deletion KvmProvider::deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) {
  const KvmState& state = static_cast<const KvmSnapshot&>(host).state;
  if (live.resource.kind() == kinds::Snapshot) return snapshotDeletion(live, ctx, state, connection_.local());
  return deletionOf(live, ctx, state, connection_.local());
}

std::optional<RestorePlan> KvmProvider::planRestore(const Observed& snapshot, const PlanContext& ctx,
                                                    const Snapshot& host) {
  return planSnapshotRestore(snapshot, ctx, static_cast<const KvmSnapshot&>(host).state, connection_.local());
}

Result<void> KvmProvider::restore(const Observed&, const RestorePlan& plan, const Snapshot&, const ApplyContext&) {
  auto conn = connection_.get();
  if (!conn) return hostform::unexpected(conn.error());
  return restoreSnapshot(plan, *conn, stateDir_);
}

Result<void> KvmProvider::apply(const Action& action, const ApplyContext& ctx) {
  auto conn = connection_.get();
  if (!conn) return hostform::unexpected(conn.error());
  static const KvmState kNone;
  ApplyInputs in{*conn, action.snapshot ? static_cast<const KvmSnapshot&>(*action.snapshot).state : kNone,
                 stateDir_};
  if (action.id.kind == kinds::StoragePool) return applyPool(action, ctx, in);
  if (action.id.kind == kinds::Volume) return applyVolume(action, ctx, in);
  if (action.id.kind == kinds::VirtualMachine) return applyDomain(action, ctx, in);
  if (action.id.kind == kinds::Snapshot) return applySnapshot(action, ctx, *conn, in.state, stateDir_);
  return fail("the kvm provider does not handle " + std::string(kindName(action.id.kind)));
}

Result<std::unique_ptr<EventSource>> KvmProvider::events(const EventOptions& /*options*/) {
  return openLibvirtEvents(connection_.uri());
}

// The kvm module's provider (its name and kinds are registered by registration.cpp).
std::unique_ptr<Provider> makeKvmProvider(const ProviderOptions& options) {
  return std::make_unique<KvmProvider>(options.libvirtUri, options.stateDir);
}
HOSTFORM_MODULE_ENTRY("kvm", "provider", static_cast<ProviderMaker*>(&makeKvmProvider));

std::vector<StatusFact> KvmProvider::status(const Resource& desired, const Observed* live, const Snapshot& host) {
  if (!live) return Provider::status(desired, live, host);
  const KvmState& state = static_cast<const KvmSnapshot&>(host).state;
  const ResourceId& id = desired.id;
  if (id.kind == kinds::StoragePool) {
    if (const PoolInfo* pool = state.findPool(id.name)) return poolStatus(*pool);
  } else if (id.kind == kinds::Volume) {
    if (const VolumeInfo* volume = state.findVolume(id.scope, id.name)) return volumeStatus(*volume);
  } else if (id.kind == kinds::VirtualMachine) {
    const DomainInfo* domain = state.findDomain(id.name);
    auto conn = connection_.get();
    if (domain && conn) return domainStatus(*conn, connection_.uri(), connection_.local(), *domain);
    if (!conn) return {wordFact("state", "unknown"), wordFact("error", conn.error().message)};
  } else if (id.kind == kinds::Snapshot) {
    if (const SnapshotInfo* s = state.findSnapshot(id.name)) return snapshotStatus(*s, state, connection_.local());
  }
  return {wordFact("state", "absent")};
}

}  // namespace hostform::kvm
