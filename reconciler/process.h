#pragma once
/// Running one external tool (lvm, blkid, qemu-img, ssh-keygen) with an argument
/// vector — never a shell — with stdin /dev/null (or a file), only fds 0–2 inherited, a deadline
/// after which the child is killed, and both output streams captured.

#include <spawn.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/result.h"

namespace hostform {

/// posix_spawn_file_actions_t with its destroy call on every path (runCommand's
/// children, and the lvm provider's long-lived shells).
struct SpawnFileActions {
  posix_spawn_file_actions_t fa;
  SpawnFileActions() { posix_spawn_file_actions_init(&fa); }
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&fa); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
};

struct CommandOutput {
  int exitCode = -1;  ///< the child's exit status; 128+N when killed by signal N
  std::string out;
  std::string err;
};

/// Shown the standard output written so far while the tool still runs, at
/// most about once a millisecond; returns true once it has what it wanted,
/// and is not called again. For a tool that prints its answer well before it
/// ends: lvm prints a fullreport and then spends up to 30 ms closing its
/// asynchronous I/O context, time in which the report can already be parsed.
/// Whatever it makes of the text, the caller must still judge the exit code.
using OutputWatch = std::function<bool(std::string_view out)>;

/// Runs argv[0] (looked up in $PATH, then /usr/sbin, /sbin, /usr/bin and
/// /bin) with the caller's environment, so settings such as LVM_SYSTEM_DIR
/// reach the tool. Fails only when the tool cannot be started or overruns
/// `timeout` (then it is killed with SIGKILL); a non-zero exit is a normal
/// CommandOutput for the caller to judge. The child's stdin is the file
/// `input` (/dev/null unless said otherwise). `watch`, if given, sees the
/// output as it grows (above).
Result<CommandOutput> runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                 const std::filesystem::path& input = "/dev/null", const OutputWatch& watch = {});

/// Where runCommand finds `tool`: its path, or empty when it is not installed.
std::string findTool(const std::string& tool);

/// "lvm vgcreate -s 4194304b vg0 /dev/sdb", for error messages and logs.
std::string showCommand(const std::vector<std::string>& argv);

}  // namespace hostform
