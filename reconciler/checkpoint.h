#pragma once
/// The network checkpoint (docs/spec.md §4 Checkpoint and rollback): before an
/// apply changes objects of a provider that is checkpointed()
/// (Provider::checkpointed: the netlink provider, whose objects carry the
/// host's connectivity), hostform writes `<stateDir>/checkpoint.json`
/// atomically:
///
///   {"version": 1, "id": "20261207T011500Z-4242", "owner": "default",
///    "pid": 4242, "started": "2026-12-07T01:15:00Z",
///    "phase": "applying" | "waiting" | "rolling-back",
///    "deadline": "2026-12-07T01:17:00Z" | null,
///    "touched": [{"id": "Bridge/br0", "owner": "default"}],
///    "creates": ["Bridge/br1"],
///    "before": "<manifests of the touched objects as they were, export's writer>",
///    "applied": "<the whole apply's manifests, kept as last-applied once it is kept>"}
///
/// While the apply runs, and during a confirm window, the process that wrote
/// it holds the apply lock (`<stateDir>/lock`); so whoever takes that lock and
/// finds a checkpoint knows its writer is gone. `hostform confirm` writes
/// `<stateDir>/checkpoint.confirmed` (the id) to keep the changes; the
/// decision between a confirm and a rollback is taken under
/// `<stateDir>/checkpoint.lock`, so exactly one of them wins.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/engine.h"
#include "reconciler/lock.h"
#include "reconciler/result.h"

namespace hostform {

struct Checkpoint {
  std::string id;       ///< unique per apply: start time and pid
  std::string owner;
  int pid = 0;
  std::chrono::system_clock::time_point started;
  std::string phase = "applying";  ///< "applying", "waiting" (confirm window), "rolling-back"
  std::optional<std::chrono::system_clock::time_point> deadline;
  struct Touched {
    ResourceId id;
    std::string owner;  ///< its owner before the apply (empty: unowned)
  };
  std::vector<Touched> touched;     ///< objects the apply updates, replaces or deletes
  std::vector<ResourceId> creates;  ///< objects the apply creates
  std::string before;               ///< manifests of `touched` as observed before the apply
  std::string applied;              ///< the apply's manifests (all kinds), for last-applied
};

std::filesystem::path checkpointFile(const std::filesystem::path& stateDir);
std::filesystem::path confirmFile(const std::filesystem::path& stateDir);

/// JSON text of a checkpoint, and back; parse errors are whole sentences naming `file`.
std::string checkpointJson(const Checkpoint& cp);
Result<Checkpoint> parseCheckpoint(const std::string& text, const std::filesystem::path& file);

/// Reads `<stateDir>/checkpoint.json`; nullopt when there is none.
Result<std::optional<Checkpoint>> readCheckpoint(const std::filesystem::path& stateDir);
/// Writes it atomically (reconciler/atomic_file).
Result<void> writeCheckpoint(const std::filesystem::path& stateDir, const Checkpoint& cp);
/// Removes the checkpoint and its confirmation, directory synced.
Result<void> removeCheckpoint(const std::filesystem::path& stateDir);

/// "Bridge/br0" or "LogicalVolume/vg0/data" back into an id; nullopt when the kind is unknown.
std::optional<ResourceId> parseResourceId(const std::string& text);

/// The checkpoint of a plan: what its actions of checkpointed providers touch
/// (Update/Replace/Delete: their live state and owner; Create: the id). nullopt
/// when the plan changes no object of a checkpointed provider.
std::optional<Checkpoint> checkpointOf(const Plan& plan, const std::string& owner);

/// `<stateDir>/last-applied/<owner>.yaml`: the manifests of the owner's last
/// apply that was kept (docs/spec.md §2 boot).
std::filesystem::path lastAppliedFile(const std::filesystem::path& stateDir, const std::string& owner);
Result<void> writeLastApplied(const std::filesystem::path& stateDir, const std::string& owner,
                              const std::string& manifests);

/// Restores what `cp` recorded through the normal plan/apply path: the
/// touched objects get their recorded spec back (recreated, with the
/// checkpoint's owner, when deleted), the created ones are deleted. Prints
/// the rollback's plan and one line per action on console.out. Returns the
/// number of actions done; an error when it could not plan, or an action failed.
Result<std::size_t> rollBack(const Checkpoint& cp, const std::filesystem::path& stateDir, ProviderSet& providers,
                             const Console& console);

/// The checkpoint's decision lock, `<stateDir>/checkpoint.lock`, waited for a few seconds.
Result<StateLock> lockDecision(const std::filesystem::path& stateDir);

/// Called with the apply lock held (apply, watch, boot): a checkpoint left by
/// a run that is gone is rolled back first (or, when it was confirmed, kept:
/// its manifests become last-applied), saying so on console.err. An error
/// when the rollback failed: the caller stops, changing nothing more.
Result<void> recoverCheckpoint(const std::filesystem::path& stateDir, ProviderSet& providers, const Console& console);

/// `hostform confirm`: keeps the changes of the apply waiting in its confirm
/// window, or of an orphaned checkpoint. Exit 0 when confirmed, 1 when there
/// is nothing to confirm or the rollback has begun.
int runConfirm(const std::filesystem::path& stateDir, const Console& console);

/// `hostform boot`: rolls back a stale checkpoint, then applies, for each
/// `<stateDir>/last-applied/<owner>.yaml`, its resources of the kinds served by
/// checkpointed providers only (the network, which the kernel forgets at
/// reboot), without --prune. Exit codes as apply's; 0 when nothing is kept.
int runBoot(const RunOptions& options, ProviderSet& providers, const Console& console);

}  // namespace hostform
