#pragma once
/// A real git repository for watch tests, made with the git CLI (the test's
/// own tool; hostform itself only uses libgit2): a bare "origin" the watcher
/// fetches from and a work tree the test commits in and pushes from.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hostform::watchtest {

enum class Push { Normal, Force, No };

class GitRepo {
 public:
  /// Makes `root`/origin.git (bare, branch main) and `root`/work.
  explicit GitRepo(std::string root);

  /// file:// URL of the bare repository.
  std::string url() const { return "file://" + bare_; }
  const std::string& barePath() const { return bare_; }

  /// Writes each file (nullopt: removes it) in the work tree, commits
  /// everything with `message`, pushes as told; returns the commit id.
  std::string commit(const std::string& message, const std::map<std::string, std::optional<std::string>>& files,
                     Push push = Push::Normal);
  /// Signs the next commits (git commit -S) with these settings, e.g.
  /// {"gpg.format=ssh", "user.signingkey=KEYFILE"}; empty: unsigned.
  void signWith(std::vector<std::string> config) { signWith_ = std::move(config); }
  /// Makes a commit object from `commit`'s with its message replaced (its
  /// signature header kept, so it no longer matches) and pushes it as main.
  std::string tamper(const std::string& commit, const std::string& message);
  /// Moves the work tree's branch to `commit` (git reset --hard), not pushed.
  void resetTo(const std::string& commit);

 private:
  /// Runs git in the work tree; a failure fails the current test.
  std::string git(const std::vector<std::string>& args);

  std::string root_, bare_, work_;
  std::vector<std::string> signWith_;
};

}  // namespace hostform::watchtest
