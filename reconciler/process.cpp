#include "reconciler/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "reconciler/handle.h"

extern char** environ;

namespace hostform {
namespace {

/// A started child that is killed and reaped if the caller returns early.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Waits for the child to end; returns its exit code (128+signal when killed).
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  void kill() { ::kill(pid_, SIGKILL); }

 private:
  pid_t pid_;
};

}  // namespace

/// lvm2, util-linux and qemu-utils tools live in /usr/sbin, /sbin and
/// /usr/bin, which a non-login environment (cron, systemd units with a
/// narrow PATH) may not all list.
std::string findTool(const std::string& tool) {
  if (tool.find('/') != std::string::npos) return tool;
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) {
      std::string candidate = path.substr(start, end - start) + "/" + tool;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return {};
}

std::string showCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

Result<CommandOutput> runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                 const std::filesystem::path& input, const OutputWatch& watch) {
  if (argv.empty()) return fail("Cannot run an empty command.");
  const std::string program = findTool(argv[0]);
  if (program.empty())
    return fail("Cannot run " + argv[0] + ": it is not installed (not found in $PATH, /usr/sbin or /sbin).");

  // The output goes to two anonymous memory files, not pipes: lvm writes its
  // JSON report in some 900 small writes, and through a pipe each would wake
  // this thread (4 ms of a 50 ms fullreport, measured). The files are read
  // once the tool has ended; a pidfd says when, within the deadline.
  UniqueFd outFile(::memfd_create("hostform-stdout", MFD_CLOEXEC));
  UniqueFd errFile(::memfd_create("hostform-stderr", MFD_CLOEXEC));
  if (outFile.get() < 0 || errFile.get() < 0)
    return fail("Cannot create a file for the output of " + argv[0] + ": " + std::string(std::strerror(errno)) + ".");

  SpawnFileActions actions;
  posix_spawn_file_actions_addopen(&actions.fa, 0, input.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.fa, outFile.get(), 1);
  posix_spawn_file_actions_adddup2(&actions.fa, errFile.get(), 2);
  // Whatever else this process has open (other threads' pipes, the state lock,
  // libvirt's socket) must not reach the tool: lvm complains about every
  // leaked descriptor.
  posix_spawn_file_actions_addclosefrom_np(&actions.fa, 3);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  args.push_back(const_cast<char*>(program.c_str()));
  for (std::size_t i = 1; i < argv.size(); ++i) args.push_back(const_cast<char*>(argv[i].c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  if (int rc = ::posix_spawn(&pid, program.c_str(), &actions.fa, nullptr, args.data(), environ); rc != 0)
    return fail("Cannot run " + program + ": " + std::string(std::strerror(rc)) + ".");
  Child child(pid);
  UniqueFd ended(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (ended.get() < 0)
    return fail("Cannot wait for " + program + ": " + std::string(std::strerror(errno)) + ".");

  CommandOutput result;
  // Appends what the tool wrote to `file` beyond what `sink` holds.
  auto readMore = [&](int file, std::string& sink) -> Result<void> {
    struct stat st{};
    if (::fstat(file, &st) != 0)
      return fail("Cannot read the output of " + program + ": " + std::string(std::strerror(errno)) + ".");
    const std::size_t had = sink.size();
    sink.resize(std::max(had, static_cast<std::size_t>(st.st_size)));
    std::size_t got = had;
    while (got < sink.size()) {
      const ssize_t n = ::pread(file, sink.data() + got, sink.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    sink.resize(got);
    return {};
  };

  bool watching = static_cast<bool>(watch);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child.kill();
      child.wait();
      return fail(showCommand(argv) + " did not finish within " + std::to_string(timeout.count()) +
                  " ms and was killed.");
    }
    pollfd fd{ended.get(), POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(watching ? std::min<long>(left.count(), 1) : left.count()));
    if (ready > 0) break;
    if (ready < 0 && errno != EINTR)
      return fail("Cannot wait for " + program + ": " + std::string(std::strerror(errno)) + ".");
    if (watching) {
      const std::size_t had = result.out.size();
      if (auto more = readMore(outFile.get(), result.out); !more) return hostform::unexpected(more.error());
      if (result.out.size() != had && watch(result.out)) watching = false;
    }
  }

  result.exitCode = child.wait();
  if (auto more = readMore(outFile.get(), result.out); !more) return hostform::unexpected(more.error());
  if (auto more = readMore(errFile.get(), result.err); !more) return hostform::unexpected(more.error());
  return result;
}

}  // namespace hostform
