#pragma once
/// Desired + observed → plan. Observation talks to providers; computing the
/// plan is pure given the providers' verdicts, so it is cheap and testable.

#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reconciler/plan.h"
#include "reconciler/provider.h"
#include "reconciler/result.h"

namespace hostform {

class Ledger;

enum class Prune { No, Yes };
enum class DataLoss { Refuse, Allow };

struct PlanOptions {
  Prune prune = Prune::No;
  DataLoss dataLoss = DataLoss::Refuse;
  std::string owner = "default";
  /// Snapshot before loss (docs/spec.md §4); `--no-snapshot` sets it false.
  bool snapshotBeforeLoss = true;
};

/// The kinds a plan must observe: those declared or referenced, or all with --prune.
std::vector<Kind> kindsToObserve(const std::vector<Resource>& desired, Prune prune);

/// The providers a plan must observe: for each declared resource the one that
/// serves it (Provider::serves), every provider of each kind it references;
/// all of them with --prune. A plan of an LVM snapshot never connects to
/// libvirt, though kvm serves Snapshot too.
std::vector<Provider*> providersToObserve(const std::vector<Resource>& desired, Prune prune, ProviderSet& providers);

/// Provider reads begun before the plan knows everything it needs. `plan`
/// starts a provider's observe as soon as the loader parses a document of a
/// kind that provider alone serves, so the backend's read (an lvm
/// fullreport: tens of milliseconds) runs while the remaining documents are
/// still being validated; observe() then takes the read over instead of
/// starting another. Only for plans: apply observes under its lock, after
/// loading, so that no read of the host predates the lock.
class EarlyReads {
 public:
  EarlyReads() = default;
  EarlyReads(const EarlyReads&) = delete;
  EarlyReads& operator=(const EarlyReads&) = delete;
  ~EarlyReads();  ///< waits for reads nobody took (a load error): none outlives its provider

  /// Starts reading `p` on its own thread, once; later calls for `p` do nothing.
  void start(Provider* p);
  /// The read of `p` begun by start(), handed over once; nullopt if none.
  std::optional<std::future<Result<Observation>>> take(Provider* p);

 private:
  std::vector<std::pair<Provider*, std::future<Result<Observation>>>> reads_;
};

/// Observes each of `seen` once, as below; `needed` null: all are needed.
/// A provider in `early` is not read again: its early read is awaited.
Result<Observations> observe(ProviderSet& providers, const std::vector<Provider*>& seen, const Ledger* ledger,
                             const std::vector<Provider*>* needed, std::vector<std::string>* warnings,
                             EarlyReads* early = nullptr);

/// Observes each provider serving `kinds` once (every provider of a kind
/// served by several). Owners of ledger-marked kinds
/// come from `ledger` (may be null: then they are unowned).
///
/// A provider none of whose kinds is in `needed` is read only so that --prune
/// can find its orphans: if it cannot be read (libvirtd not installed or not
/// running on a bridges-only host), that is a warning added to `warnings`, and
/// nothing of it is pruned — deleting less is the safe side. Null `needed`:
/// every provider is needed.
Result<Observations> observe(ProviderSet& providers, const std::vector<Kind>& kinds, const Ledger* ledger,
                             const std::vector<Kind>* needed = nullptr, std::vector<std::string>* warnings = nullptr);

/// Builds the plan. Problems (a reference that resolves nowhere, an infeasible
/// change, a resource owned by someone else) land in plan.diagnostics.
/// Each provider plans with the snapshot it observed; the plan keeps them.
Plan computePlan(std::vector<Resource> desired, Observations observed, ProviderSet& providers,
                 const PlanOptions& options);

}  // namespace hostform
