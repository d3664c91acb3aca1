#pragma once
/// The LVM provider's session with its backend, the lvm2 tools: the Commands
/// seam every lvm command of observe and apply goes through, over
/// reconciler/process.h's runner (an argument vector, never a shell; only fds
/// 0–2 inherited, which lvm insists on; a deadline).

#include <chrono>
#include <string>
#include <vector>

#include "reconciler/process.h"
#include "reconciler/result.h"

namespace hostform::lvm {

// The runner is the process-wide one; lvm's code and tests name it as lvm's.
using hostform::CommandOutput;
using hostform::runCommand;
using hostform::showCommand;

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

/// The tool's stderr without lvm's routine noise ("WARNING: Activation
/// disabled…", "This metadata update is NOT backed up"), trimmed, lines joined
/// with "; ". What is left is the reason a command failed.
std::string failureText(const std::string& stderrText);

}  // namespace hostform::lvm
