#pragma once
/// The commands as functions: load → observe → plan → apply → verify, with
/// docs/spec.md §2's output and exit codes. The CLI only parses flags into these
/// structs; tests call them directly with their own ProviderSet.

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/executor.h"
#include "reconciler/planner.h"
#include "reconciler/provider.h"
#include "reconciler/render.h"
#include "reconciler/saved_plan.h"
#include "reconciler/terminal.h"

namespace hostform {

/// docs/spec.md §2.
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitChanges = 2,  ///< plan --detailed-exitcode only
  kExitRefused = 3,  ///< an action needs --allow-data-loss
  kExitPartial = 4,  ///< some actions failed
  /// applied, then rolled back: the confirm deadline passed (or the wait was
  /// interrupted) without `hostform confirm`, or the probe got no answer
  kExitRolledBack = 5,
};

enum class OutputFormat { Text, Json };
enum class DryRun { No, Yes };
enum class DetailedExitCode { No, Yes };
/// Whether manifests that declare nothing may be applied with --prune.
enum class AllowEmpty { No, Yes };

/// Where a command writes, and how.
struct Console {
  std::ostream& out;
  std::ostream& err;
  Color color = Color::Off;                 ///< colour the text plan on `out`
  Terminal errIsTerminal = Terminal::No;    ///< progress as one line rewritten in place on `err`
  std::size_t errColumns = 0;               ///< the terminal's width; 0: unknown
};

struct RunOptions {
  std::vector<std::string> files;
  std::string owner = "default";
  std::filesystem::path stateDir = "/var/lib/hostform";
  PlanOptions planOptions() const { return {prune, dataLoss, owner, snapshotBeforeLoss}; }
  Prune prune = Prune::No;
  DataLoss dataLoss = DataLoss::Refuse;
  /// Snapshot before loss (docs/spec.md §4); false with --no-snapshot.
  bool snapshotBeforeLoss = true;
  OutputFormat output = OutputFormat::Text;
  DetailedExitCode detailedExitCode = DetailedExitCode::No;
  DryRun dryRun = DryRun::No;
  AllowEmpty allowEmpty = AllowEmpty::No;
  std::size_t jobs = 0;  ///< 0: one per core
  std::chrono::milliseconds lockTimeout{0};
  /// apply --confirm-timeout: after a network change, wait this long for
  /// `hostform confirm`, then roll back (docs/spec.md §4 Checkpoint and rollback).
  std::optional<std::chrono::milliseconds> confirmTimeout;
  /// apply --probe [IFACE/]ADDRESS, as given; empty: no probe.
  std::string probe;
  std::chrono::milliseconds probeTimeout{5000};

  // Reviewed plans (docs/spec.md §2 "Saved plans").
  /// plan -out FILE: where to save the plan; empty: not saved.
  std::string planOut;
  /// --libvirt-uri as given, saved with the plan.
  std::string libvirtUri;
  /// apply FILE: the saved plan (read by the CLI) and its path; null: apply -f.
  std::shared_ptr<const SavedPlan> savedPlan;
  std::string savedPlanFile;
  /// apply on a terminal: asked after the plan is printed, when it has
  /// changes; false cancels ("Apply cancelled.", exit 1). Empty: never asked
  /// (stdin not a terminal, --auto-approve, a saved plan).
  std::function<bool()> approve;
};

/// What one apply did, for callers that report it beyond the console (watch).
struct ApplyResult {
  int exitCode = kExitOk;
  bool planned = false;  ///< a plan was computed without errors (and printed)
  PlanSummary summary;   ///< of that plan
  std::size_t done = 0, failed = 0, skipped = 0, notVerified = 0;
  std::chrono::steady_clock::duration planDuration{};  ///< observing and planning
};

/// Observers of one apply; each may be empty.
struct ApplyHooks {
  /// After planning, before the plan is printed (watch decides there whether
  /// a quiet, converged cycle prints anything).
  std::function<void(const Plan&)> onPlanned;
  /// After each action, with what the console was told (watch logs the commit).
  std::function<void(const Action&, const ActionOutcome&)> onFinish;
  /// ExecuteOptions::stopRequested.
  std::function<bool()> stopRequested;
  /// After planning, before anything is printed: false ends the apply with
  /// exit 1 and nothing changed; it prints why (apply FILE: the host changed).
  std::function<bool(const Plan&)> check;
  /// After the plan is printed, when it has changes: false cancels (exit 1).
  std::function<bool()> approve;
};

/// `apply` for manifests already loaded and validated: takes the lock (unless
/// options.dryRun), observes, plans, prints, applies and verifies, with
/// runApply's output and exit codes. With options.dryRun it prints the plan
/// and changes nothing, as `apply --dry-run`.
ApplyResult applyResources(std::vector<Resource> desired, const RunOptions& options, ProviderSet& providers,
                           const Console& console, const ApplyHooks& hooks = {});

/// How applyLocked() treats the network checkpoint and the last-applied manifests.
struct ApplyMode {
  /// Checkpoint actions of checkpointed providers, and roll them back when an
  /// action fails (and honour confirmTimeout and probe). `boot` turns it off.
  bool checkpoint = true;
  /// A kept apply writes `<stateDir>/last-applied/<owner>.yaml`. `boot`,
  /// which applies a subset of those manifests, turns it off.
  bool keepLastApplied = true;
};

/// applyResources() for a caller that already holds the apply lock and has
/// recovered any checkpoint left behind (`hostform boot`).
ApplyResult applyLocked(std::vector<Resource> desired, const RunOptions& options, ProviderSet& providers,
                        const Console& console, const ApplyHooks& hooks, const ApplyMode& mode);

/// An empty desired state with --prune would delete every object the owner
/// has: far more often a wrong path or a moved directory than a wish. The
/// refusal (an error message naming `where` the manifests were looked for),
/// unless something is declared, prune is off, or --allow-empty was given.
/// `apply`, `plan` and `watch` all decide here.
std::optional<std::string> refuseEmptyPrune(std::size_t declared, const RunOptions& options, const std::string& where);

int runValidate(const RunOptions& options, const Console& console);
int runPlan(const RunOptions& options, ProviderSet& providers, const Console& console);
int runApply(const RunOptions& options, ProviderSet& providers, const Console& console);
int runExport(const std::vector<Kind>& kinds, ProviderSet& providers, const Console& console);

}  // namespace hostform
