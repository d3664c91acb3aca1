#pragma once
/// The LVM provider's session with its backend, the lvm2 tools: the Commands
/// seam every lvm command of observe and apply goes through, over
/// reconciler/process.h's runner (an argument vector, never a system shell;
/// only fds 0–2 inherited, which lvm insists on; a deadline), and for apply
/// one long-lived `lvm` shell per volume group (LvmShell, ShellCommands).

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "reconciler/handle.h"
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
  /// As runCommand with an OutputWatch; by default `watch` sees the whole
  /// output once the command has ended (and succeeded).
  virtual Result<CommandOutput> runWatched(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                           const OutputWatch& watch) {
    auto out = run(argv, timeout);
    if (out && out->exitCode == 0) watch(out->out);
    return out;
  }
};

/// The host's tools, through runCommand.
class HostCommands final : public Commands {
 public:
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override {
    return runCommand(argv, timeout);
  }
  Result<CommandOutput> runWatched(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                   const OutputWatch& watch) override {
    return runCommand(argv, timeout, "/dev/null", watch);
  }
};

/// A command that must succeed, run through `commands`: its stdout, or an error
/// that names the command, its exit code and what the tool said on stderr.
Result<std::string> runChecked(Commands& commands, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout, const OutputWatch& watch = {});

/// The tool's stderr without lvm's routine noise ("WARNING: Activation
/// disabled…", "This metadata update is NOT backed up"), trimmed, lines joined
/// with "; ". What is left is the reason a command failed.
std::string failureText(const std::string& stderrText);

// ---- one long-lived lvm shell ---------------------------------------------
// lvm2's own D-Bus daemon (lvmdbusd) drives lvm the same way: `lvm` with no
// arguments reads one command per line on stdin; with the command profile
// below it writes, after each command, one JSON document on the descriptor
// named by LVM_REPORT_FD: the command's report (lvs …) and its log, whose last
// "shell"/"cmd" entry carries the command's return code. Errors and warnings
// are in that log, not on stderr.

/// The name (without ".profile") of the command profile the shell runs with,
/// and its text: JSON reports, the command log on, every message in it.
inline constexpr const char* kShellProfileName = "hostform-shell";
inline constexpr const char* kShellProfileText =
    "# Written by hostform: the settings of its lvm shell sessions (LVM_COMMAND_PROFILE).\n"
    "report {\n\toutput_format = \"json\"\n\tcompact_output = 0\n}\n"
    "log {\n\treport_command_log = 1\n\tcommand_log_selection = \"all\"\n}\n";

/// The end (one past its closing brace) of the first complete JSON object or
/// array in `text`, or npos while it is incomplete: where one document of the
/// shell's report ends, and whether a fullreport still being written is whole.
std::size_t documentEnd(std::string_view text);

/// `argv` (without the leading "lvm") as one line of lvm's shell, which splits
/// on whitespace and takes a word that starts with a quote up to the same
/// quote, with no escapes. Null when an argument cannot be written so that it
/// stays one argument (a line break, or both kinds of quote):
/// such a command must run as its own process, never as shell input.
std::optional<std::string> shellLine(const std::vector<std::string>& argv);

/// One command's outcome from the JSON document the shell wrote for it: the
/// exit code lvm would have exited with (0 for its log_ret_code 1, else that
/// code), its warnings and errors as lvm prints them on stderr ("  " + message
/// per line), and the document itself as stdout (its "report" is what the
/// command would have printed with --reportformat json).
Result<CommandOutput> shellOutcome(const std::string& document);

/// One `lvm` process in shell mode. Not copyable; one caller at a time. The
/// destructor ends the shell (end of input, then SIGKILL if it lingers).
class LvmShell {
 public:
  /// Starts `lvm` with LVM_COMMAND_PROFILE=`profile` (a profile in lvm's
  /// profile directory holding kShellProfileText) and LVM_REPORT_FD, and
  /// waits (up to `timeout`) for its answer to `version`. Fails when lvm is
  /// missing or the shell does not answer as expected.
  static Result<std::unique_ptr<LvmShell>> start(const std::string& profile, std::chrono::milliseconds timeout);
  ~LvmShell();
  LvmShell(const LvmShell&) = delete;
  LvmShell& operator=(const LvmShell&) = delete;

  /// As runCommand for `argv` ("lvm", "lvcreate", …), run by this shell.
  /// A command that overruns `timeout` is killed with the whole shell ("… did
  /// not finish within N ms and was killed."); a shell that ends mid-command
  /// fails that command. Either way the shell is then dead (alive() false).
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);
  bool alive() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  LvmShell() = default;
  /// Sends `line` and reads the next JSON document from the report fd.
  Result<std::string> exchange(const std::string& line, const std::string& shown, std::chrono::milliseconds timeout);
  void kill();
  /// Kills and reaps the shell, and fails `shown` with what it said on stderr.
  Result<std::string> ended(const std::string& shown);

  pid_t pid_ = -1;
  UniqueFd in_, out_, err_, report_;  ///< stdin (a socket: no SIGPIPE), stdout, stderr, LVM_REPORT_FD
  std::string pending_;  ///< report bytes after the last document
  std::string stderr_;   ///< what the shell printed on stderr during the current command
};

/// The lvm commands of one volume group through one LvmShell, started on the
/// first of them; everything else (mkfs, a command shellLine cannot write, or
/// any command once a shell could not be started) through `fallback`, one
/// process per command. A shell that died (killed at a deadline, or ended)
/// is replaced by a new one for the next command.
class ShellCommands final : public Commands {
 public:
  /// `profile` empty: no shell at all (lvm's profile directory could not be written).
  ShellCommands(Commands& fallback, std::string profile) : fallback_(fallback), profile_(std::move(profile)) {}
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override;
  /// Whether commands go to a shell (false once one could not be started).
  bool usesShell() const { return !profile_.empty() && !gaveUp_; }
  /// The shell's pid, or -1 (tests).
  pid_t shellPid() const { return shell_ ? shell_->pid() : -1; }

 private:
  Commands& fallback_;
  std::string profile_;
  bool gaveUp_ = false;
  std::unique_ptr<LvmShell> shell_;
  std::mutex mutex_;
};

}  // namespace hostform::lvm
