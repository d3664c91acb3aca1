#include "tests/support/process.h"

#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/support/manifests.h"

namespace hostform::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Starts `program` with its stdout and stderr going to `outFile` / `errFile`.
pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::string& outFile,
            const std::string& errFile) {
  const pid_t pid = fork();
  if (pid == 0) {
    // stdin is never the terminal the tests run from: apply would ask there.
    if (!freopen("/dev/null", "r", stdin) || !freopen(outFile.c_str(), "w", stdout) ||
        !freopen(errFile.c_str(), "w", stderr))
      _exit(127);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int exitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

ProcessResult runProgram(const std::string& program, const std::vector<std::string>& args) {
  // Files rather than pipes: nothing to pump while waiting, and no deadlock on
  // a child that writes a lot to both streams.
  TempDir dir;
  const std::string outFile = dir.path() + "/out", errFile = dir.path() + "/err";
  const pid_t pid = spawn(program, args, outFile, errFile);
  int status = 0;
  waitpid(pid, &status, 0);
  return {exitCode(status), slurp(outFile), slurp(errFile)};
}

BackgroundProcess::BackgroundProcess(const std::string& program, const std::vector<std::string>& args)
    : dir_(std::make_unique<TempDir>()) {
  pid_ = spawn(program, args, dir_->path() + "/out", dir_->path() + "/err");
}

BackgroundProcess::~BackgroundProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

bool BackgroundProcess::running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

void BackgroundProcess::signal(int signo) {
  if (running()) ::kill(pid_, signo);
}

ProcessResult BackgroundProcess::wait(std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (running() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (running()) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  return {status_ == -1 ? -1 : exitCode(status_), out(), err()};
}

std::string BackgroundProcess::out() const { return slurp(dir_->path() + "/out"); }
std::string BackgroundProcess::err() const { return slurp(dir_->path() + "/err"); }

ProcessResult runOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const EnvChanges& env) {
  return runOnTerminal(program, args, env, {}, {});
}

ProcessResult runOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const EnvChanges& env, const std::string& prompt, const std::string& answer) {
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 120;
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) return {};
  if (pid == 0) {
    for (const auto& [name, value] : env) {
      if (value) setenv(name.c_str(), value->c_str(), 1);
      else unsetenv(name.c_str());
    }
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  // Read until the child's side is closed: EIO once it exited (Linux), or EOF.
  std::string shown, waitingFor = prompt;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n > 0) {
      shown.append(buffer, static_cast<std::size_t>(n));
      if (!waitingFor.empty() && shown.find(waitingFor) != std::string::npos) {
        const std::string typed = answer + "\n";
        (void)!write(master, typed.data(), typed.size());
        waitingFor.clear();
      }
    } else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), std::move(shown), {}};
}

}  // namespace hostform::testing
