#pragma once
/// What `watch` remembers across restarts (docs/spec.md §3), in
/// `<stateDir>/watch-state.json`, replaced atomically after every cycle.
/// docs/watch.md shows the format; every field is always present (null when
/// there is nothing to say), so tools can read it without guessing.

#include <cstddef>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "reconciler/result.h"
#include "reconciler/watch/suspend.h"

namespace hostform::watch {

/// One cycle, as it went.
struct RunRecord {
  std::string at;        ///< when it ended, RFC 3339 UTC
  std::string trigger;   ///< startup | interval | webhook | signal
  std::string commit;    ///< the commit planned against; empty: none (nothing valid yet)
  std::string result;    ///< applied | converged | planned (dry-run) | refused | partial | error
  int exitCode = 0;      ///< as `apply` would have exited
  bool dryRun = false;   ///< --dry-run, or the watcher was suspended: nothing was changed
  std::size_t create = 0, update = 0, replace = 0, remove = 0, orphan = 0;  ///< the plan
  std::size_t done = 0, failed = 0, skipped = 0;                            ///< the actions run
  std::vector<std::string> errors;  ///< what the cycle reported as errors, one line each
};

/// A run as the state file's `lastRun` and `history` show it (docs/watch.md);
/// notifications carry the same fields.
nlohmann::ordered_json runJson(const RunRecord& r);

struct WatchState {
  std::string repo, branch, path;  ///< what this state is about (the URL without secrets)
  std::string lastFetchAt;         ///< last fetch attempt; empty: never
  std::string lastFetchError;      ///< its error; empty: it succeeded
  std::string lastSeenCommit;      ///< the branch tip at the last successful fetch
  /// The newest commit whose manifests were valid: what the host is converged
  /// to, kept while newer commits are rejected.
  std::string targetCommit;
  std::string rejectedCommit;      ///< the tip, when its manifests are invalid; empty otherwise
  std::vector<std::string> rejectedErrors;
  std::string lastAppliedCommit;   ///< the last commit an apply fully converged the host to
  std::string lastAppliedAt;       ///< when that apply ran (not when it was last found converged)
  /// The suspend flag as the last cycle read it (`"suspended"`, null when none);
  /// `who` is not recorded here.
  std::optional<Suspension> suspended;
  std::optional<RunRecord> lastRun;
  /// The last kHistory runs, newest first: history[0] is lastRun. A file
  /// written before history was kept loads with [lastRun].
  std::vector<RunRecord> history;
};

/// How many runs `history` keeps, as Flux keeps its last ten.
inline constexpr std::size_t kHistory = 10;

/// Records `run` as lastRun and at the head of the history, dropping the oldest past kHistory.
void recordRun(WatchState& state, RunRecord run);

/// The file's contents, keys in the documented order.
nlohmann::ordered_json toJson(const WatchState& state);

/// Reads `file`; nullopt when it does not exist. A corrupt file is an error
/// naming it.
Result<std::optional<WatchState>> loadWatchState(const std::filesystem::path& file);

/// Replaces `file` atomically (temporary file, fsync, rename, fsync of the directory).
Result<void> saveWatchState(const std::filesystem::path& file, const WatchState& state);

/// Now, as RFC 3339 UTC with seconds: "2024-05-01T12:00:00Z".
std::string nowRfc3339();
/// `t` as RFC 3339 UTC with seconds.
std::string rfc3339(std::time_t t);

}  // namespace hostform::watch
