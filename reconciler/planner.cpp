#include "reconciler/planner.h"

#include <algorithm>
#include <future>
#include <set>
#include <tuple>
#include <unordered_map>

#include "reconciler/graph.h"
#include "reconciler/ledger.h"
#include "reconciler/loader.h"

namespace hostform {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

/// What a resource's references name, for a message: "references LogicalVolume/vg0/data".
std::string sourceOf(const Resource& r) {
  std::string out;
  for (const Reference& ref : references(r))
    if (!ref.soft) out += (out.empty() ? "" : ", ") + ref.field + " " + ref.target.str();
  return out.empty() ? std::string("spec") : out;
}

/// The plan's action list before ordering, with lookups the checks need.
class Builder {
 public:
  Builder(Plan& plan, ProviderSet& providers, const PlanOptions& options)
      : plan_(plan), providers_(providers), options_(options) {
    ctx_.owner = options.owner;
    ctx_.snapshotBeforeLoss = options.snapshotBeforeLoss;
    for (const Resource& r : plan.desired) ctx_.desired.emplace(r.id, &r);
    for (const Observed& o : plan.observed) ctx_.observed.emplace(o.resource.id, &o);
  }

  void run() {
    std::vector<bool> resolved(plan_.desired.size());
    for (std::size_t i = 0; i < plan_.desired.size(); ++i) resolved[i] = resolveReferences(plan_.desired[i]);
    closeExternals();
    for (std::size_t i = 0; i < plan_.desired.size(); ++i)
      if (resolved[i]) planDeclared(plan_.desired[i]);
    for (const Observed& o : plan_.observed) planUndeclared(o);
    order();
    plan_.external.assign(ctx_.external.begin(), ctx_.external.end());
  }

 private:
  /// Each reference names a declared resource or a live object (then external);
  /// false, with an error at the referencing field, when neither.
  bool resolveReferences(const Resource& r) {
    bool resolved = true;
    for (const Reference& ref : references(r)) {
      if (ctx_.findDesired(ref.target)) continue;
      if (ctx_.findObserved(ref.target)) {
        ctx_.external.insert(ref.target);
        continue;
      }
      if (ref.soft) continue;
      plan_.diagnostics.error(locate(r, ref.field), ref.field,
                              "references " + ref.target.str() + ", which is neither declared nor on the host");
      resolved = false;
    }
    return resolved;
  }

  /// What an external object stands on is kept too: the base image under an
  /// overlay a VM uses, the volume group of a logical volume it uses.
  void closeExternals() {
    std::vector<ResourceId> queue(ctx_.external.begin(), ctx_.external.end());
    while (!queue.empty()) {
      const ResourceId id = std::move(queue.back());
      queue.pop_back();
      for (const Reference& ref : references(ctx_.findObserved(id)->resource))
        if (!ctx_.findDesired(ref.target) && ctx_.findObserved(ref.target) && ctx_.external.insert(ref.target).second)
          queue.push_back(ref.target);
    }
  }

  /// Every value a create sets, as `field (none) -> value`: a reviewer sees
  /// MTUs, sizes and memory before anything exists.
  static std::vector<FieldChange> creationChanges(const Resource& r) {
    std::vector<FieldChange> out;
    for (Field& f : fields(r)) out.push_back({std::move(f.path), std::nullopt, std::move(f.value), ChangeClass::Live});
    return out;
  }

  void planDeclared(const Resource& r) {
    Provider* provider = providers_.forResource(r);
    if (!provider) {
      plan_.diagnostics.error(r.source, "kind",
                              providers_.forKind(r.kind())
                                  ? "no provider built into this hostform handles this " +
                                        std::string(kindName(r.kind())) + "'s " + sourceOf(r)
                                  : "no provider for kind " + std::string(kindName(r.kind())) +
                                        " is built into this hostform");
      return;
    }

    const Observed* live = ctx_.findObserved(r.id);
    if (live && !live->owner.empty() && live->owner != options_.owner) {
      plan_.diagnostics.error(locate(r, "metadata.name"), "metadata.name",
                              r.id.str() + " exists on the host and belongs to owner " + quoted(live->owner) +
                                  ", not " + quoted(options_.owner) +
                                  "; declare it in one repository only, or run with --owner " + live->owner);
      return;
    }

    const Snapshot* host = snapshotOf(*provider, r.source, r.id);
    if (!host) return;
    Diff diff = provider->plan(r, live, ctx_, *host);
    for (const Diff::Problem& p : diff.problems) plan_.diagnostics.error(locate(r, p.field), p.field, p.message);
    for (const Diff::Problem& w : diff.warnings) plan_.diagnostics.warning(locate(r, w.field), w.field, w.message);
    if (!diff.problems.empty()) return;

    Action a;
    a.id = r.id;
    a.desired = &r;
    a.live = live;
    a.provider = provider;
    a.snapshot = host;
    a.dataLoss = diff.dataLoss;
    a.loss = std::move(diff.loss);
    a.delta = std::move(diff.delta);
    a.restartsNow = diff.restartsNow;
    if (!live) {
      a.op = Op::Create;
      a.reason = "declared, not on the host";
      // The spec's own values, then what the provider says the create does
      // beyond the object itself (a port brought up).
      a.changes = creationChanges(r);
      a.changes.insert(a.changes.end(), std::make_move_iterator(diff.changes.begin()),
                       std::make_move_iterator(diff.changes.end()));
      actions_.push_back(std::move(a));
      return;
    }
    a.changes = std::move(diff.changes);
    if (live->owner.empty()) {
      // Declaring an object hostform did not create adopts it: from now on it is
      // ours, so a later --prune may delete it once it is no longer declared.
      a.adopt = true;
      a.changes.push_back({"owner", std::nullopt, options_.owner, ChangeClass::Live});
    }
    if (a.changes.empty()) return;
    const bool replace = std::any_of(a.changes.begin(), a.changes.end(),
                                     [](const FieldChange& c) { return c.cls == ChangeClass::Replace; });
    if (replace && !consentToReplace(a, *live, *host)) return;
    a.op = replace ? Op::Replace : Op::Update;
    a.reason = replace ? "a changed field cannot be updated in place"
                       : (live->owner.empty() ? "declared, on the host but not owned: adopt" : "differs from the manifests");
    actions_.push_back(std::move(a));
  }

  /// A replace deletes the live object first: whatever stands in the way of
  /// that deletion stops the plan, and what it loses is the action's loss.
  bool consentToReplace(Action& a, const Observed& live, const Snapshot& host) {
    Deletion deletion = a.provider->deletion(live, ctx_, host);
    for (const Diff::Problem& p : deletion.problems)
      plan_.diagnostics.error(locate(*a.desired, "metadata.name"), "metadata.name", "cannot replace: " + p.message);
    if (!deletion.problems.empty()) return false;
    if (!a.dataLoss) {
      a.dataLoss = std::move(deletion.dataLoss);
      a.loss = std::move(deletion.loss);
    }
    a.deleteDelta = std::move(deletion.delta);
    return true;
  }

  /// The snapshot `provider` observed for this plan; an error at `at` when it
  /// was never observed (then nothing of it can be planned).
  const Snapshot* snapshotOf(const Provider& provider, const SourcePos& at, const ResourceId& id) {
    auto it = plan_.snapshots.find(&provider);
    if (it != plan_.snapshots.end()) return it->second.get();
    plan_.diagnostics.error(at, "", "internal error: " + id.str() + " cannot be planned: the " +
                                        std::string(provider.name()) + " provider did not observe the host");
    return nullptr;
  }

  void planUndeclared(const Observed& o) {
    if (ctx_.findDesired(o.resource.id)) return;
    // Never change or delete what is not ours (docs/spec.md §4 Ownership), nor
    // what something declared stands on.
    if (o.owner != options_.owner || ctx_.external.contains(o.resource.id)) return;
    Provider* provider = providers_.forResource(o.resource);
    if (!provider) return;
    Action a;
    a.id = o.resource.id;
    a.live = &o;
    a.provider = provider;
    if (options_.prune == Prune::Yes) {
      const Snapshot* host = snapshotOf(*provider, {}, o.resource.id);
      if (!host) return;
      a.snapshot = host;
      Deletion deletion = provider->deletion(o, ctx_, *host);
      for (const Diff::Problem& p : deletion.problems)
        plan_.diagnostics.error({}, o.resource.id.str(), "cannot delete (prune): " + p.message);
      if (!deletion.problems.empty()) return;
      a.op = Op::Delete;
      a.reason = "owned, no longer declared (prune)";
      a.dataLoss = std::move(deletion.dataLoss);
      a.loss = std::move(deletion.loss);
      a.delta = std::move(deletion.delta);
    } else {
      a.op = Op::Orphan;
      a.reason = "owned, no longer declared; --prune deletes it";
    }
    actions_.push_back(std::move(a));
  }

  /// Creates and updates follow references; deletes run the reverse graph:
  /// an object goes only after everything that used it has let go of it.
  void order() {
    std::sort(actions_.begin(), actions_.end(), [](const Action& a, const Action& b) {
      auto phase = [](Op op) { return op == Op::Delete ? 1 : op == Op::Orphan ? 2 : 0; };
      return std::tuple(phase(a.op), a.id) < std::tuple(phase(b.op), b.id);
    });
    std::unordered_map<ResourceId, std::size_t> byId;
    for (std::size_t i = 0; i < actions_.size(); ++i) byId.emplace(actions_[i].id, i);

    Needs needs(actions_.size());
    for (std::size_t i = 0; i < actions_.size(); ++i) {
      const Action& a = actions_[i];
      if (a.op == Op::Orphan) continue;
      if (a.desired)
        for (const Reference& ref : references(*a.desired))
          if (auto it = byId.find(ref.target); it != byId.end() && actions_[it->second].op != Op::Delete &&
                                               actions_[it->second].op != Op::Orphan)
            needs[i].push_back(it->second);
      if (a.live)
        for (const Reference& ref : references(a.live->resource))
          if (auto it = byId.find(ref.target); it != byId.end() && actions_[it->second].op == Op::Delete)
            needs[it->second].push_back(i);
    }
    std::vector<std::size_t> order = stableTopoOrder(needs);
    // A cycle among actions can only come from the live state (manifest cycles are
    // load errors); run what is left in plain order rather than dropping it.
    if (order.size() != actions_.size()) {
      std::vector<bool> placed(actions_.size(), false);
      for (std::size_t i : order) placed[i] = true;
      for (std::size_t i = 0; i < actions_.size(); ++i)
        if (!placed[i]) order.push_back(i);
    }
    std::vector<std::size_t> position(actions_.size());
    for (std::size_t p = 0; p < order.size(); ++p) position[order[p]] = p;
    plan_.actions.reserve(actions_.size());
    for (std::size_t p = 0; p < order.size(); ++p) {
      Action a = std::move(actions_[order[p]]);
      for (std::size_t dep : needs[order[p]]) a.after.push_back(position[dep]);
      std::sort(a.after.begin(), a.after.end());
      a.after.erase(std::unique(a.after.begin(), a.after.end()), a.after.end());
      plan_.actions.push_back(std::move(a));
    }
  }

  Plan& plan_;
  ProviderSet& providers_;
  const PlanOptions& options_;
  PlanContext ctx_;
  std::vector<Action> actions_;
};

}  // namespace

std::vector<Kind> kindsToObserve(const std::vector<Resource>& desired, Prune prune) {
  if (prune == Prune::Yes) return allKinds();
  std::set<Kind> kinds;
  for (const Resource& r : desired) {
    kinds.insert(r.kind());
    for (const Reference& ref : references(r)) kinds.insert(ref.target.kind);
  }
  return {kinds.begin(), kinds.end()};
}

std::vector<Provider*> providersToObserve(const std::vector<Resource>& desired, Prune prune, ProviderSet& providers) {
  if (prune == Prune::Yes) return providers.all();
  std::vector<Provider*> out;
  auto add = [&](Provider* p) {
    if (p && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  std::set<Kind> referenced;
  for (const Resource& r : desired) {
    add(providers.forResource(r));
    for (const Reference& ref : references(r)) referenced.insert(ref.target.kind);
  }
  for (Kind k : referenced)
    for (Provider* p : providers.allForKind(k)) add(p);
  return out;
}

Result<Observations> observe(ProviderSet& providers, const std::vector<Kind>& kinds, const Ledger* ledger,
                             const std::vector<Kind>* needed, std::vector<std::string>* warnings) {
  auto of = [&](const std::vector<Kind>& ks) {
    std::vector<Provider*> out;
    for (Kind kind : ks)
      for (Provider* p : providers.allForKind(kind))
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    return out;
  };
  const std::vector<Provider*> seen = of(kinds);
  if (!needed) return observe(providers, seen, ledger, nullptr, warnings);
  const std::vector<Provider*> neededProviders = of(*needed);
  return observe(providers, seen, ledger, &neededProviders, warnings);
}

namespace {

std::future<Result<Observation>> read(Provider* p, std::launch how) {
  return std::async(how, [p] {
    try {
      return p->observe();
    } catch (const std::exception& e) {
      return Result<Observation>(fail(e.what()));
    }
  });
}

}  // namespace

EarlyReads::~EarlyReads() {
  for (auto& [p, r] : reads_)
    if (r.valid()) r.wait();
}

void EarlyReads::start(Provider* p) {
  if (std::ranges::find(reads_, p, &decltype(reads_)::value_type::first) != reads_.end()) return;
  reads_.emplace_back(p, read(p, std::launch::async));
}

std::optional<std::future<Result<Observation>>> EarlyReads::take(Provider* p) {
  auto it = std::ranges::find(reads_, p, &decltype(reads_)::value_type::first);
  if (it == reads_.end() || !it->second.valid()) return std::nullopt;
  return std::move(it->second);
}

Result<Observations> observe(ProviderSet&, const std::vector<Provider*>& seen, const Ledger* ledger,
                             const std::vector<Provider*>* needed, std::vector<std::string>* warnings,
                             EarlyReads* early) {
  // Providers read different backends (the kernel, lvm2, libvirtd): read them
  // all at once, so an observe costs the slowest, not the sum.
  std::vector<std::future<Result<Observation>>> reads;
  for (Provider* p : seen) {
    auto begun = early ? early->take(p) : std::nullopt;
    reads.push_back(begun ? std::move(*begun) : read(p, seen.size() > 1 ? std::launch::async : std::launch::deferred));
  }
  Observations all;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    Provider* p = seen[i];
    auto live = reads[i].get();
    if (!live) {
      const bool pruneOnly = needed && warnings && std::find(needed->begin(), needed->end(), p) == needed->end();
      if (!pruneOnly) return fail(std::string(p->name()) + ": cannot read the host's state: " + live.error().message);
      warnings->push_back(std::string(p->name()) + ": cannot read the host's state (" + live.error().message +
                          "); nothing it manages is pruned this run");
      continue;
    }
    for (Observed& o : live->objects) {
      if (p->ownershipMark(o.resource.kind()) == OwnershipMark::Ledger)
        o.owner = ledger ? ledger->ownerOf(o.resource.id) : std::string();
      all.objects.push_back(std::move(o));
    }
    all.snapshots.emplace(p, std::move(live->snapshot));
  }
  return all;
}

Plan computePlan(std::vector<Resource> desired, Observations observed, ProviderSet& providers,
                 const PlanOptions& options) {
  Plan plan;
  plan.desired = std::move(desired);
  plan.observed = std::move(observed.objects);
  plan.snapshots = std::move(observed.snapshots);
  plan.allowDataLoss = options.dataLoss == DataLoss::Allow;
  Builder(plan, providers, options).run();
  std::sort(plan.external.begin(), plan.external.end());
  plan.diagnostics.sort();
  return plan;
}

}  // namespace hostform
