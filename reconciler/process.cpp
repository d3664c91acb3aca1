#include "reconciler/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
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
                                 const std::filesystem::path& input) {
  if (argv.empty()) return fail("Cannot run an empty command.");
  const std::string program = findTool(argv[0]);
  if (program.empty())
    return fail("Cannot run " + argv[0] + ": it is not installed (not found in $PATH, /usr/sbin or /sbin).");

  std::array<int, 2> outPipe{}, errPipe{};
  if (::pipe2(outPipe.data(), O_CLOEXEC) != 0) return fail("Cannot create a pipe: " + std::string(std::strerror(errno)) + ".");
  UniqueFd outRead(outPipe[0]), outWrite(outPipe[1]);
  if (::pipe2(errPipe.data(), O_CLOEXEC) != 0) return fail("Cannot create a pipe: " + std::string(std::strerror(errno)) + ".");
  UniqueFd errRead(errPipe[0]), errWrite(errPipe[1]);

  SpawnFileActions actions;
  posix_spawn_file_actions_addopen(&actions.fa, 0, input.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.fa, outWrite.get(), 1);
  posix_spawn_file_actions_adddup2(&actions.fa, errWrite.get(), 2);
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
  outWrite.reset();
  errWrite.reset();

  CommandOutput result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<pollfd, 2> fds{pollfd{outRead.get(), POLLIN, 0}, pollfd{errRead.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open = 2;
  char buffer[65536];
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child.kill();
      child.wait();
      return fail(showCommand(argv) + " did not finish within " + std::to_string(timeout.count()) +
                  " ms and was killed.");
    }
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return fail("Cannot wait for " + program + ": " + std::string(std::strerror(errno)) + ".");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i].fd = -1;  // end of stream; the UniqueFd closes it
        --open;
      }
    }
  }
  result.exitCode = child.wait();
  return result;
}

}  // namespace hostform
