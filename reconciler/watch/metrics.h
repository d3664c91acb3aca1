#pragma once
/// The watcher's numbers, served as Prometheus text (exposition format 0.0.4)
/// on /metrics. Names and meanings: docs/watch.md. Thread-safe: the loop
/// writes, the HTTP server reads.

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "reconciler/executor.h"
#include "reconciler/plan.h"
#include "reconciler/provider.h"

namespace hostform::watch {

class Metrics {
 public:
  /// `repo` without secrets; the three go into hostform_watch_info.
  Metrics(std::string repo, std::string branch, std::string path);

  void cycleStarted(std::string_view trigger);
  /// `n` changes reported by an event source ("netlink", "libvirt", "lvm").
  void events(std::string_view source, std::size_t n);
  /// `unixTime` of the attempt.
  void fetched(bool ok, double unixTime);
  void rejectedCommit();
  void action(Op op, Outcome outcome);
  /// Once per plan: the resources found changed on the host since their
  /// commit was applied (0 when none, or when the plan is for a new commit).
  void drift(std::size_t resources);
  /// One cycle's end: its result (RunRecord::result), apply's exit code, the
  /// seconds loading + observing + planning took (negative: no plan was made),
  /// and whether it ran actions (then it is the last apply).
  void cycleFinished(const std::string& result, int exitCode, double planSeconds, bool applied, double unixTime);
  /// The commits in force, for hostform_watch_commit_info; empty: none.
  void commits(const std::string& target, const std::string& applied);
  /// The providers' gauges as of the last plan's observe (a thin pool's fill):
  /// replaces the previous set.
  void gauges(std::vector<Gauge> samples);
  /// Whether the last cycle found the watcher suspended (hostform_watch_suspended).
  void suspended(bool on);
  /// One notification to one URL ended: delivered, or failed for good.
  void notification(bool delivered);
  /// Restores the last successful apply's time from the state file after a restart.
  void restoreLastApply(double unixTime);

  /// The exposition text.
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::string repo_, branch_, path_;
  std::map<std::string, double, std::less<>> cycles_;
  std::map<std::string, double, std::less<>> events_;
  double fetches_ = 0, fetchErrors_ = 0, lastFetchSuccess_ = 0;
  double rejected_ = 0;
  std::map<std::pair<Op, Outcome>, double> actions_;
  double driftTotal_ = 0, driftLast_ = 0;
  std::string lastResult_;
  int lastExitCode_ = 0;
  double planSeconds_ = 0, lastCycle_ = 0, lastApply_ = 0, lastApplySuccess_ = 0;
  std::string targetCommit_, appliedCommit_;
  std::vector<Gauge> gauges_;
  double suspended_ = 0, notificationsDelivered_ = 0, notificationsFailed_ = 0;
};

/// The result names RunRecord::result takes, in the order /metrics lists them.
inline constexpr std::string_view kResults[] = {"applied", "converged", "planned", "refused", "partial", "error"};

}  // namespace hostform::watch
