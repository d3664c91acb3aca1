#pragma once
/// The watch module's commands (reconciler/module.h): `hostform watch`,
/// `suspend` and `resume`. The CLI parses the command line into WatchFlags and
/// calls these entries, so the binary needs none of the watcher's libraries
/// (libgit2, libmicrohttpd, gpgme, libcurl, libcrypto) until a run watches.

#include <filesystem>
#include <string>
#include <vector>

#include "reconciler/engine.h"
#include "reconciler/provider.h"
#include "reconciler/result.h"

namespace hostform::watch {

/// watch's own flags, before they are checked.
struct WatchFlags {
  std::string repo, branch = "main", path = ".", interval = "30s", listen;
  bool once = false;
  std::string sshKey, tokenEnv, tokenFile, webhookSecretFile;
  // --verify-signatures (signed commits)
  bool verifySignatures = false;
  std::string allowedSigners, openpgpKeys;
  std::vector<std::string> notify;  // issue 17: outgoing webhooks
  std::string notifySecretFile;
  // Events (docs/watch.md Events).
  bool noEvents = false;
  std::string lvmPoll;  ///< empty: 2s
};

/// The entry "watch": checks the flags (an error is printed, exit 1) and runs
/// the watcher (runWatch, watcher.h).
using WatchCommand = int(const WatchFlags& flags, const RunOptions& run, const ProviderOptions& providers,
                         const Console& console);
int watchCommand(const WatchFlags& flags, const RunOptions& run, const ProviderOptions& providers,
                 const Console& console);

/// The entries "suspend" and "resume" (suspend.h); resume ignores the reason.
using SuspendCommand = Result<std::string>(const std::filesystem::path& stateDir, const std::string& reason);

}  // namespace hostform::watch
