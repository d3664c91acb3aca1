#pragma once
/// `hostform restore NAME` (docs/spec.md §2): puts a snapshot's source back to
/// the snapshot, through the provider that observed the snapshot
/// (Provider::planRestore, Provider::restore). An explicit command, never a
/// manifest field: its plan is shown, and it needs --allow-data-loss, since
/// it discards everything written to the source since the snapshot.

#include <string>

#include "reconciler/engine.h"

namespace hostform {

struct RestoreOptions {
  std::string name;                 ///< the Snapshot's metadata.name
  RunOptions run;                   ///< files (optional), owner, stateDir, dataLoss, dryRun, lockTimeout, output
};

/// Finds the snapshot (declared in run.files, else among the live snapshots
/// of every provider of Snapshot), prints its restore plan on console.out and
/// applies it. Exit codes as apply's: 1 when it is not found, ambiguous, or
/// cannot be restored (the provider's reasons); 3 without --allow-data-loss
/// (and with --dry-run when the flag is missing); 0 when restored or, with
/// --dry-run, when it would be; 4 when the provider failed.
int runRestore(const RestoreOptions& options, ProviderSet& providers, const Console& console);

}  // namespace hostform
