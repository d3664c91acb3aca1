#include "reconciler/restore.h"

#include <optional>
#include <algorithm>
#include <ostream>

#include "reconciler/kinds/snapshot.h"
#include "reconciler/loader.h"
#include "reconciler/lock.h"

namespace hostform {
namespace {

/// The snapshot to restore, with what its provider observed.
struct Found {
  Provider* provider = nullptr;
  const Observed* live = nullptr;
  const Snapshot* host = nullptr;
};

}  // namespace

int runRestore(const RestoreOptions& options, ProviderSet& providers, const Console& console) {
  const RunOptions& run = options.run;
  const ResourceId id{kinds::Snapshot, "", options.name};

  // Declared snapshots say which provider holds them; otherwise every provider of snapshots is asked.
  std::vector<Resource> desired;
  if (!run.files.empty()) {
    LoadResult loaded = loadManifests(run.files);
    if (loaded.diagnostics.hasErrors()) {
      loaded.diagnostics.print(console.err, Severity::Error);
      console.err << loaded.diagnostics.errorCount() << " error(s); nothing was changed.\n";
      return kExitError;
    }
    desired = std::move(loaded.resources);
  }
  const auto declared = std::ranges::find(desired, id, &Resource::id);
  std::vector<Provider*> asked;
  if (declared != desired.end()) {
    if (Provider* p = providers.forResource(*declared)) asked.push_back(p);
  } else {
    asked = providers.allForKind(kinds::Snapshot);
  }
  if (asked.empty()) {
    console.err << "error: no provider built into this hostform restores snapshots.\n";
    return kExitError;
  }

  std::optional<StateLock> lock;
  if (run.dryRun == DryRun::No) {
    auto taken = StateLock::acquire(run.stateDir, run.lockTimeout);
    if (!taken) {
      console.err << "error: " << taken.error().message << "\n";
      return kExitError;
    }
    lock.emplace(std::move(*taken));
  }

  // Each provider on its own: a backend that cannot be read (no libvirtd on
  // an LVM-only host) does not stop the restore of a snapshot found in
  // another; it is named, and it is the error when the snapshot is found nowhere.
  std::optional<Observations> observed{Observations{}};
  std::vector<std::string> unread;
  for (Provider* p : asked) {
    auto one = observe(providers, std::vector<Provider*>{p}, /*ledger=*/nullptr, nullptr, nullptr);
    if (!one) {
      unread.push_back(one.error().message);
      continue;
    }
    for (Observed& o : one->objects) observed->objects.push_back(std::move(o));
    observed->snapshots.merge(one->snapshots);
  }
  if (unread.size() == asked.size()) {
    for (const std::string& u : unread) console.err << "error: " << u << "\n";
    return kExitError;
  }
  PlanContext ctx;
  ctx.owner = run.owner;
  for (const Resource& r : desired) ctx.desired.emplace(r.id, &r);
  for (const Observed& o : observed->objects) ctx.observed.emplace(o.resource.id, &o);

  std::vector<Found> found;
  for (const Observed& o : observed->objects) {
    if (o.resource.id != id) continue;
    Provider* p = providers.forResource(o.resource);
    auto snap = observed->snapshots.find(p);
    if (!p || snap == observed->snapshots.end()) continue;
    found.push_back({p, &o, snap->second.get()});
  }
  if (found.empty() && !unread.empty()) {
    console.err << "error: there is no snapshot " << options.name << " in what hostform could read; not read:\n";
    for (const std::string& u : unread) console.err << "  " << u << "\n";
    return kExitError;
  }
  for (const std::string& u : unread) console.err << "warning: " << u << "; its snapshots were not searched\n";
  if (found.empty()) {
    console.err << "error: there is no snapshot " << options.name << " on this host"
                << (declared != desired.end() ? " (it is declared, but not taken yet: apply takes it)" : "") << ".\n";
    return kExitError;
  }
  if (found.size() > 1) {
    std::string sources;
    for (const Found& f : found)
      sources += (sources.empty() ? "" : ", ") + f.live->resource.as<SnapshotSpec>().source.shown();
    console.err << "error: " << found.size() << " snapshots are named " << options.name << " (of " << sources
                << "); hostform restores a snapshot only when its name is unique. Rename one with the backend's "
                   "tools first.\n";
    return kExitError;
  }
  const Found& f = found.front();
  auto plan = f.provider->planRestore(*f.live, ctx, *f.host);
  if (!plan) {
    console.err << "error: the " << f.provider->name() << " provider cannot restore " << id.str() << ".\n";
    return kExitError;
  }
  if (!plan->problems.empty()) {
    for (const Diff::Problem& p : plan->problems)
      console.err << "error: " << id.str() << (p.field.empty() ? "" : ": " + p.field) << ": " << p.message << "\n";
    console.err << plan->problems.size() << " error(s); nothing was changed.\n";
    return kExitError;
  }

  console.out << "< " << id.str() << "  " << plan->description << "\n";
  for (const std::string& note : plan->notes) console.out << "  " << note << "\n";
  console.out.flush();
  if (run.dataLoss != DataLoss::Allow) {
    console.err << "error: " << id.str() << ": refused: restoring discards everything written to "
                << plan->source.str() << " since the snapshot; pass --allow-data-loss to accept the loss\n";
    return kExitRefused;
  }
  if (run.dryRun == DryRun::Yes) return kExitOk;

  ApplyContext actx;
  actx.owner = run.owner;
  actx.progress = [&](const std::string& message) { console.err << id.str() << ": " << message << "\n"; };
  if (auto done = f.provider->restore(*f.live, *plan, *f.host, actx); !done) {
    console.out << id.str() << ": failed: " << done.error().message << "\n";
    return kExitPartial;
  }
  console.out << id.str() << ": restored " << plan->source.str() << "\n";
  return kExitOk;
}

}  // namespace hostform
