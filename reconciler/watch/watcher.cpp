#include "reconciler/watch/watcher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <ostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "reconciler/lock.h"
#include "reconciler/log.h"
#include "reconciler/units.h"
#include "reconciler/watch/events.h"
#include "reconciler/watch/metrics.h"
#include "reconciler/watch/signatures.h"
#include "reconciler/watch/notifier.h"
#include "reconciler/watch/signals.h"
#include "reconciler/watch/suspend.h"
#include "reconciler/watch/watch_state.h"

namespace hostform::watch {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// Suspend and Resume: the suspend flag was created or deleted (suspend.h).
/// Event: a provider saw a change on the host (drift); such a cycle does not fetch.
enum class Trigger { Startup, Interval, Webhook, Signal, Suspend, Resume, Event };

std::string_view triggerName(Trigger t) {
  switch (t) {
    case Trigger::Startup: return "startup";
    case Trigger::Interval: return "interval";
    case Trigger::Webhook: return "webhook";
    case Trigger::Signal: return "signal";
    case Trigger::Suspend: return "suspend";
    case Trigger::Resume: return "resume";
    case Trigger::Event: return "event";
  }
  return "interval";
}

/// A commit as people read it in logs: the short id and its subject.
std::string shortId(const CommitId& id) { return id.substr(0, 12); }

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Unix time of an RFC 3339 "YYYY-MM-DDTHH:MM:SSZ"; 0 when it does not parse.
double unixTimeOf(const std::string& rfc3339) {
  std::tm tm{};
  const char* end = strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return 0;
  return static_cast<double>(timegm(&tm));
}

/// Lines of `text` that report errors (diagnostics and "error: …" lines).
std::vector<std::string> errorLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("error: ") || line.find(": error: ") != std::string::npos) out.push_back(line);
  return out;
}

bool failedResult(const std::string& result) { return result == "refused" || result == "partial" || result == "error"; }

std::string hostName() {
  char host[HOST_NAME_MAX + 1] = {};
  return gethostname(host, sizeof host - 1) == 0 ? host : "";
}

std::string resultName(int exitCode, DryRun dryRun, std::size_t changes) {
  switch (exitCode) {
    case kExitOk:
      if (changes == 0) return "converged";
      return dryRun == DryRun::Yes ? "planned" : "applied";
    case kExitRefused: return "refused";
    case kExitPartial: return "partial";
    default: return "error";
  }
}

class Watcher {
 public:
  Watcher(const WatchOptions& watch, const RunOptions& run, const ProviderOptions& providers, const Console& console,
          GitSource git, WatchState state, std::unique_ptr<SignatureVerifier> verifier)
      : watch_(watch),
        run_(run),
        providerOptions_(providers),
        console_(console),
        git_(std::move(git)),
        state_(std::move(state)),
        verifier_(std::move(verifier)),
        metrics_(git_.displayUrl(), watch.branch, watch.path.empty() ? "." : watch.path),
        random_(std::random_device{}()),
        host_(hostName()) {
    if (!state_.lastAppliedAt.empty()) metrics_.restoreLastApply(unixTimeOf(state_.lastAppliedAt));
    metrics_.commits(state_.targetCommit, state_.lastAppliedCommit);
    health_.target = state_.targetCommit;
    health_.applied = state_.lastAppliedCommit;
    if (!watch_.notify.empty())
      notifier_ = std::make_unique<Notifier>(watch_.notify, watch_.notifySecret,
                                             [this](bool delivered) { metrics_.notification(delivered); });
    if (watch_.events && !watch_.once)
      events_ = std::make_unique<EventLoop>(
          [this](std::string_view source, std::size_t n) { metrics_.events(source, n); },
          [this](const std::string& what) {
            spdlog::debug("changes on the host ({}): running a cycle", what);
            request(Trigger::Event);
          });
  }

  ~Watcher() { events_.reset(); }  // the event thread calls request(): stopped first

  Metrics& metrics() { return metrics_; }

  /// GET /healthz: did the last cycle succeed (exit code 0: converged,
  /// applied or planned, with the fetch and the tip fine)?
  ProbeAnswer healthz() {
    std::lock_guard lock(healthMutex_);
    if (!health_.last) return {200, "starting: the first cycle has not ended yet\n"};
    const RunRecord& r = *health_.last;
    if (r.exitCode == kExitOk) return {200, "ok: last cycle " + r.result + "\n"};
    return {503, "failing: last cycle " + r.result + ", exit code " + std::to_string(r.exitCode) +
                     (r.errors.empty() ? std::string() : ": " + r.errors.front()) + "\n"};
  }

  /// GET /readyz: has the commit in force been applied?
  ProbeAnswer readyz() {
    std::lock_guard lock(healthMutex_);
    const std::string& target = health_.target;
    if (target.empty()) return {503, "not ready: no commit in force yet\n"};
    if (target == health_.applied) return {200, "ready: commit " + target + " is applied\n"};
    return {503, "not ready: commit " + target + " is in force, the last applied is " +
                     (health_.applied.empty() ? std::string("none") : health_.applied) +
                     (health_.suspended ? " (suspended)" : "") + "\n"};
  }

  void request(Trigger trigger) {
    std::lock_guard lock(mutex_);
    // A pending event cycle does not fetch: a trigger that does replaces it (and corrects drift too).
    if (!pending_ || (*pending_ == Trigger::Event && trigger != Trigger::Event)) pending_ = trigger;
    wake_.notify_all();
  }

  void stop() {
    stopping_ = true;
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  }

  bool stopping() const { return stopping_; }

  /// The loop; returns the process exit code.
  int run() {
    Trigger trigger = Trigger::Startup;
    Clock::time_point nextInterval;
    for (;;) {
      const int code = cycle(trigger);
      if (watch_.once) return code;
      // Event cycles leave the interval's clock alone: a host that changes
      // often must still fetch every interval.
      if (trigger != Trigger::Event) nextInterval = Clock::now() + jittered(watch_.interval);
      const auto next = waitForTrigger(nextInterval);
      if (!next) break;
      trigger = *next;
    }
    spdlog::info("stopped");
    return kExitOk;
  }

 private:
  /// The interval ±10 %, so a fleet started together does not fetch in step.
  std::chrono::milliseconds jittered(std::chrono::milliseconds interval) {
    std::uniform_real_distribution<double> factor(0.9, 1.1);
    return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(interval.count()) * factor(random_)));
  }

  /// nullopt: stop.
  std::optional<Trigger> waitForTrigger(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, deadline, [&] { return stopping_.load() || pending_.has_value(); });
    if (stopping_) return std::nullopt;
    if (pending_) return std::exchange(pending_, std::nullopt);
    return Trigger::Interval;
  }

  /// After n failed fetches in a row, interval cycles skip fetching for
  /// min(interval × 2^(n−1), max(interval, 5 min)); webhooks and SIGHUP always fetch.
  bool fetchDue(Trigger trigger) const {
    return watch_.once || trigger != Trigger::Interval || fetchFailures_ == 0 || Clock::now() >= nextFetch_;
  }

  void fetchFailed() {
    ++fetchFailures_;
    const auto cap = std::max<std::chrono::milliseconds>(watch_.interval, std::chrono::minutes(5));
    auto backoff = watch_.interval;
    for (int i = 1; i < fetchFailures_ && backoff < cap; ++i) backoff *= 2;
    backoff = std::min(backoff, cap);
    // Half an interval early, so the cycle that falls due does fetch despite jitter.
    nextFetch_ = Clock::now() + backoff - watch_.interval / 2;
  }

  /// Fetches when due. Returns the fetch error, empty when it worked or was not due.
  std::string fetch(Trigger trigger) {
    if (!fetchDue(trigger)) {
      spdlog::debug("fetch skipped: backing off after {} failed fetches", fetchFailures_);
      return {};
    }
    auto tip = git_.fetch([this] { return stopping(); });
    state_.lastFetchAt = nowRfc3339();
    metrics_.fetched(tip.has_value(), unixNow());
    if (!tip) {
      fetchFailed();
      state_.lastFetchError = tip.error().message;
      logWith(spdlog::level::err, tip.error().message + " The host keeps its last applied state; retrying.",
              {{"repo", git_.displayUrl()}, {"failures", fetchFailures_}});
      return tip.error().message;
    }
    fetchFailures_ = 0;
    state_.lastFetchError.clear();
    if (*tip != state_.lastSeenCommit) {
      logWith(spdlog::level::info, "new commit on " + watch_.branch + ": " + git_.subject(*tip),
              {{"commit", *tip}, {"branch", watch_.branch}});
      const std::string& previous = state_.lastSeenCommit;
      if (!previous.empty() && git_.hasCommit(previous) && !git_.descends(*tip, previous))
        logWith(spdlog::level::warn,
                "the branch " + watch_.branch + " was rewritten (force-push): the new tip does not contain " +
                    shortId(previous) + "; the tip is what counts",
                {{"commit", *tip}, {"previous", previous}});
      state_.lastSeenCommit = *tip;
    }
    return {};
  }

  /// The commit's manifests under --path, loaded and validated.
  LoadResult load(const CommitId& commit) {
    LoadResult result;
    std::vector<std::string> skipped;
    auto files = git_.readManifests(commit, watch_.path, skipped);
    if (!files) {
      result.diagnostics.error({}, "", files.error().message);
      return result;
    }
    for (const std::string& path : skipped)
      result.diagnostics.warning({path, 0, 0}, "", "skipped: symbolic links and submodules are not read");
    LoadResult loaded = loadManifestTexts(*files);
    loaded.diagnostics.append(result.diagnostics);
    if (loaded.diagnostics.hasErrors()) return loaded;
    const std::string where = (watch_.path.empty() ? "." : watch_.path) + " in commit " + commit;
    if (auto refused = refuseEmptyPrune(loaded.resources.size(), run_, where)) loaded.diagnostics.error({}, "", *refused);
    return loaded;
  }

  static void print(const Diagnostics& diags, std::ostream& err) { diags.print(err, Severity::Warning); }

  /// Whether `commit` may be applied: always without --verify-signatures.
  Verdict signatureVerdict(const CommitId& commit) {
    if (!verifier_) return {Verdict::Kind::Trusted, "not verified"};
    auto signature = git_.signature(commit);
    if (!signature) return {Verdict::Kind::Failed, signature.error().message};
    return verifier_->verify(commit, *signature);
  }

  int cycle(Trigger trigger) {
    metrics_.cycleStarted(triggerName(trigger));
    std::ostringstream err;  // printed at the end; its errors also go into the state file
    RunRecord record;
    record.trigger = std::string(triggerName(trigger));
    record.dryRun = run_.dryRun == DryRun::Yes;

    // An event cycle is about the host, not the branch: it plans the commit in force.
    const std::string fetchError = trigger == Trigger::Event ? std::string() : fetch(trigger);
    if (!fetchError.empty()) err << "error: " << fetchError << "\n";

    // The tip: just fetched, or the last one fetched when the remote is unreachable.
    CommitId candidate = state_.lastSeenCommit;
    if (!candidate.empty() && !git_.hasCommit(candidate)) candidate.clear();

    CommitId target;
    std::optional<LoadResult> desired;
    double loadSeconds = 0;
    const auto timedLoad = [&](const CommitId& commit) {
      const auto begin = Clock::now();
      LoadResult loaded = load(commit);
      loadSeconds = std::chrono::duration<double>(Clock::now() - begin).count();
      return loaded;
    };
    bool rejected = false, newlyRejected = false;
    bool undecided = false;  // the tip's signature could not be checked this cycle
    const auto reject = [&](std::vector<std::string> errors, const std::string& why) {
      rejected = newlyRejected = true;
      metrics_.rejectedCommit();
      state_.rejectedCommit = candidate;
      reportedRejection_ = candidate;
      state_.rejectedErrors = std::move(errors);
      logWith(spdlog::level::err, "commit rejected: " + why, {{"commit", candidate}});
    };
    const std::string fallback = state_.targetCommit.empty() ? "no earlier commit was valid"
                                                             : "commit " + state_.targetCommit + " stays in force";
    if (!candidate.empty() && candidate == state_.rejectedCommit && reportedRejection_ == candidate) {
      rejected = true;  // reported when first seen; validating it again would say the same
    } else if (!candidate.empty()) {
      // The signature first: an untrusted commit's manifests are not even read.
      const Verdict verdict = signatureVerdict(candidate);
      if (verdict.kind == Verdict::Kind::Failed) {
        undecided = true;
        err << "error: cannot verify the signature of commit " << candidate << ": " << verdict.text
            << "; it is not applied this cycle.\n";
      } else if (verdict.kind == Verdict::Kind::Rejected) {
        const std::string line = "error: commit " + candidate + ": " + verdict.text;
        err << line << "\ncommit " << candidate << " is not trusted; it is not applied, " << fallback << ".\n";
        reject({line}, verdict.text);
      } else {
        if (verifier_ && candidate != state_.targetCommit)
          logWith(spdlog::level::info, "signature good: " + verdict.text, {{"commit", candidate}});
        LoadResult loaded = timedLoad(candidate);
        if (loaded.diagnostics.hasErrors()) {
          print(loaded.diagnostics, err);
          err << loaded.diagnostics.errorCount() << " error(s) in commit " << candidate << "; it is not applied, "
              << fallback << ".\n";
          std::vector<std::string> errors;
          for (const Diagnostic& d : loaded.diagnostics.items())
            if (d.severity == Severity::Error && errors.size() < Diagnostics::kShown) errors.push_back(d.str());
          reject(std::move(errors),
                 "its manifests are invalid (" + std::to_string(loaded.diagnostics.errorCount()) + " error(s))");
        } else {
          print(loaded.diagnostics, err);  // warnings
          target = candidate;
          desired = std::move(loaded);
          state_.rejectedCommit.clear();
          state_.rejectedErrors.clear();
        }
      }
    }
    if (target.empty() && !state_.targetCommit.empty()) {
      // The last good commit stays in force (and is self-healed), if it is
      // still trusted: one recorded before signatures were required is checked too.
      const bool inClone = git_.hasCommit(state_.targetCommit);
      const Verdict verdict = inClone ? signatureVerdict(state_.targetCommit) : Verdict{Verdict::Kind::Failed, ""};
      if (!inClone) {
        err << "error: commit " << state_.targetCommit << ", in force until now, is no longer in the clone; "
            << "nothing is applied until a valid commit is fetched.\n";
      } else if (verdict.kind == Verdict::Kind::Rejected) {
        err << "error: commit " << state_.targetCommit << ", in force until now, is not trusted: " << verdict.text
            << "; nothing is applied until a trusted commit is fetched.\n";
      } else if (verdict.kind == Verdict::Kind::Failed) {
        err << "error: cannot verify the signature of commit " << state_.targetCommit << ": " << verdict.text
            << "; nothing is applied this cycle.\n";
      } else {
        LoadResult loaded = timedLoad(state_.targetCommit);
        if (loaded.diagnostics.hasErrors()) {
          print(loaded.diagnostics, err);
          err << "error: commit " << state_.targetCommit << ", in force until now, no longer validates "
              << "(was hostform upgraded?); nothing is applied until a valid commit is fetched.\n";
        } else {
          target = state_.targetCommit;
          desired = std::move(loaded);
        }
      }
    }
    if (rejected) record.errors = state_.rejectedErrors;

    // The suspend flag, read now (after a fetch that may have been long) for this cycle's plan.
    const std::optional<Suspension> suspension = readSuspension(run_.stateDir);
    noteSuspension(suspension);
    record.dryRun = record.dryRun || suspension.has_value();

    int exitCode = kExitOk;
    bool driftCorrected = false;
    double planSeconds = -1;
    bool ranActions = false;
    if (target.empty()) {
      if (candidate.empty() && fetchError.empty() && !stopping()) err << "error: no commit fetched yet.\n";
      err << "error: no valid commit to apply; the host is left as it is.\n";
      record.result = "error";
      exitCode = kExitError;
    } else if (stopping()) {
      record.result = "error";
      record.commit = target;
      err << "error: stopping before planning commit " << target << ".\n";
      exitCode = kExitError;
    } else {
      record.commit = target;
      // Subscribed before observing: a change made while this cycle plans is seen.
      openEventSources(desired->resources);
      exitCode = planAndApply(target, std::move(desired->resources), loadSeconds, suspension.has_value(), record, err,
                              planSeconds, ranActions, driftCorrected);
    }
    if (exitCode == kExitOk && (!fetchError.empty() || rejected || undecided)) exitCode = kExitError;
    record.exitCode = exitCode;
    record.at = nowRfc3339();
    for (const std::string& line : errorLines(err.str()))
      if (std::find(record.errors.begin(), record.errors.end(), line) == record.errors.end())
        record.errors.push_back(line);

    // A daemon repeating the same warning every interval only buries news.
    const std::string errText = err.str();
    if (watch_.once || ranActions || errText != lastErrText_) console_.err << errText;
    else if (!errText.empty()) spdlog::debug("same messages as the last cycle; not repeated");
    console_.err.flush();
    lastErrText_ = errText;

    recordRun(state_, record);
    // The metrics and the probes first: whoever sees the state file's new run
    // then finds them saying the same.
    metrics_.cycleFinished(record.result, exitCode, planSeconds, ranActions, unixNow());
    metrics_.commits(state_.targetCommit, state_.lastAppliedCommit);
    {
      std::lock_guard lock(healthMutex_);
      health_.last = record;
      health_.target = state_.targetCommit;
      health_.applied = state_.lastAppliedCommit;
      health_.suspended = suspension.has_value();
    }
    if (auto saved = saveWatchState(run_.stateDir / "watch-state.json", state_); !saved)
      logWith(spdlog::level::err, saved.error().message, json::object());
    notify(record, newlyRejected, driftCorrected);
    return exitCode;
  }

  /// Logs a suspend or a resume when this cycle is the first to see it, and records the flag.
  void noteSuspension(const std::optional<Suspension>& s) {
    if (s && !reportedSuspended_) {
      std::string why = "suspended";
      if (!s->who.empty()) why += " by " + s->who;
      why += " since " + s->at;
      if (!s->reason.empty()) why += " (" + s->reason + ")";
      logWith(spdlog::level::warn,
              why + ": planning and reporting only, nothing is applied and no drift corrected until `hostform resume`",
              {{"suspended", s->at}, {"reason", s->reason}});
    } else if (!s && reportedSuspended_) {
      logWith(spdlog::level::info, "resumed: applying again", json::object());
    }
    reportedSuspended_ = s.has_value();
    metrics_.suspended(reportedSuspended_);
    state_.suspended = s;
    if (state_.suspended) state_.suspended->who.clear();
  }

  /// The cycle's notifications (docs/watch.md "Notifications"): rejected when
  /// a tip was rejected (once, as it is reported); applied or drift-corrected
  /// when changes were made and verified; failed when the host could not be
  /// converged, once until the failure changes.
  void notify(const RunRecord& record, bool rejected, bool driftCorrected) {
    if (!notifier_) return;
    if (rejected) send("rejected", record, state_.rejectedCommit, state_.rejectedErrors);
    if (record.result == "applied") send(driftCorrected ? "drift-corrected" : "applied", record, record.commit,
                                         record.errors);
    if (!failedResult(record.result)) {
      lastFailure_.clear();
      return;
    }
    std::string key = record.result + "\n" + record.commit;
    for (const std::string& e : record.errors) key += "\n" + e;
    if (key == lastFailure_) {
      spdlog::debug("the same failure as the last notified one; not notified again");
      return;
    }
    lastFailure_ = key;
    send("failed", record, record.commit, record.errors);
  }

  void send(const std::string& event, const RunRecord& r, const std::string& commit,
            const std::vector<std::string>& errors) {
    nlohmann::ordered_json body = {
        {"event", event},
        {"host", host_},
        {"repo", state_.repo},
        {"branch", state_.branch},
        {"path", state_.path},
        {"commit", commit.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(commit)},
        {"targetCommit",
         state_.targetCommit.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(state_.targetCommit)}};
    const nlohmann::ordered_json run = runJson(r);  // the state file's fields, as the state file writes them
    for (const char* key : {"result", "exitCode", "dryRun", "plan", "actions"}) body[key] = run[key];
    body["errors"] = errors;
    body["at"] = r.at;
    notifier_->post(event, body.dump());
  }

  /// Opens the event sources of the providers that serve what `desired`
  /// declares, and closes those no longer needed: a host without VMs never
  /// connects to libvirt for events.
  void openEventSources(const std::vector<Resource>& desired) {
    if (!events_) return;
    std::set<std::string> needed;
    std::vector<Provider*> providers;
    for (const Resource& r : desired) {
      Provider* p = eventProviders_.forResource(r);
      if (p && needed.insert(std::string(p->name())).second) providers.push_back(p);
    }
    events_->retain(needed);
    for (Provider* p : providers) {
      const std::string name(p->name());
      if (events_->has(name) || withoutEvents_.contains(name)) continue;
      auto source = p->events(EventOptions{watch_.lvmPoll});
      if (!source) {
        // Logged once per message: libvirtd being down is said once, not every cycle.
        if (eventErrors_[name] != source.error().message)
          logWith(spdlog::level::warn,
                  "events: " + source.error().message + " Drift of " + name +
                      "'s resources is corrected at the interval until this works.",
                  {{"provider", name}});
        eventErrors_[name] = source.error().message;
        continue;
      }
      eventErrors_.erase(name);
      if (!*source) {
        withoutEvents_.insert(name);
        continue;
      }
      spdlog::debug("events: listening to {} for {}", (*source)->name(), name);
      events_->add(name, std::move(*source));
    }
  }

  /// `loadSeconds`: how long reading and validating the manifests took.
  /// `suspended`: plan and report as --dry-run does.
  int planAndApply(const CommitId& target, std::vector<Resource> desired, double loadSeconds, bool suspended,
                   RunRecord& record, std::ostringstream& err, double& planSeconds, bool& ranActions,
                   bool& driftCorrected) {
    RunOptions options = run_;
    if (suspended) options.dryRun = DryRun::Yes;
    const bool newCommit = target != state_.targetCommit;
    const bool wasApplied = target == state_.lastAppliedCommit;
    const json commitField = {{"commit", target}};
    if (newCommit) logWith(spdlog::level::info, "planning commit: " + git_.subject(target), commitField);
    state_.targetCommit = target;

    // Converged, already-applied cycles stay quiet on stdout; anything else
    // prints exactly what apply prints.
    std::ostream out(nullptr);
    ApplyHooks hooks;
    hooks.onPlanned = [&](const Plan& plan) {
      std::vector<Gauge> gauges;
      for (const auto& [provider, snapshot] : plan.snapshots)
        if (provider && snapshot)
          for (Gauge& g : provider->gauges(*snapshot)) gauges.push_back(std::move(g));
      metrics_.gauges(std::move(gauges));
      const PlanSummary s = plan.summary();
      if (watch_.once || newCommit || s.create + s.update + s.replace + s.remove > 0 || plan.diagnostics.hasErrors())
        out.rdbuf(console_.out.rdbuf());
    };
    hooks.onFinish = [&](const Action& a, const ActionOutcome& o) {
      metrics_.action(a.op, o.status);
      const std::string what =
          o.status == Outcome::Done ? o.message : std::string(toString(o.status)) + ": " + o.message;
      logWith(o.status == Outcome::Done ? spdlog::level::info : spdlog::level::err, a.id.str() + ": " + what,
              {{"commit", target}, {"resource", a.id.str()}, {"op", toString(a.op)}, {"outcome", toString(o.status)}});
    };
    hooks.stopRequested = [this] { return stopping(); };

    ProviderSet providers(providerOptions_);
    const Console console{out, err, console_.color};
    const ApplyResult applied = applyResources(std::move(desired), options, providers, console, hooks);
    out.flush();

    const PlanSummary& s = applied.summary;
    const std::size_t changes = s.create + s.update + s.replace + s.remove;
    if (applied.planned) planSeconds = loadSeconds + std::chrono::duration<double>(applied.planDuration).count();
    ranActions = applied.done + applied.failed + applied.skipped > 0;
    if (wasApplied && applied.planned) {
      metrics_.drift(changes);
      if (changes > 0)
        logWith(spdlog::level::warn,
                "the host drifted from the applied commit: " + std::to_string(changes) + " resource(s) differ; " +
                    (suspended                      ? "reported only (suspended)"
                     : run_.dryRun == DryRun::Yes ? "reported only (--dry-run)"
                                                  : "correcting"),
                commitField);
    } else {
      metrics_.drift(0);
    }

    record.result = resultName(applied.exitCode, options.dryRun, changes);
    driftCorrected = wasApplied && record.result == "applied";
    if (suspended && changes > 0)
      logWith(spdlog::level::info,
              "suspended: " + std::to_string(changes) + " change(s) planned and not applied until `hostform resume`",
              commitField);
    record.create = s.create;
    record.update = s.update;
    record.replace = s.replace;
    record.remove = s.remove;
    record.orphan = s.orphan;
    record.done = applied.done;
    record.failed = applied.failed;
    record.skipped = applied.skipped;
    if (applied.exitCode == kExitOk && options.dryRun == DryRun::No && (changes > 0 || !wasApplied)) {
      state_.lastAppliedCommit = target;
      state_.lastAppliedAt = nowRfc3339();
    }
    const bool news = changes > 0 || newCommit;
    const auto level = applied.exitCode != kExitOk ? spdlog::level::err
                       : news                      ? spdlog::level::info
                                                   : spdlog::level::debug;
    logWith(level, "cycle done: " + record.result, {{"commit", target}, {"exitCode", applied.exitCode}});
    return applied.exitCode;
  }

  const WatchOptions& watch_;
  const RunOptions& run_;
  const ProviderOptions& providerOptions_;
  const Console& console_;
  GitSource git_;
  WatchState state_;
  std::unique_ptr<SignatureVerifier> verifier_;  ///< null: every commit is trusted (no --verify-signatures)
  Metrics metrics_;
  std::mt19937 random_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<Trigger> pending_;
  std::atomic<bool> stopping_{false};

  /// Providers of the event sources only (the cycles make their own): kept
  /// for the watcher's lifetime, each connects only when asked for events.
  ProviderSet eventProviders_{providerOptions_};
  std::unique_ptr<EventLoop> events_;
  std::set<std::string> withoutEvents_;              ///< providers with no event source
  std::map<std::string, std::string> eventErrors_;   ///< the last failure to open each provider's source

  int fetchFailures_ = 0;
  Clock::time_point nextFetch_{};
  std::string lastErrText_;
  /// The rejected commit this process has reported; a restarted watcher
  /// validates (and so reports) a rejected tip once more.
  CommitId reportedRejection_;
  bool reportedSuspended_ = false;
  std::string host_;
  /// The last failure notified (result, commit, errors): not notified again until it changes.
  std::string lastFailure_;

  /// What /healthz and /readyz read, from the HTTP server's thread.
  struct Health {
    std::optional<RunRecord> last;  ///< this process's last cycle
    std::string target, applied;
    bool suspended = false;
  };
  std::mutex healthMutex_;
  Health health_;
  /// Declared last: destroyed first, while the metrics it counts into still exist.
  std::unique_ptr<Notifier> notifier_;
};

/// Reads the state, starting afresh when it is about another repository,
/// branch or path: its commits would mean nothing here.
Result<WatchState> loadState(const std::filesystem::path& file, const WatchState& fresh) {
  auto loaded = loadWatchState(file);
  if (!loaded) return hostform::unexpected(loaded.error());
  if (!*loaded) return fresh;
  WatchState& state = **loaded;
  if (state.repo != fresh.repo || state.branch != fresh.branch || state.path != fresh.path) {
    spdlog::warn("{} was about {} branch {} path {}; starting afresh for {} branch {} path {}", file.string(),
                 state.repo, state.branch, state.path, fresh.repo, fresh.branch, fresh.path);
    return fresh;
  }
  return std::move(state);
}

}  // namespace

Result<std::string> resolveWatchPath(std::string_view pattern, std::string_view hostname) {
  std::string path;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      const std::size_t close = pattern.find('}', i);
      const std::string_view name = pattern.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
      if (close == std::string_view::npos || name != "hostname")
        return fail("--path " + std::string(pattern) + ": the only placeholder is {hostname}.");
      path += hostname;
      i = close + 1;
      continue;
    }
    path += pattern[i++];
  }
  if (path.starts_with('/'))
    return fail("--path " + std::string(pattern) + ": give a path inside the repository, not an absolute one.");
  std::string clean;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    const std::string part = path.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return fail("--path " + std::string(pattern) + ": \"..\" cannot leave the repository.");
    clean += (clean.empty() ? "" : "/") + part;
  }
  return clean;
}

int runWatch(const WatchOptions& watch, const RunOptions& run, const ProviderOptions& providers,
             const Console& console) {
  // One watcher per state directory: a second one would fetch into the same
  // clone and overwrite the same state.
  auto lifetimeLock = StateLock::acquire(run.stateDir, std::chrono::milliseconds(0), "watch.lock",
                                         "each watcher needs its own --state-dir");
  if (!lifetimeLock) {
    console.err << "error: " << lifetimeLock.error().message << "\n";
    return kExitError;
  }
  auto git = GitSource::open(run.stateDir / "repo", watch.repo, watch.branch, watch.credentials);
  if (!git) {
    console.err << "error: " << git.error().message << "\n";
    return kExitError;
  }
  WatchState fresh;
  fresh.repo = git->displayUrl();
  fresh.branch = watch.branch;
  fresh.path = watch.path.empty() ? "." : watch.path;
  auto state = loadState(run.stateDir / "watch-state.json", fresh);
  if (!state) {
    console.err << "error: " << state.error().message << "\n";
    return kExitError;
  }

  std::unique_ptr<SignatureVerifier> verifier;
  if (watch.signatures.enabled()) {
    auto created = SignatureVerifier::create(watch.signatures, run.stateDir);
    if (!created) {
      console.err << "error: " << created.error().message << "\n";
      return kExitError;
    }
    verifier = std::move(*created);
  }

  Watcher watcher(watch, run, providers, console, std::move(*git), std::move(*state), std::move(verifier));
  SignalListener signals({SIGTERM, SIGINT, SIGHUP}, [&watcher](int signo) {
    if (signo == SIGHUP) {
      spdlog::info("SIGHUP: running a cycle now");
      watcher.request(Trigger::Signal);
      return;
    }
    spdlog::info("{}: finishing the running action, then stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    watcher.stop();
  });

  std::unique_ptr<HttpServer> server;
  if (watch.listen) {
    HttpHandlers handlers;
    handlers.metrics = [&watcher] { return watcher.metrics().render(); };
    handlers.trigger = [&watcher] { watcher.request(Trigger::Webhook); };
    handlers.healthz = [&watcher] { return watcher.healthz(); };
    handlers.readyz = [&watcher] { return watcher.readyz(); };
    handlers.webhookSecret = watch.webhookSecret;
    auto started = HttpServer::start(*watch.listen, std::move(handlers));
    if (!started) {
      console.err << "error: " << started.error().message << "\n";
      return kExitError;
    }
    server = std::move(*started);
    logWith(spdlog::level::info, "serving /healthz, /readyz, /metrics and POST /hooks/git",
            {{"listen", watch.listen->host + ":" + std::to_string(server->port())}});
  }
  logWith(spdlog::level::info, "watching " + fresh.repo,
          {{"branch", watch.branch}, {"path", fresh.path},
           {"interval", formatDuration(watch.interval)}, {"dryRun", run.dryRun == DryRun::Yes},
           {"events", watch.events}});
  // `hostform suspend` and `resume` (or an operator's hand) change the flag:
  // a cycle at once, rather than at the next interval.
  std::unique_ptr<FlagWatcher> flag;
  if (!watch.once)
    flag = std::make_unique<FlagWatcher>(run.stateDir, [&watcher, dir = run.stateDir] {
      watcher.request(readSuspension(dir) ? Trigger::Suspend : Trigger::Resume);
    });
  const int code = watcher.run();
  flag.reset();
  server.reset();  // stop serving before the watcher it reads goes away
  return code;
}

}  // namespace hostform::watch
