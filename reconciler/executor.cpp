#include "reconciler/executor.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "reconciler/provider.h"

namespace hostform {

std::string_view toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::Pending: return "pending";
    case Outcome::Done: return "done";
    case Outcome::Failed: return "failed";
    case Outcome::Skipped: return "skipped";
  }
  return "unknown";
}

std::size_t ApplyReport::done() const {
  return std::ranges::count(outcomes, Outcome::Done, &ActionOutcome::status);
}
std::size_t ApplyReport::failed() const {
  return std::ranges::count(outcomes, Outcome::Failed, &ActionOutcome::status);
}
std::size_t ApplyReport::skipped() const {
  return std::ranges::count(outcomes, Outcome::Skipped, &ActionOutcome::status);
}
bool ApplyReport::ok() const { return failed() == 0 && skipped() == 0 && verifyFailures.empty(); }

namespace {

ActionOutcome failed(std::string message) { return {Outcome::Failed, std::move(message)}; }

constexpr std::string_view kStopping = "not started: hostform is stopping";

std::string doneMessage(Op op) {
  switch (op) {
    case Op::Create: return "created";
    case Op::Update: return "updated";
    case Op::Replace: return "replaced";
    case Op::Delete: return "deleted";
    case Op::Orphan: break;
  }
  return {};
}

/// Restart-class changes the provider did not restart for (restartPolicy: never):
/// the definition has them, the running object not yet.
std::string pendingRestart(const Action& a) {
  if (!a.needsRestart()) return {};
  std::string fields;
  if (a.restartsNow) return {};
  for (const FieldChange& c : a.changes)
    if (c.cls == ChangeClass::Restart) fields += (fields.empty() ? "" : ", ") + c.field;
  return "; restart it to apply " + fields;
}

bool writesDesired(Op op) { return op == Op::Create || op == Op::Update || op == Op::Replace; }

/// A replace, as the provider's delete of the live object and then its create
/// of the declared one: the provider consented when it classified a change
/// as replace-class, and its deletion check ran at plan time.
Result<void> applyReplace(Provider& provider, const Action& a, const ApplyContext& ctx) {
  Action remove = a;
  remove.op = Op::Delete;
  remove.desired = nullptr;
  remove.changes.clear();
  remove.delta = a.deleteDelta;
  remove.adopt = remove.restartsNow = false;
  if (auto deleted = provider.apply(remove, ctx); !deleted)
    return fail("replacing " + a.id.str() + ": " + deleted.error().message);
  Action create = a;
  create.op = Op::Create;
  create.live = nullptr;
  create.adopt = create.restartsNow = false;
  if (auto created = provider.apply(create, ctx); !created)
    return fail(a.id.str() + " was deleted to be replaced, but creating it again failed: " + created.error().message);
  return {};
}

/// One execution of a plan. All scheduling state is guarded by `mutex_`;
/// providers and callbacks run without it.
class Run {
 public:
  Run(const Plan& plan, const ExecuteOptions& options, ApplyReport& report)
      : plan_(plan), options_(options), report_(report) {}

  void go() {
    const std::size_t n = plan_.actions.size();
    report_.outcomes.assign(n, {});
    dependents_.assign(n, {});
    waitingOn_.assign(n, 0);
    keys_.assign(n, {});

    std::vector<std::pair<std::size_t, std::string>> unrunnable;
    std::size_t runnable = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Action& a = plan_.actions[i];
      if (a.op == Op::Orphan) continue;
      ++runnable;
      std::set<std::size_t> deps;  // a duplicate index must not count twice
      for (std::size_t d : a.after) {
        if (d >= n || d == i) {
          unrunnable.emplace_back(i, "cannot run " + a.id.str() + ": the plan orders it after action #" +
                                         std::to_string(d) + ", which is not another action of the plan.");
        } else if (plan_.actions[d].op != Op::Orphan && deps.insert(d).second) {
          dependents_[d].push_back(i);
          ++waitingOn_[i];
        }
      }
      if (!a.provider) {
        unrunnable.emplace_back(i, "no provider handles " + std::string(kindName(a.id.kind)) + " resources.");
        continue;
      }
      try {
        keys_[i] = a.provider->serialKey(a);
      } catch (const std::exception& e) {
        unrunnable.emplace_back(i, "the " + std::string(a.provider->name()) + " provider failed: " + e.what());
      }
    }

    std::unique_lock lock(mutex_);
    remaining_ = runnable;
    for (auto& [i, message] : unrunnable)
      if (report_.outcomes[i].status == Outcome::Pending) complete(i, failed(std::move(message)));
    for (std::size_t i = 0; i < n; ++i)
      if (plan_.actions[i].op != Op::Orphan && waitingOn_[i] == 0 && report_.outcomes[i].status == Outcome::Pending)
        ready_.insert(i);
    lock.unlock();
    drain();

    // The calling thread is one of the workers; a thread that cannot be
    // started only means less parallelism.
    std::size_t jobs = options_.jobs ? options_.jobs : std::max(1u, std::thread::hardware_concurrency());
    jobs = std::min(jobs, remaining_);
    {
      std::vector<std::jthread> helpers;
      for (std::size_t t = 1; t < jobs; ++t) {
        try {
          helpers.emplace_back([this] { work(); });
        } catch (const std::system_error& e) {
          spdlog::warn("running with {} worker threads: cannot start more: {}", t, e.what());
          break;
        }
      }
      if (jobs > 0) work();
    }
    drain();
  }

 private:
  enum class EventKind { Start, Finish };
  struct Event {
    EventKind kind;
    std::size_t index;
    ActionOutcome outcome;
  };

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (remaining_ == 0) return;
      std::optional<std::size_t> next = takeReady();
      if (!next) {
        if (ready_.empty() && inFlight_ == 0) {
          failStuck();
          continue;
        }
        cv_.wait(lock);
        continue;
      }
      const std::size_t i = *next;
      const std::string& key = keys_[i];
      if (!key.empty()) busyKeys_.insert(key);
      ++inFlight_;
      lock.unlock();

      ActionOutcome outcome = runAction(i);

      lock.lock();
      --inFlight_;
      if (!key.empty()) busyKeys_.erase(key);
      complete(i, std::move(outcome));
      cv_.notify_all();
      lock.unlock();
      drain();
      lock.lock();
    }
  }

  /// The first ready action, in plan order, whose serial key is free: with one
  /// job the plan runs in the order it is printed. Called with the mutex held.
  std::optional<std::size_t> takeReady() {
    for (auto it = ready_.begin(); it != ready_.end(); ++it) {
      if (!keys_[*it].empty() && busyKeys_.contains(keys_[*it])) continue;
      const std::size_t i = *it;
      ready_.erase(it);
      return i;
    }
    return std::nullopt;
  }

  /// Records a finished action and releases or skips its dependents. Called
  /// with the mutex held.
  void complete(std::size_t i, ActionOutcome outcome) {
    const bool ok = outcome.status == Outcome::Done;
    finish(i, std::move(outcome));
    if (ok) {
      for (std::size_t d : dependents_[i])
        if (--waitingOn_[d] == 0 && report_.outcomes[d].status == Outcome::Pending) ready_.insert(d);
      return;
    }
    // Everything downstream names the action that failed, not the one in between;
    // when stopping, nothing more starts, for the same reason.
    const std::string message = report_.outcomes[i].message == kStopping
                                    ? std::string(kStopping)
                                    : "depends on " + plan_.actions[i].id.str() + ", which failed";
    std::vector<std::size_t> stack = dependents_[i];
    while (!stack.empty()) {
      const std::size_t d = stack.back();
      stack.pop_back();
      if (report_.outcomes[d].status != Outcome::Pending) continue;
      finish(d, {Outcome::Skipped, message});
      stack.insert(stack.end(), dependents_[d].begin(), dependents_[d].end());
    }
  }

  void finish(std::size_t i, ActionOutcome outcome) {
    report_.outcomes[i] = outcome;
    events_.push_back({EventKind::Finish, i, std::move(outcome)});
    --remaining_;
    if (remaining_ == 0) cv_.notify_all();
  }

  /// Nothing runs and nothing is ready, yet actions remain: their `after`
  /// indices form a cycle. The planner never makes one; fail them rather than hang.
  void failStuck() {
    for (std::size_t i = 0; i < plan_.actions.size(); ++i)
      if (plan_.actions[i].op != Op::Orphan && report_.outcomes[i].status == Outcome::Pending)
        finish(i, failed("cannot run " + plan_.actions[i].id.str() +
                         ": the plan orders it after itself, through a cycle of actions."));
    cv_.notify_all();
  }

  /// Calls the callbacks for the events so far, in the order they happened,
  /// one at a time. Called without the mutex held.
  void drain() {
    std::lock_guard callbacks(callbackMutex_);
    std::vector<Event> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(events_);
    }
    for (const Event& e : batch) {
      const Action& a = plan_.actions[e.index];
      try {
        if (e.kind == EventKind::Start && options_.onStart) options_.onStart(a);
        if (e.kind == EventKind::Finish && options_.onFinish) options_.onFinish(a, e.outcome);
      } catch (const std::exception& ex) {
        spdlog::error("progress callback for {} failed: {}", a.id.str(), ex.what());
      }
    }
  }

  /// A provider's progress report, passed on at once under the callback lock.
  void progress(const Action& a, const std::string& message) {
    if (!options_.onProgress) return;
    std::lock_guard callbacks(callbackMutex_);
    try {
      options_.onProgress(a, message);
    } catch (const std::exception& ex) {
      spdlog::error("progress callback for {} failed: {}", a.id.str(), ex.what());
    }
  }

  void started(std::size_t i) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back({EventKind::Start, i, {}});
    }
    drain();
  }

  ActionOutcome runAction(std::size_t i) {
    const Action& a = plan_.actions[i];
    const std::string id = a.id.str();
    if (options_.stopRequested && options_.stopRequested()) return {Outcome::Skipped, std::string(kStopping)};
    // Defence in depth: the CLI refuses such a plan before it gets here.
    if (a.dataLoss && !plan_.allowDataLoss)
      return failed("refused: " + *a.dataLoss + "; pass --allow-data-loss to allow it.");
    if (writesDesired(a.op) && !a.desired)
      return failed("cannot " + std::string(toString(a.op)) + " " + id + ": the plan has no declared state for it.");

    Provider& provider = *a.provider;
    const bool inLedger = provider.ownershipMark(a.id.kind) == OwnershipMark::Ledger;
    Ledger* ledger = options_.ledger;
    if (inLedger && !ledger)
      return failed("cannot " + std::string(toString(a.op)) + " " + id +
                    ": its ownership is kept in the ledger under --state-dir, and no ledger is open.");

    // The mark goes on record before the object exists: a crash between the two
    // then leaves an owned object to converge, never an unowned one.
    std::optional<std::string> previousOwner;
    if (inLedger && a.op != Op::Delete) {
      std::string current = ledger->ownerOf(a.id);
      if (current != options_.owner) {
        if (auto recorded = ledger->record(a.id, options_.owner); !recorded) return failed(recorded.error().message);
        previousOwner = std::move(current);
      }
    }

    started(i);
    Result<void> applied;
    try {
      ApplyContext ctx;
      ctx.owner = options_.owner;
      ctx.progress = [this, &a](const std::string& message) { progress(a, message); };
      applied = a.op == Op::Replace ? applyReplace(provider, a, ctx) : provider.apply(a, ctx);
    } catch (const std::exception& e) {
      applied = fail("unexpected error from the " + std::string(provider.name()) + " provider: " + e.what());
    } catch (...) {
      applied = fail("unexpected error from the " + std::string(provider.name()) + " provider.");
    }

    if (!applied) {
      std::string message = applied.error().message;
      // A create that failed made nothing to own; a stale entry would later
      // claim an object someone else makes under that name. An adopted object
      // stays ours: it is declared and exists.
      if (previousOwner && a.op == Op::Create) {
        auto restored = previousOwner->empty() ? ledger->forget(a.id) : ledger->record(a.id, *previousOwner);
        if (!restored) message += " Also: " + restored.error().message;
      }
      return failed(std::move(message));
    }
    if (inLedger && a.op == Op::Delete) {
      if (auto forgotten = ledger->forget(a.id); !forgotten)
        return failed(id + " was deleted, but " + forgotten.error().message);
    }
    return {Outcome::Done, doneMessage(a.op) + pendingRestart(a)};
  }

  const Plan& plan_;
  const ExecuteOptions& options_;
  ApplyReport& report_;

  std::vector<std::vector<std::size_t>> dependents_;  ///< i -> actions listing i in `after`
  std::vector<std::size_t> waitingOn_;                ///< unfinished actions each one waits for
  std::vector<std::string> keys_;                     ///< serialKey of each action

  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::size_t> ready_;  ///< by index: plan order
  std::set<std::string> busyKeys_;
  std::size_t remaining_ = 0;  ///< runnable actions not finished yet
  std::size_t inFlight_ = 0;
  std::vector<Event> events_;  ///< callbacks not made yet, in order

  std::mutex callbackMutex_;  ///< serialises the callbacks
};

std::string shown(const std::optional<std::string>& value) { return value.value_or("unset"); }

}  // namespace

ApplyReport execute(const Plan& plan, const ExecuteOptions& options) {
  ApplyReport report;
  Run(plan, options, report).go();
  return report;
}

void verify(const Plan& plan, ApplyReport& report, const ExecuteOptions& options) {
  // Providers in the order their first Done action appears, so output is stable.
  std::vector<Provider*> touched;
  for (std::size_t i = 0; i < plan.actions.size() && i < report.outcomes.size(); ++i) {
    Provider* p = plan.actions[i].provider;
    if (report.outcomes[i].status == Outcome::Done && p && std::ranges::find(touched, p) == touched.end())
      touched.push_back(p);
  }

  std::map<Provider*, Observation> fresh;
  for (Provider* p : touched) {
    Result<Observation> seen;
    try {
      seen = p->observe();
    } catch (const std::exception& e) {
      seen = fail(e.what());
    }
    if (!seen) {
      report.verifyFailures.push_back(std::string(p->name()) + ": observe after apply failed: " + seen.error().message);
      continue;
    }
    // Ledger kinds carry no mark of their own; the ledger is their mark.
    for (Observed& o : seen->objects)
      if (options.ledger && p->ownershipMark(o.resource.id.kind) == OwnershipMark::Ledger)
        o.owner = options.ledger->ownerOf(o.resource.id);
    fresh.emplace(p, std::move(*seen));
  }

  PlanContext ctx;
  ctx.owner = options.owner;
  ctx.external.insert(plan.external.begin(), plan.external.end());
  for (const Resource& r : plan.desired) ctx.desired[r.id] = &r;
  for (const Observed& o : plan.observed) ctx.observed[o.resource.id] = &o;
  std::unordered_map<ResourceId, const Observed*> now;  // what each touched provider sees after apply
  for (const auto& [p, observation] : fresh)
    for (const Observed& o : observation.objects) ctx.observed[o.resource.id] = now[o.resource.id] = &o;

  for (std::size_t i = 0; i < plan.actions.size() && i < report.outcomes.size(); ++i) {
    const Action& a = plan.actions[i];
    if (report.outcomes[i].status != Outcome::Done) continue;
    if (!fresh.contains(a.provider)) continue;  // its observe failed, already reported
    auto seen = now.find(a.id);
    const Observed* after = seen == now.end() ? nullptr : seen->second;
    const std::string id = a.id.str();

    if (a.op == Op::Delete) {
      if (after) report.verifyFailures.push_back(id + ": still on the host after delete");
      continue;
    }
    if (!writesDesired(a.op) || !a.desired) continue;
    if (!after) {
      report.verifyFailures.push_back(id + ": not found on the host after " + std::string(toString(a.op)));
      continue;
    }
    Diff diff;
    try {
      diff = a.provider->plan(*a.desired, after, ctx, *fresh.at(a.provider).snapshot);
    } catch (const std::exception& e) {
      report.verifyFailures.push_back(id + ": cannot compare with the host after apply: " + e.what());
      continue;
    }
    for (const FieldChange& c : diff.changes)
      report.verifyFailures.push_back(id + ": " + c.field + " is " + shown(c.from) + " on the host, expected " +
                                      shown(c.to));
    if (after->owner != options.owner)
      report.verifyFailures.push_back(id + ": owner is " + (after->owner.empty() ? "unset" : after->owner) +
                                      " on the host, expected " + options.owner);
  }
}

}  // namespace hostform
