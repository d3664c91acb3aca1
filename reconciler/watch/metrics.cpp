#include "reconciler/watch/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace hostform::watch {
namespace {

constexpr Op kOps[] = {Op::Create, Op::Update, Op::Replace, Op::Delete};
constexpr Outcome kOutcomes[] = {Outcome::Done, Outcome::Failed, Outcome::Skipped};
constexpr std::string_view kTriggers[] = {"startup", "interval", "webhook", "signal", "suspend", "resume", "event"};
constexpr std::string_view kEventSources[] = {"netlink", "libvirt", "lvm"};

/// A label value with the escapes the text format requires.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

/// A sample value in the shortest form that reads back exactly (timestamps
/// keep their milliseconds; counters print as integers).
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    out_ += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
  }
  /// A family of one series without labels.
  void single(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(name, value);
  }
  void sample(std::string_view name, double value, std::string_view labels = {}) {
    out_ += std::string(name);
    if (!labels.empty()) out_ += "{" + std::string(labels) + "}";
    out_ += " " + number(value) + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

Metrics::Metrics(std::string repo, std::string branch, std::string path)
    : repo_(std::move(repo)), branch_(std::move(branch)), path_(std::move(path)) {}

void Metrics::events(std::string_view source, std::size_t n) {
  std::lock_guard lock(mutex_);
  events_[std::string(source)] += static_cast<double>(n);
}

void Metrics::cycleStarted(std::string_view trigger) {
  std::lock_guard lock(mutex_);
  cycles_[std::string(trigger)] += 1;
}

void Metrics::fetched(bool ok, double unixTime) {
  std::lock_guard lock(mutex_);
  fetches_ += 1;
  if (ok) lastFetchSuccess_ = unixTime;
  else fetchErrors_ += 1;
}

void Metrics::rejectedCommit() {
  std::lock_guard lock(mutex_);
  rejected_ += 1;
}

void Metrics::action(Op op, Outcome outcome) {
  std::lock_guard lock(mutex_);
  actions_[{op, outcome}] += 1;
}

void Metrics::drift(std::size_t resources) {
  std::lock_guard lock(mutex_);
  driftTotal_ += static_cast<double>(resources);
  driftLast_ = static_cast<double>(resources);
}

void Metrics::cycleFinished(const std::string& result, int exitCode, double planSeconds, bool applied,
                            double unixTime) {
  std::lock_guard lock(mutex_);
  lastResult_ = result;
  lastExitCode_ = exitCode;
  if (planSeconds >= 0) planSeconds_ = planSeconds;
  lastCycle_ = unixTime;
  if (applied) {
    lastApply_ = unixTime;
    lastApplySuccess_ = exitCode == 0 ? 1 : 0;
  }
}

void Metrics::commits(const std::string& target, const std::string& applied) {
  std::lock_guard lock(mutex_);
  targetCommit_ = target;
  appliedCommit_ = applied;
}

void Metrics::gauges(std::vector<Gauge> samples) {
  // Families together, in name order, then the samples in the order given.
  std::stable_sort(samples.begin(), samples.end(), [](const Gauge& a, const Gauge& b) { return a.name < b.name; });
  std::lock_guard lock(mutex_);
  gauges_ = std::move(samples);
}

void Metrics::suspended(bool on) {
  std::lock_guard lock(mutex_);
  suspended_ = on ? 1 : 0;
}

void Metrics::notification(bool delivered) {
  std::lock_guard lock(mutex_);
  (delivered ? notificationsDelivered_ : notificationsFailed_) += 1;
}

void Metrics::restoreLastApply(double unixTime) {
  std::lock_guard lock(mutex_);
  lastApply_ = unixTime;
  lastApplySuccess_ = 1;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  Writer w;
  w.family("hostform_watch_info", "gauge", "The repository (without credentials), branch and path watched.");
  w.sample("hostform_watch_info", 1,
           "repo=\"" + label(repo_) + "\",branch=\"" + label(branch_) + "\",path=\"" + label(path_) + "\"");

  w.family("hostform_watch_cycles_total", "counter", "Cycles (fetch, plan, apply) run, by what started them.");
  for (std::string_view t : kTriggers) {
    auto it = cycles_.find(t);
    w.sample("hostform_watch_cycles_total", it == cycles_.end() ? 0 : it->second,
             "trigger=\"" + std::string(t) + "\"");
  }

  w.family("hostform_watch_events_total", "counter",
           "Changes on the host reported by the providers' event sources (each burst runs one cycle).");
  for (std::string_view source : kEventSources) {
    auto it = events_.find(source);
    w.sample("hostform_watch_events_total", it == events_.end() ? 0 : it->second,
             "source=\"" + std::string(source) + "\"");
  }

  w.single("hostform_watch_last_cycle_timestamp_seconds", "gauge", "When the last cycle ended, in Unix time.",
           lastCycle_);

  w.family("hostform_watch_last_result", "gauge", "The last cycle's result: 1 for the current one, 0 for the others.");
  for (std::string_view r : kResults)
    w.sample("hostform_watch_last_result", r == lastResult_ ? 1 : 0, "result=\"" + std::string(r) + "\"");

  w.single("hostform_watch_last_exit_code", "gauge", "The exit code hostform apply would have had in the last cycle.",
           lastExitCode_);
  w.single("hostform_watch_last_apply_timestamp_seconds", "gauge",
           "When the last cycle that changed the host ended, in Unix time; 0: none yet.", lastApply_);
  w.single("hostform_watch_last_apply_success", "gauge",
           "1 when the last cycle that changed the host converged it, 0 when some action failed or was not verified.",
           lastApplySuccess_);

  w.family("hostform_watch_actions_total", "counter", "Actions the watcher ran, by operation and outcome.");
  for (Op op : kOps)
    for (Outcome o : kOutcomes) {
      auto it = actions_.find({op, o});
      w.sample("hostform_watch_actions_total", it == actions_.end() ? 0 : it->second,
               "op=\"" + std::string(toString(op)) + "\",outcome=\"" + std::string(toString(o)) + "\"");
    }

  w.single("hostform_watch_drift_total", "counter",
           "Resources found changed on the host after their commit had been applied (self-healed unless --dry-run).",
           driftTotal_);
  w.single("hostform_watch_drifted_resources", "gauge", "Resources that had drifted at the last cycle.", driftLast_);
  w.single("hostform_watch_fetches_total", "counter", "Fetches of the branch attempted.", fetches_);
  w.single("hostform_watch_fetch_errors_total", "counter", "Fetches of the branch that failed.", fetchErrors_);
  w.single("hostform_watch_last_fetch_success_timestamp_seconds", "gauge",
           "When the branch was last fetched successfully, in Unix time; 0: not since start.", lastFetchSuccess_);
  w.single("hostform_watch_rejected_commits_total", "counter",
           "Branch tips not applied because their manifests are invalid.", rejected_);
  w.single("hostform_watch_plan_duration_seconds", "gauge",
           "How long the last plan took: reading the commit's manifests, validating, observing the host, planning.",
           planSeconds_);

  w.single("hostform_watch_suspended", "gauge",
           "1 while the watcher is suspended (the state directory's suspend flag): it plans but changes nothing.",
           suspended_);
  w.family("hostform_watch_notifications_total", "counter",
           "Notifications (one event to one --notify URL) delivered, or failed after their last attempt.");
  w.sample("hostform_watch_notifications_total", notificationsDelivered_, "outcome=\"delivered\"");
  w.sample("hostform_watch_notifications_total", notificationsFailed_, "outcome=\"failed\"");

  w.family("hostform_watch_commit_info", "gauge",
           "The commit the host is converged to (role target) and the last one applied in full (role applied).");
  if (!targetCommit_.empty())
    w.sample("hostform_watch_commit_info", 1, "role=\"target\",commit=\"" + label(targetCommit_) + "\"");
  if (!appliedCommit_.empty())
    w.sample("hostform_watch_commit_info", 1, "role=\"applied\",commit=\"" + label(appliedCommit_) + "\"");
  for (std::size_t i = 0; i < gauges_.size(); ++i) {
    const Gauge& g = gauges_[i];
    if (i == 0 || gauges_[i - 1].name != g.name) w.family(g.name, "gauge", g.help);
    std::string labels;
    for (const auto& [key, value] : g.labels) labels += (labels.empty() ? "" : ",") + key + "=\"" + label(value) + "\"";
    w.sample(g.name, g.value, labels);
  }
  return w.take();
}

}  // namespace hostform::watch
