#pragma once
/// The LVM provider's session with its backend, the lvm2 tools: running one
/// external tool (lvm, blkid) with an argument vector — never a shell, stdin
/// /dev/null, only fds 0–2 inherited (lvm warns about any other), a deadline
/// after which the child is killed, both output streams captured — and the
/// Commands seam every lvm command of observe and apply goes through.

#include <chrono>
#include <string>
#include <vector>

#include "reconciler/result.h"

namespace hostform::lvm {

struct CommandOutput {
  int exitCode = -1;  ///< the child's exit status; 128+N when killed by signal N
  std::string out;
  std::string err;
};

/// Runs argv[0] (looked up in $PATH, then /usr/sbin and /sbin, where lvm2 and
/// util-linux install their tools) with the caller's environment, so settings
/// such as LVM_SYSTEM_DIR reach the tool. Fails only when the tool cannot be
/// started or overruns `timeout` (then it is killed with SIGKILL); a non-zero
/// exit is a normal CommandOutput for the caller to judge.
Result<CommandOutput> runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// Where the provider's lvm commands go: the host (HostCommands), or in tests
/// a recorder that answers for lvm, so the commands an apply runs, and their
/// order, are tested without root or lvm2.
class Commands {
 public:
  virtual ~Commands() = default;
  /// As runCommand.
  virtual Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) = 0;
};

/// The host's tools, through runCommand.
class HostCommands final : public Commands {
 public:
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override {
    return runCommand(argv, timeout);
  }
};

/// A command that must succeed, run through `commands`: its stdout, or an error
/// that names the command, its exit code and what the tool said on stderr.
Result<std::string> runChecked(Commands& commands, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout);

/// "lvm vgcreate -s 4194304b vg0 /dev/sdb", for error messages and logs.
std::string showCommand(const std::vector<std::string>& argv);

/// The tool's stderr without lvm's routine noise ("WARNING: Activation
/// disabled…", "This metadata update is NOT backed up"), trimmed, lines joined
/// with "; ". What is left is the reason a command failed.
std::string failureText(const std::string& stderrText);

}  // namespace hostform::lvm
