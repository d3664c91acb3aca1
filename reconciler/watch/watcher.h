#pragma once
/// `hostform watch` (docs/spec.md §3): a loop of cycles, each one level-based (it
/// carries no event content, it reads everything it needs):
///
///   fetch the branch ─► verify the tip's signature ─► validate its manifests ─► plan ─► apply ─► record
///        │ (fails: backoff,         │ (--verify-signatures;  │ (invalid: rejected,
///        │  keep the last tip)      │  untrusted: rejected)  │  the last valid commit stays in force)
///
/// A cycle runs at start, every --interval (with jitter), on POST /hooks/git,
/// on SIGHUP, when the suspend flag comes or goes (suspend.h: a suspended
/// cycle plans as --dry-run does), and when a provider's event source reports
/// a change on the host (events.h; such a cycle does not fetch). Planning
/// reuses applyResources(), so a cycle prints and
/// exits exactly as `apply` does. docs/watch.md is the user's side of this.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/engine.h"
#include "reconciler/provider.h"
#include "reconciler/result.h"
#include "reconciler/watch/git_source.h"
#include "reconciler/watch/http_server.h"
#include "reconciler/watch/signatures.h"

namespace hostform::watch {

struct WatchOptions {
  std::string repo;             ///< URL or local path (normalizeRepoUrl)
  std::string branch = "main";
  std::string path;             ///< below the repository root, {hostname} already expanded; "" is the root
  std::chrono::milliseconds interval{30'000};
  bool once = false;            ///< one cycle, then exit with its code
  std::optional<ListenAddress> listen;
  GitCredentials credentials;
  std::string webhookSecret;    ///< empty: POST /hooks/git is not authenticated
  SignatureKeys signatures;     ///< --verify-signatures: the trusted keys; none: every commit is trusted
  std::vector<std::string> notify;  ///< --notify URLs (outgoing webhooks); empty: none
  std::string notifySecret;         ///< signs their bodies (required with notify)
  /// Event-driven drift (docs/watch.md Events): false with --no-events.
  bool events = true;
  std::chrono::milliseconds lvmPoll{2000};  ///< --lvm-poll
};

/// `pattern` (--path) with {hostname} replaced, as a clean repository path:
/// relative, no "..", no "./" or trailing "/"; "" for the root.
Result<std::string> resolveWatchPath(std::string_view pattern, std::string_view hostname);

/// Runs the watcher until SIGTERM / SIGINT (exit 0), or one cycle with
/// `watch.once` (apply's exit codes; 1 also when the fetch failed or the tip
/// was rejected). `run` carries the options shared with apply (state dir,
/// owner, prune, dry-run, data loss, jobs, lock timeout); `run.files` is unused.
int runWatch(const WatchOptions& watch, const RunOptions& run, const ProviderOptions& providers,
             const Console& console);

}  // namespace hostform::watch
