#pragma once
/// The git side of `watch` (docs/spec.md §3), and the only code that uses libgit2: a
/// bare clone under the state directory, fetched one branch at a time, and
/// manifests read from a commit's tree in the object database, never from a
/// working tree that a fetch could leave half-updated.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <git2/remote.h>
#include <git2/repository.h>

#include "reconciler/handle.h"
#include "reconciler/loader.h"
#include "reconciler/result.h"

namespace hostform::watch {

/// How to authenticate; never logged.
struct GitCredentials {
  std::filesystem::path sshKey;  ///< private key file (its ".pub" beside it is used when present); empty: ssh-agent
  std::string token;             ///< HTTPS password or access token; empty: none
};

/// A commit id: 40 lower-case hex digits.
using CommitId = std::string;

/// `url` without the password of its user-info (https://user:secret@host/…
/// becomes https://user@host/…), fit for logs, metrics and the state file.
std::string redactUrl(std::string_view url);

/// A local path given as --repo (no scheme, not scp-like `host:path`) made
/// absolute, so the clone still finds it whatever the working directory; any
/// other URL unchanged.
std::string normalizeRepoUrl(std::string_view url);

/// Whether `branch` is a valid branch name (refs/heads/<branch> is a valid ref).
bool isValidBranchName(const std::string& branch);

/// A commit's signature (its "gpgsig" header, armored) and the bytes it signs:
/// the commit object without that header, as git verifies it.
struct CommitSignature {
  std::string signature;
  std::string payload;
};

class GitSource {
 public:
  /// Opens the bare repository at `clonePath`, creating it when missing. The
  /// URL and credentials stay in memory: nothing secret is written to its
  /// config.
  static Result<GitSource> open(std::filesystem::path clonePath, std::string url, std::string branch,
                                GitCredentials credentials);

  GitSource(GitSource&&) noexcept;
  GitSource& operator=(GitSource&&) noexcept;
  GitSource(const GitSource&) = delete;
  GitSource& operator=(const GitSource&) = delete;
  ~GitSource();

  /// Fetches the branch (force: a rewritten branch replaces the old tip) and
  /// returns its tip on the remote. `cancelled` is polled during the transfer;
  /// true aborts it. Errors never contain the credentials.
  Result<CommitId> fetch(const std::function<bool()>& cancelled);

  /// The tip as last fetched (refs/remotes/origin/<branch> in the clone).
  std::optional<CommitId> lastFetched() const;
  /// Whether the clone has `commit`.
  bool hasCommit(const CommitId& commit) const;
  /// Whether `ancestor` is in the history of `descendant` (false when either is unknown).
  bool descends(const CommitId& descendant, const CommitId& ancestor) const;
  /// The first line of the commit message; empty when unknown.
  std::string subject(const CommitId& commit) const;

  /// The signature of `commit`; nullopt when it is not signed.
  Result<std::optional<CommitSignature>> signature(const CommitId& commit) const;

  /// The *.yaml / *.yml files at or below `dir` ("" or "." for the root; a
  /// single manifest file works too) in `commit`'s tree, sorted as
  /// loadManifests() sorts a directory, named by their repository path.
  /// Symbolic links and submodules are skipped and named in `skipped`.
  Result<std::vector<ManifestText>> readManifests(const CommitId& commit, const std::string& dir,
                                                  std::vector<std::string>& skipped) const;

  const std::string& displayUrl() const { return displayUrl_; }

 private:
  using RepoPtr = Handle<git_repository, git_repository_free>;
  using RemotePtr = Handle<git_remote, git_remote_free>;
  GitSource(RepoPtr repo, std::string url, std::string branch,
            GitCredentials credentials);
  /// Replaces the secrets of this source in a libgit2 message with "***".
  std::string scrub(std::string message) const;
  std::string trackingRef() const { return "refs/remotes/origin/" + branch_; }

  RepoPtr repo_;
  /// Made once and fetched through every cycle: libgit2 1.5 leaks pcre2 match
  /// data each time it makes a remote (its config lookups), about 20 KiB a
  /// fetch in a daemon that fetches every 30 s.
  RemotePtr remote_;
  std::string url_;
  std::string displayUrl_;
  std::string branch_;
  GitCredentials credentials_;
};

}  // namespace hostform::watch
