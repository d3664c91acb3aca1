#include "reconciler/watch/command.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "reconciler/module.h"
#include "reconciler/units.h"
#include "reconciler/watch/notifier.h"
#include "reconciler/watch/suspend.h"
#include "reconciler/watch/watcher.h"

namespace hostform::watch {
namespace {


/// A secret from a file, without the trailing newline editors add. Never
/// echoed: errors name the file only.
Result<std::string> readSecretFile(const std::string& flag, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(flag + " " + file + ": cannot read the file.");
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' '))
    secret.pop_back();
  if (secret.empty()) return fail(flag + " " + file + ": the file is empty.");
  return secret;
}

/// Checks watch's flags and turns them into WatchOptions; errors are whole sentences.
Result<WatchOptions> watchOptions(const WatchFlags& f) {
  WatchOptions w;
  if (f.repo.empty()) return fail("--repo: give the repository's URL or local path.");
  w.repo = normalizeRepoUrl(f.repo);
  if (!isValidBranchName(f.branch)) return fail("--branch " + f.branch + ": not a valid branch name.");
  w.branch = f.branch;
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) return fail("cannot read this host's name for {hostname}.");
  auto path = resolveWatchPath(f.path, host);
  if (!path) return hostform::unexpected(path.error());
  w.path = *path;
  auto interval = parseDuration(f.interval);
  if (!interval) return fail("--interval " + f.interval + ": " + interval.error().message);
  if (*interval < std::chrono::seconds(1)) return fail("--interval " + f.interval + ": the shortest interval is 1s.");
  w.interval = *interval;
  w.once = f.once;
  if (!f.listen.empty()) {
    if (f.once) return fail("--listen has nothing to serve with --once, which exits after one cycle.");
    auto address = parseListen(f.listen);
    if (!address) return hostform::unexpected(address.error());
    w.listen = *address;
  }
  if (!f.webhookSecretFile.empty()) {
    if (f.listen.empty()) return fail("--webhook-secret-file needs --listen, which serves the webhook.");
    auto secret = readSecretFile("--webhook-secret-file", f.webhookSecretFile);
    if (!secret) return hostform::unexpected(secret.error());
    w.webhookSecret = *secret;
  }
  // Notifications (issue 17): always signed, so a receiver can trust them.
  for (const std::string& url : f.notify)
    if (auto checked = checkNotifyUrl(url); !checked) return hostform::unexpected(checked.error());
  if (!f.notify.empty() && f.notifySecretFile.empty())
    return fail("--notify needs --notify-secret-file: notifications are signed, so the receiver can trust them.");
  if (f.notify.empty() && !f.notifySecretFile.empty())
    return fail("--notify-secret-file signs notifications: give the URLs to notify with --notify URL.");
  if (!f.notifySecretFile.empty()) {
    auto secret = readSecretFile("--notify-secret-file", f.notifySecretFile);
    if (!secret) return hostform::unexpected(secret.error());
    w.notifySecret = *secret;
    w.notify = f.notify;
  }
  if (!f.sshKey.empty()) {
    std::ifstream key(f.sshKey);
    if (!key) return fail("--ssh-key " + f.sshKey + ": cannot read the key file.");
    w.credentials.sshKey = std::filesystem::absolute(f.sshKey);
  }
  if (!f.tokenEnv.empty()) {
    const char* token = std::getenv(f.tokenEnv.c_str());
    if (!token || !*token) return fail("--token-env " + f.tokenEnv + ": the environment variable is not set or empty.");
    w.credentials.token = token;
  }
  if (!f.tokenFile.empty()) {
    auto token = readSecretFile("--token-file", f.tokenFile);
    if (!token) return hostform::unexpected(token.error());
    w.credentials.token = *token;
  }
  // --verify-signatures: the key files are read here, once (a restart changes whom the watcher trusts).
  if (!f.verifySignatures && (!f.allowedSigners.empty() || !f.openpgpKeys.empty()))
    return fail(std::string(f.allowedSigners.empty() ? "--openpgp-keys" : "--allowed-signers") +
                " is used only with --verify-signatures; add it, or drop the key file.");
  if (f.verifySignatures) {
    if (f.allowedSigners.empty() && f.openpgpKeys.empty())
      return fail("--verify-signatures needs the trusted keys: --allowed-signers FILE (SSH) and/or --openpgp-keys "
                  "FILE (OpenPGP).");
    const auto readKeys = [](const std::string& flag, const std::string& file) -> Result<std::string> {
      std::ifstream in(file, std::ios::binary);
      std::stringstream text;
      if (in) text << in.rdbuf();
      if (!in || std::filesystem::is_directory(file)) return fail(flag + " " + file + ": cannot read the file.");
      return text.str();
    };
    if (!f.allowedSigners.empty()) {
      auto text = readKeys("--allowed-signers", f.allowedSigners);
      if (!text) return hostform::unexpected(text.error());
      w.signatures.allowedSignersFile = f.allowedSigners;
      w.signatures.allowedSigners = *text;
    }
    if (!f.openpgpKeys.empty()) {
      auto text = readKeys("--openpgp-keys", f.openpgpKeys);
      if (!text) return hostform::unexpected(text.error());
      w.signatures.openpgpKeysFile = f.openpgpKeys;
      w.signatures.openpgpKeys = *text;
    }
  }
  // Events (docs/watch.md Events).
  w.events = !f.noEvents && !f.once;
  if (!f.lvmPoll.empty()) {
    if (f.noEvents) return fail("--lvm-poll is how events are read from lvm; it has no use with --no-events.");
    auto poll = parseDuration(f.lvmPoll);
    if (!poll) return fail("--lvm-poll " + f.lvmPoll + ": " + poll.error().message);
    if (*poll < std::chrono::milliseconds(100))
      return fail("--lvm-poll " + f.lvmPoll + ": the shortest poll is 100ms.");
    w.lvmPoll = *poll;
  }
  return w;
}

}  // namespace

int watchCommand(const WatchFlags& flags, const RunOptions& run, const ProviderOptions& providers,
                 const Console& console) {
  auto options = watchOptions(flags);
  if (!options) {
    std::cerr << "error: " << options.error().message << "\n";
    return kExitError;
  }
  return runWatch(*options, run, providers, console);
}

namespace {

Result<std::string> resumeCommand(const std::filesystem::path& stateDir, const std::string& /*reason*/) {
  return resume(stateDir);
}

}  // namespace

HOSTFORM_MODULE_ENTRY("watch", "watch", static_cast<WatchCommand*>(&watchCommand));
HOSTFORM_MODULE_ENTRY("watch", "suspend", static_cast<SuspendCommand*>(&suspend));
HOSTFORM_MODULE_ENTRY("watch", "resume", static_cast<SuspendCommand*>(&resumeCommand));

}  // namespace hostform::watch
