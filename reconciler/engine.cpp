#include "reconciler/engine.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "reconciler/checkpoint.h"
#include "reconciler/ledger.h"
#include "reconciler/loader.h"
#include "reconciler/lock.h"
#include "reconciler/manifest_writer.h"
#include "reconciler/probe.h"

namespace hostform {
namespace {

void printDiagnostics(const Diagnostics& diags, std::ostream& err, Severity atLeast) { diags.print(err, atLeast); }

/// Loads manifests (apply FILE: the saved plan's texts; `read`: gets the
/// texts read); on errors prints them all and returns nullopt.
std::optional<std::vector<Resource>> loadOrReport(const RunOptions& options, const Console& console,
                                                  std::vector<ManifestText>* read = nullptr,
                                                  const KindSeen& onKind = {}) {
  if (options.files.empty() && !options.savedPlan) {
    console.err << "error: no manifests given; pass -f FILE or -f DIRECTORY\n";
    return std::nullopt;
  }
  std::vector<ManifestText> texts;
  LoadResult loaded = options.savedPlan ? loadManifestTexts(options.savedPlan->manifests)
                                        : loadManifests(options.files, read ? *read : texts, onKind);
  if (loaded.diagnostics.hasErrors()) {
    printDiagnostics(loaded.diagnostics, console.err, Severity::Error);
    console.err << loaded.diagnostics.errorCount() << " error(s); nothing was changed.\n";
    return std::nullopt;
  }
  std::string where;
  for (const std::string& f : options.files) where += (where.empty() ? "" : ", ") + f;
  if (auto refused = refuseEmptyPrune(loaded.resources.size(), options, where)) {
    console.err << "error: " << *refused << "\n";
    return std::nullopt;
  }
  return std::move(loaded.resources);
}

/// The ledger for reading ownership; a plan never creates the state directory.
std::optional<Ledger> readLedger(const RunOptions& options, DryRun mode, std::string& error) {
  std::error_code ec;
  const auto file = options.stateDir / "ledger.json";
  const bool present = std::filesystem::exists(file, ec);
  if (ec) {  // a state directory this user may not read (0700, owned by root)
    error = "cannot read the ownership ledger " + file.string() + ": " + ec.message() +
            "; run as the user that applies (usually root), or give --state-dir";
    return std::nullopt;
  }
  if (mode == DryRun::Yes && !present) return std::nullopt;
  auto ledger = Ledger::open(options.stateDir);
  if (!ledger) {
    error = ledger.error().message;
    return std::nullopt;
  }
  return std::move(*ledger);
}

struct Planned {
  Plan plan;
  std::optional<Ledger> ledger;
  std::chrono::steady_clock::duration duration{};  ///< observe + plan
};

/// observe → plan, printing the plan. Returns an exit code when the command
/// ends here (errors, refusals), or nullopt with the plan to go on with.
std::optional<int> makePlan(std::vector<Resource> desired, const RunOptions& options, ProviderSet& providers,
                            const Console& console, DryRun mode, Planned& planned, const ApplyHooks& hooks = {},
                            EarlyReads* early = nullptr) {
  std::string ledgerError;
  planned.ledger = readLedger(options, mode, ledgerError);
  if (!ledgerError.empty()) {
    console.err << "error: " << ledgerError << "\n";
    return kExitError;
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> observeWarnings;
  const std::vector<Provider*> needed = providersToObserve(desired, Prune::No, providers);
  auto observed = observe(providers, providersToObserve(desired, options.prune, providers),
                          planned.ledger ? &*planned.ledger : nullptr, &needed, &observeWarnings, early);
  if (!observed) {
    console.err << "error: " << observed.error().message << "\n";
    return kExitError;
  }
  for (const std::string& w : observeWarnings) console.err << "warning: " << w << "\n";
  spdlog::debug("observed {} objects in {} ms", observed->objects.size(),
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  planned.plan = computePlan(std::move(desired), std::move(*observed), providers, options.planOptions());
  planned.duration = std::chrono::steady_clock::now() - started;
  const Plan& plan = planned.plan;
  if (hooks.onPlanned) hooks.onPlanned(plan);
  if (hooks.check && !hooks.check(plan)) return kExitError;
  if (plan.diagnostics.hasErrors()) {
    printDiagnostics(plan.diagnostics, console.err, Severity::Error);
    console.err << plan.diagnostics.errorCount() << " error(s); nothing was changed.\n";
    return kExitError;
  }
  // Plan warnings are part of the plan (render.h), not stderr.
  console.out << (options.output == OutputFormat::Json ? renderJson(plan) : renderText(plan, console.color));
  console.out.flush();
  if (auto refused = plan.refused(); !refused.empty()) {
    for (const Action* a : refused)
      console.err << "error: " << a->id.str() << ": refused: " << *a->dataLoss
                  << "; pass --allow-data-loss to accept the loss\n";
    console.err << refused.size() << " action(s) need --allow-data-loss; nothing was changed.\n";
    return kExitRefused;
  }
  return std::nullopt;
}

void warnOrphans(const Plan& plan, const Console& console) {
  std::vector<std::string> ids;
  for (const Action& a : plan.actions)
    if (a.op == Op::Orphan) ids.push_back(a.id.str());
  if (ids.empty()) return;
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
  console.err << "warning: " << ids.size() << " orphaned resource(s) left in place (owned, no longer declared; "
              << "--prune deletes them): " << list << "\n";
}

}  // namespace

std::optional<std::string> refuseEmptyPrune(std::size_t declared, const RunOptions& options, const std::string& where) {
  if (declared > 0 || options.prune == Prune::No || options.allowEmpty == AllowEmpty::Yes) return std::nullopt;
  return "no manifests found under " + where + ": with --prune this would delete every object owned by " +
         options.owner + "; pass --allow-empty if that is what you want";
}

int runValidate(const RunOptions& options, const Console& console) {
  if (options.files.empty()) {
    console.err << "error: no manifests given; pass -f FILE or -f DIRECTORY\n";
    return kExitError;
  }
  LoadResult loaded = loadManifests(options.files);
  printDiagnostics(loaded.diagnostics, console.err, Severity::Warning);
  if (loaded.diagnostics.hasErrors()) {
    console.err << loaded.diagnostics.errorCount() << " error(s) in " << loaded.documents << " document(s).\n";
    return kExitError;
  }
  console.out << "Valid: " << loaded.resources.size() << " resource(s) in " << loaded.documents << " document(s).\n";
  return kExitOk;
}

int runPlan(const RunOptions& options, ProviderSet& providers, const Console& console) {
  std::vector<ManifestText> read;
  // The backend of each kind read as the loader meets it, while the rest of
  // the manifests are validated: a no-op plan of 300 LVs then costs about
  // the lvm fullreport alone. A kind served by several providers (Snapshot)
  // waits for its resources: only they say which provider serves them.
  EarlyReads early;
  std::set<Kind> kinds;
  auto onKind = [&](Kind kind) {
    if (!kinds.insert(kind).second) return;
    if (auto serving = providers.allForKind(kind); serving.size() == 1) early.start(serving.front());
  };
  auto desired = loadOrReport(options, console, &read, onKind);
  if (!desired) return kExitError;
  // A pending checkpoint is reported, never acted on: plan changes nothing.
  if (auto pending = readCheckpoint(options.stateDir); pending && *pending)
    console.err << "warning: a network checkpoint of the apply of pid " << (*pending)->pid << " is pending in "
                << checkpointFile(options.stateDir).string()
                << ": unless `hostform confirm` keeps it, the next apply, watch cycle or boot rolls it back first; "
                   "this plan is of the host as it is now.\n";
  Planned planned;
  if (auto code = makePlan(std::move(*desired), options, providers, console, DryRun::Yes, planned, {}, &early)) {
    if (!options.planOut.empty()) console.err << "The plan was not saved.\n";
    return *code;
  }
  if (!options.planOut.empty()) {
    SavedPlan saved;
    saved.options = {options.files,         options.prune == Prune::Yes, options.allowEmpty == AllowEmpty::Yes,
                     options.dataLoss == DataLoss::Allow, options.snapshotBeforeLoss, options.owner,
                     std::filesystem::absolute(options.stateDir).lexically_normal().string(), options.libvirtUri};
    saved.manifests = std::move(read);
    saved.planJson = renderJson(planned.plan);
    saved.observed = observedRecords(planned.plan);
    if (auto w = writeSavedPlan(options.planOut, saved); !w) {
      console.err << "error: " << w.error().message << "\n";
      return kExitError;
    }
    // With -o json stdout is the plan alone, for programs.
    (options.output == OutputFormat::Json ? console.err : console.out)
        << "Saved the plan to " << options.planOut << ": apply it with `hostform apply " << options.planOut
        << "`.\n";
  }
  if (options.detailedExitCode == DetailedExitCode::Yes && !planned.plan.summary().empty()) return kExitChanges;
  return kExitOk;
}

ApplyResult applyResources(std::vector<Resource> desired, const RunOptions& options, ProviderSet& providers,
                           const Console& console, const ApplyHooks& hooks) {
  ApplyResult result;
  Planned planned;
  if (options.dryRun == DryRun::Yes) {
    if (auto code = makePlan(std::move(desired), options, providers, console, DryRun::Yes, planned, hooks))
      result.exitCode = *code;
    result.planned = result.exitCode == kExitOk || result.exitCode == kExitRefused;
    result.summary = planned.plan.summary();
    result.planDuration = planned.duration;
    return result;
  }
  auto lock = StateLock::acquire(options.stateDir, options.lockTimeout);
  if (!lock) {
    console.err << "error: " << lock.error().message << "\n";
    result.exitCode = kExitError;
    return result;
  }
  if (auto recovered = recoverCheckpoint(options.stateDir, providers, console); !recovered) {
    console.err << "error: " << recovered.error().message << "\n";
    result.exitCode = kExitError;
    return result;
  }
  return applyLocked(std::move(desired), options, providers, console, hooks, ApplyMode{});
}

namespace {

volatile std::sig_atomic_t interrupted = 0;
extern "C" void onInterrupt(int) { interrupted = 1; }

/// How a confirm window ended.
enum class Window { Confirmed, Expired, Interrupted };

/// Waits, holding the apply lock, for `hostform confirm` until the deadline;
/// SIGHUP is ignored (a dropped SSH session), SIGINT and SIGTERM end the wait
/// early with a rollback. Marks the checkpoint rolling-back under the decision
/// lock before it returns anything but Confirmed.
Result<Window> waitForConfirm(Checkpoint& cp, const RunOptions& options, const Console& console) {
  struct sigaction ignore{}, onStop{}, oldHup{}, oldInt{}, oldTerm{};
  ignore.sa_handler = SIG_IGN;
  onStop.sa_handler = onInterrupt;
  interrupted = 0;
  ::sigaction(SIGHUP, &ignore, &oldHup);
  ::sigaction(SIGINT, &onStop, &oldInt);
  ::sigaction(SIGTERM, &onStop, &oldTerm);
  struct Restore {
    struct sigaction hup, in, term;
    ~Restore() {
      ::sigaction(SIGINT, &in, nullptr);
      ::sigaction(SIGTERM, &term, nullptr);
      ::sigaction(SIGHUP, &hup, nullptr);
    }
  } restore{oldHup, oldInt, oldTerm};

  const auto timeout = *options.confirmTimeout;
  cp.phase = "waiting";
  cp.deadline = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now() + timeout +
                                                                   std::chrono::milliseconds(999));
  if (auto w = writeCheckpoint(options.stateDir, cp); !w) return hostform::unexpected(w.error());
  console.out << "Waiting " << formatDuration(Millis(timeout.count()))
              << " for confirmation: run `hostform confirm --state-dir " << options.stateDir.string()
              << "` to keep these changes; without it they are rolled back.\n";
  console.out.flush();
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto decision = lockDecision(options.stateDir);
    if (!decision) return hostform::unexpected(decision.error());
    std::ifstream in(confirmFile(options.stateDir));
    std::string id;
    if (in >> id && id == cp.id) return Window::Confirmed;
    const bool expired = std::chrono::steady_clock::now() >= end;
    if (expired || interrupted) {
      cp.phase = "rolling-back";
      if (auto w = writeCheckpoint(options.stateDir, cp); !w) return hostform::unexpected(w.error());
      return interrupted ? Window::Interrupted : Window::Expired;
    }
  }
}

/// Rolls the apply's checkpoint back, removing it when that worked.
bool rollBackNow(const Checkpoint& cp, const RunOptions& options, ProviderSet& providers, const Console& console) {
  console.out << "Rolling back the network changes of this apply:\n";
  auto done = rollBack(cp, options.stateDir, providers, console);
  if (!done) {
    console.err << "error: " << done.error().message << "\n";
    return false;
  }
  if (auto removed = removeCheckpoint(options.stateDir); !removed) {
    console.err << "error: " << removed.error().message << "\n";
    return false;
  }
  return true;
}

void keepLastApplied(const ApplyMode& mode, const RunOptions& options, const std::string& manifests,
                     const Console& console) {
  if (!mode.keepLastApplied) return;
  if (auto w = writeLastApplied(options.stateDir, options.owner, manifests); !w)
    console.err << "warning: " << w.error().message << " hostform boot will apply older manifests.\n";
}

}  // namespace

ApplyResult applyLocked(std::vector<Resource> desired, const RunOptions& options, ProviderSet& providers,
                        const Console& console, const ApplyHooks& hooks, const ApplyMode& mode) {
  ApplyResult result;
  Planned planned;
  const auto code = makePlan(std::move(desired), options, providers, console, DryRun::No, planned, hooks);
  const Plan& plan = planned.plan;
  result.summary = plan.summary();
  result.planDuration = planned.duration;
  result.planned = !code || *code == kExitRefused;
  if (code) {
    result.exitCode = *code;
    return result;
  }
  const PlanSummary& summary = result.summary;
  if (summary.create + summary.update + summary.replace + summary.remove == 0) {
    warnOrphans(plan, console);
    keepLastApplied(mode, options, writeManifests(plan.desired), console);
    return result;
  }
  if (hooks.approve && !hooks.approve()) {
    console.err << "Apply cancelled.\n";
    result.exitCode = kExitError;
    return result;
  }

  std::optional<Checkpoint> checkpoint;
  if (mode.checkpoint) checkpoint = checkpointOf(plan, options.owner);
  if (checkpoint) {
    checkpoint->applied = writeManifests(plan.desired);
    if (auto w = writeCheckpoint(options.stateDir, *checkpoint); !w) {
      console.err << "error: " << w.error().message << " Nothing was changed.\n";
      result.exitCode = kExitError;
      return result;
    }
  }

  std::mutex printing;
  ProgressLine progress(console.err, console.errIsTerminal, console.errColumns);
  ExecuteOptions exec;
  exec.jobs = options.jobs;
  exec.owner = options.owner;
  exec.ledger = planned.ledger ? &*planned.ledger : nullptr;
  exec.stopRequested = hooks.stopRequested;
  exec.onStart = [&](const Action& a) { spdlog::info("{}: {} started", a.id.str(), toString(a.op)); };
  exec.onProgress = [&](const Action& a, const std::string& message) { progress.update(a.id.str(), message); };
  exec.onFinish = [&](const Action& a, const ActionOutcome& o) {
    {
      std::lock_guard guard(printing);
      progress.clear();  // the outcome line must not start after a half-rewritten progress line
      // Done says what happened ("created"); failures and skips say which and why.
      if (o.status == Outcome::Done) console.out << a.id.str() << ": " << o.message << "\n";
      else console.out << a.id.str() << ": " << toString(o.status) << ": " << o.message << "\n";
      // A snapshot taken before the loss: how to go back, and how to let it go.
      if (o.status == Outcome::Done && a.loss.snapshotFirst) {
        const SnapshotFirst& s = *a.loss.snapshotFirst;
        console.out << "  snapshot taken first: " << s.what << "\n"
                    << "  to restore it: hostform restore " << s.name << " --allow-data-loss\n"
                    << "  to drop it: " << s.drop << "\n";
      }
      console.out.flush();
    }
    if (hooks.onFinish) hooks.onFinish(a, o);
  };
  ApplyReport report = execute(plan, exec);
  progress.clear();
  verify(plan, report, exec);
  result.done = report.done();
  result.failed = report.failed();
  result.skipped = report.skipped();
  result.notVerified = report.verifyFailures.size();
  for (const std::string& f : report.verifyFailures) console.err << "error: verify: " << f << "\n";
  warnOrphans(plan, console);
  if (report.ok()) {
    console.out << "Apply complete: " << report.done() << " done.\n";
    console.out.flush();
    if (!checkpoint) {
      keepLastApplied(mode, options, writeManifests(plan.desired), console);
      return result;
    }
    // The change is made; is the host still reachable, and does someone say so?
    bool keep = true;
    if (!options.probe.empty()) {
      auto target = parseProbe(options.probe);  // checked by the CLI already
      auto answered = target ? probe(*target, options.probeTimeout) : Result<Millis>(hostform::unexpected(target.error()));
      if (answered) {
        console.out << "Probe: " << target->shown() << " answered.\n";
      } else {
        console.out << "Probe failed: " << answered.error().message << "\n";
        keep = false;
        checkpoint->phase = "rolling-back";
        if (auto w = writeCheckpoint(options.stateDir, *checkpoint); !w)
          console.err << "error: " << w.error().message << "\n";
      }
    }
    if (keep && options.confirmTimeout) {
      auto window = waitForConfirm(*checkpoint, options, console);
      if (!window) {
        console.err << "error: " << window.error().message << "\n";
        keep = false;
      } else if (*window == Window::Confirmed) {
        console.out << "Confirmed: the changes are kept.\n";
      } else {
        console.out << (*window == Window::Expired ? "No confirmation within " +
                                                         formatDuration(Millis(options.confirmTimeout->count()))
                                                   : std::string("Interrupted before a confirmation"))
                    << ".\n";
        keep = false;
      }
    }
    if (keep) {
      keepLastApplied(mode, options, checkpoint->applied, console);
      if (auto removed = removeCheckpoint(options.stateDir); !removed)
        console.err << "warning: " << removed.error().message << "\n";
      return result;
    }
    result.exitCode = rollBackNow(*checkpoint, options, providers, console) ? kExitRolledBack : kExitPartial;
    return result;
  }
  console.out << "Apply incomplete: " << report.done() << " done, " << report.failed() << " failed, "
              << report.skipped() << " skipped";
  if (!report.verifyFailures.empty()) console.out << ", " << report.verifyFailures.size() << " not verified";
  console.out << ".\n";
  for (std::size_t i = 0; i < plan.actions.size(); ++i)
    if (report.outcomes[i].status == Outcome::Failed || report.outcomes[i].status == Outcome::Skipped)
      console.out << "  " << plan.actions[i].id.str() << ": " << toString(report.outcomes[i].status) << ": "
                  << report.outcomes[i].message << "\n";
  result.exitCode = kExitPartial;
  if (checkpoint) {
    if (report.failed() + report.skipped() > 0) {
      (void)rollBackNow(*checkpoint, options, providers, console);
    } else if (auto removed = removeCheckpoint(options.stateDir); !removed) {
      // Every action ran and only verification failed: the changes are kept.
      console.err << "warning: " << removed.error().message << "\n";
    }
  }
  return result;
}

int runApply(const RunOptions& options, ProviderSet& providers, const Console& console) {
  if (options.dryRun == DryRun::Yes) {
    RunOptions asPlan = options;
    asPlan.detailedExitCode = DetailedExitCode::No;
    return runPlan(asPlan, providers, console);
  }
  // Validate before taking the lock: bad input must not wait for, or block, anyone.
  auto desired = loadOrReport(options, console);
  if (!desired) return kExitError;
  ApplyHooks hooks;
  hooks.approve = options.approve;
  if (options.savedPlan) {
    // Under the lock, observed afresh and planned again from the saved
    // inputs: applied only if that is still the plan that was reviewed.
    hooks.check = [&](const Plan& plan) {
      const SavedPlan& saved = *options.savedPlan;
      const auto suffix = " (saved plan " + options.savedPlanFile + ")\n";
      auto changed = hostChanges(saved, observedRecords(plan));
      for (const std::string& line : changed)
        console.err << "error: the host changed since the plan was saved: " << line << suffix;
      if (changed.empty()) {
        changed = planChanges(saved.planJson, renderJson(plan));
        for (const std::string& line : changed)
          console.err << "error: the plan changed since it was saved: " << line << suffix;
      }
      if (changed.empty()) return true;
      std::string again = "hostform plan";
      for (const std::string& f : saved.options.files) again += " -f " + f;
      if (saved.options.prune) again += " --prune";
      if (saved.options.allowEmpty) again += " --allow-empty";
      if (saved.options.allowDataLoss) again += " --allow-data-loss";
      if (!saved.options.snapshotBeforeLoss) again += " --no-snapshot";
      if (saved.options.owner != "default") again += " --owner " + saved.options.owner;
      if (saved.options.stateDir != "/var/lib/hostform") again += " --state-dir " + saved.options.stateDir;
      console.err << "Nothing was changed; make a new plan and review it: " << again << " -out "
                  << options.savedPlanFile << "\n";
      return false;
    };
  }
  return applyResources(std::move(*desired), options, providers, console, hooks).exitCode;
}

int runExport(const std::vector<Kind>& kinds, ProviderSet& providers, const Console& console) {
  std::vector<Kind> wanted = kinds;
  if (wanted.empty()) wanted = allKinds();
  std::vector<Provider*> asked;
  std::vector<Resource> resources;
  // What can be read is exported; a backend that cannot be read (libvirtd not
  // running, no lvm2) is a warning, and a comment in the output, so a saved
  // export says itself that it is partial.
  std::vector<std::string> unread;
  std::vector<Provider*> toAsk;
  for (Kind kind : wanted)
    for (Provider* p : providers.allForKind(kind))
      if (std::find(toAsk.begin(), toAsk.end(), p) == toAsk.end()) toAsk.push_back(p);
  for (Provider* p : toAsk) {
    asked.push_back(p);
    auto live = p->exportResources();
    if (!live) {
      std::string missed;
      for (Kind k : p->kinds())
        if (std::find(wanted.begin(), wanted.end(), k) != wanted.end())
          missed += (missed.empty() ? "" : ", ") + std::string(kindName(k));
      unread.push_back(std::string(p->name()) + ": cannot read the host's state (" + live.error().message +
                       "); not exported: " + missed);
      continue;
    }
    for (Resource& r : *live)
      if (std::find(wanted.begin(), wanted.end(), r.kind()) != wanted.end()) resources.push_back(std::move(r));
  }
  for (const std::string& u : unread) console.err << "warning: " << u << "\n";
  if (!unread.empty() && unread.size() == asked.size()) {
    console.err << "error: nothing could be read; nothing was exported.\n";
    return kExitError;
  }
  std::sort(resources.begin(), resources.end(), [](const Resource& a, const Resource& b) { return a.id < b.id; });
  for (const std::string& u : unread) console.out << "# partial export: " << u << "\n";
  console.out << writeManifests(resources);
  return kExitOk;
}

}  // namespace hostform
