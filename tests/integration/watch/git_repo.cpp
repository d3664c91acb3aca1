#include "tests/integration/watch/git_repo.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace hostform::watchtest {
namespace {

const char* kGit = "/usr/bin/git";

/// Settings that make the test independent of the machine's git config.
const std::vector<std::string> kConfig{"-c", "user.name=hostform-test", "-c", "user.email=test@hostform.invalid",
                                       "-c", "commit.gpgsign=false",    "-c", "init.defaultBranch=main"};

std::string run(const std::vector<std::string>& args) {
  std::vector<std::string> all = kConfig;
  all.insert(all.end(), args.begin(), args.end());
  testing::ProcessResult r = testing::runProgram(kGit, all);
  std::string line;
  for (const auto& a : args) line += " " + a;
  EXPECT_EQ(r.code, 0) << "git" << line << ": " << r.err;
  return r.out;
}

}  // namespace

GitRepo::GitRepo(std::string root) : root_(std::move(root)), bare_(root_ + "/origin.git"), work_(root_ + "/work") {
  std::filesystem::create_directories(root_);
  run({"init", "-q", "--bare", bare_});
  run({"init", "-q", work_});
  git({"remote", "add", "origin", bare_});
}

std::string GitRepo::git(const std::vector<std::string>& args) {
  std::vector<std::string> all{"-C", work_};
  all.insert(all.end(), args.begin(), args.end());
  return run(all);
}

std::string GitRepo::commit(const std::string& message,
                            const std::map<std::string, std::optional<std::string>>& files, Push push) {
  for (const auto& [path, text] : files) {
    const std::filesystem::path full = std::filesystem::path(work_) / path;
    if (!text) {
      std::filesystem::remove(full);
      continue;
    }
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full) << *text;
  }
  git({"add", "-A"});
  std::vector<std::string> commit;
  for (const std::string& setting : signWith_) commit.insert(commit.end(), {"-c", setting});
  commit.insert(commit.end(), {"commit", "-q", "--allow-empty", "-m", message});
  if (!signWith_.empty()) commit.push_back("-S");
  git(commit);
  if (push == Push::Normal) git({"push", "-q", "origin", "main"});
  if (push == Push::Force) git({"push", "-q", "--force", "origin", "main"});
  std::string id = git({"rev-parse", "HEAD"});
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

std::string GitRepo::tamper(const std::string& commit, const std::string& message) {
  std::string object = git({"cat-file", "commit", commit});
  const std::size_t body = object.find("\n\n");
  object = object.substr(0, body + 2) + message + "\n";
  const std::string file = root_ + "/tampered-commit";
  std::ofstream(file) << object;
  std::string id = git({"hash-object", "-t", "commit", "-w", file});
  while (!id.empty() && id.back() == '\n') id.pop_back();
  git({"reset", "-q", "--hard", id});
  git({"push", "-q", "--force", "origin", "main"});
  return id;
}

void GitRepo::resetTo(const std::string& commit) { git({"reset", "-q", "--hard", commit}); }

}  // namespace hostform::watchtest
