#include "providers/lvm/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

extern char** environ;

namespace hostform::lvm {

std::string failureText(const std::string& stderrText) {
  static constexpr std::string_view kNoise[] = {
      "WARNING: Activation disabled",
      "WARNING: This metadata update is NOT backed up",
      "WARNING: Skipping zeroing and wipping",
      "not zeroed",
      "File descriptor",
  };
  std::string out;
  std::size_t start = 0;
  while (start < stderrText.size()) {
    std::size_t end = stderrText.find('\n', start);
    if (end == std::string::npos) end = stderrText.size();
    std::string line = stderrText.substr(start, end - start);
    start = end + 1;
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    bool noise = false;
    for (std::string_view n : kNoise) noise = noise || line.find(n) != std::string::npos;
    if (!noise) out += (out.empty() ? "" : "; ") + line;
  }
  return out;
}

Result<std::string> runChecked(Commands& commands, const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout, const OutputWatch& watch) {
  auto run = watch ? commands.runWatched(argv, timeout, watch) : commands.run(argv, timeout);
  if (!run) return hostform::unexpected(run.error());
  if (run->exitCode != 0) {
    std::string why = failureText(run->err);
    if (why.empty()) why = "it printed no reason";
    return fail(showCommand(argv) + " failed with exit code " + std::to_string(run->exitCode) + ": " + why +
                (why.ends_with('.') ? "" : "."));
  }
  return std::move(run->out);
}

}  // namespace hostform::lvm

// ---- the lvm shell ------------------------------------------------------------

namespace hostform::lvm {
namespace {

/// lvm's shell splits with isspace (tools/lvm.c, lvm_split).
bool isShellSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }


std::string errnoText() { return std::strerror(errno); }

/// The environment of the shell: ours (LVM_SYSTEM_DIR and the like reach
/// lvm, as with runCommand), with the report fd and the command profile set,
/// and without HOME, so that the shell keeps no ~/.lvm_history.
std::vector<std::string> shellEnvironment(const std::string& profile, int reportFd) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    if (entry.starts_with("LVM_REPORT_FD=") || entry.starts_with("LVM_COMMAND_PROFILE=") || entry.starts_with("HOME="))
      continue;
    env.emplace_back(entry);
  }
  env.push_back("LVM_REPORT_FD=" + std::to_string(reportFd));
  env.push_back("LVM_COMMAND_PROFILE=" + profile);
  return env;
}

}  // namespace

std::size_t documentEnd(std::string_view text) {
  int depth = 0;
  bool inString = false, escaped = false, started = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = true;
    else if (c == '{' || c == '[') { ++depth; started = true; }
    else if (c == '}' || c == ']') {
      if (--depth == 0 && started) return i + 1;
    }
  }
  return std::string::npos;
}

std::optional<std::string> shellLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (arg.find_first_of("\n\r", 0) != std::string::npos || arg.find('\0') != std::string::npos) return std::nullopt;
    // Quotes are quoted wherever they are, though lvm looks for them only at a word's start.
    const bool plain = !arg.empty() && arg.front() != '#' && arg.find_first_of("\"'") == std::string::npos &&
                       std::none_of(arg.begin(), arg.end(), isShellSpace);
    if (!line.empty()) line += ' ';
    if (plain) line += arg;
    // Quoted: lvm reads up to the same quote, so the argument must not hold it.
    else if (arg.find('"') == std::string::npos) line += '"' + arg + '"';
    else if (arg.find('\'') == std::string::npos) line += '\'' + arg + '\'';
    else return std::nullopt;
  }
  return line;
}

Result<CommandOutput> shellOutcome(const std::string& document) {
  auto doc = nlohmann::json::parse(document, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("the lvm shell wrote a report that is not JSON.");
  CommandOutput result;
  std::optional<int> code;
  std::string errors, warnings;
  for (const auto& entry : doc.value("log", nlohmann::json::array())) {
    if (!entry.is_object()) continue;
    const std::string type = entry.value("log_type", "");
    const std::string message = entry.value("log_message", "");
    if (type == "error") errors += "  " + message + "\n";
    if (type == "error" || type == "warn") warnings += "  " + message + "\n";
    if (type == "status" && entry.value("log_context", "") == "shell" && entry.value("log_object_type", "") == "cmd")
      code = std::atoi(entry.value("log_ret_code", "0").c_str());
  }
  if (!code) return fail("the lvm shell's report carries no return code for the command.");
  // lvm exits 0 for ECMD_PROCESSED (1) and with the code itself otherwise.
  result.exitCode = *code == 1 ? 0 : *code;
  result.err = warnings;
  result.out = document;
  return result;
}

Result<std::unique_ptr<LvmShell>> LvmShell::start(const std::string& profile, std::chrono::milliseconds timeout) {
  const std::string program = findTool("lvm");
  if (program.empty()) return fail("Cannot run lvm: it is not installed (not found in $PATH, /usr/sbin or /sbin).");
  int in[2], out[2], err[2], report[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
    return fail("Cannot create a socket pair: " + errnoText() + ".");
  UniqueFd inChild(in[0]);
  std::unique_ptr<LvmShell> shell(new LvmShell());
  shell->in_.reset(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return fail("Cannot create a pipe: " + errnoText() + ".");
  UniqueFd outChild(out[1]);
  shell->out_.reset(out[0]);
  if (::pipe2(err, O_CLOEXEC) != 0) return fail("Cannot create a pipe: " + errnoText() + ".");
  UniqueFd errChild(err[1]);
  shell->err_.reset(err[0]);
  if (::pipe2(report, O_CLOEXEC) != 0) return fail("Cannot create a pipe: " + errnoText() + ".");
  shell->report_.reset(report[0]);
  // Above fd 3, so that the dup2 onto 3 below is never a dup onto itself.
  UniqueFd reportChild(::fcntl(report[1], F_DUPFD_CLOEXEC, 10));
  ::close(report[1]);
  if (!reportChild) return fail("Cannot duplicate a pipe: " + errnoText() + ".");

  SpawnFileActions actions;
  posix_spawn_file_actions_adddup2(&actions.fa, inChild.get(), 0);
  posix_spawn_file_actions_adddup2(&actions.fa, outChild.get(), 1);
  posix_spawn_file_actions_adddup2(&actions.fa, errChild.get(), 2);
  posix_spawn_file_actions_adddup2(&actions.fa, reportChild.get(), 3);
  // lvm complains about every other inherited descriptor (it knows its report fd).
  posix_spawn_file_actions_addclosefrom_np(&actions.fa, 4);
  std::vector<std::string> env = shellEnvironment(profile, 3);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* args[] = {const_cast<char*>(program.c_str()), nullptr};
  if (int rc = ::posix_spawn(&shell->pid_, program.c_str(), &actions.fa, nullptr, args, envp.data()); rc != 0) {
    shell->pid_ = -1;
    return fail("Cannot run " + program + ": " + std::string(std::strerror(rc)) + ".");
  }
  // Only the shell holds the other ends now: its end is seen as end of file.
  inChild.reset();
  outChild.reset();
  errChild.reset();
  reportChild.reset();
  for (const UniqueFd* fd : {&shell->out_, &shell->err_, &shell->report_})
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
  // The shell must answer a harmless command with its JSON log: otherwise
  // (an lvm that ignores the profile, or ends) commands must not be sent to it.
  auto hello = shell->run({"lvm", "version"}, timeout);
  if (!hello) return fail("the lvm shell did not start: " + hello.error().message);
  if (hello->exitCode != 0) return fail("the lvm shell did not start: `version` failed with exit code " +
                                        std::to_string(hello->exitCode) + ".");
  return shell;
}

LvmShell::~LvmShell() {
  if (pid_ <= 0) return;
  // End of input ends the shell; one that lingers is killed.
  in_.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR)) {
      pid_ = -1;
      return;
    }
    ::usleep(1000);
  }
  kill();
}

void LvmShell::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Result<std::string> LvmShell::exchange(const std::string& line, const std::string& shown,
                                       std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return fail(shown + " could not be run: its lvm shell has ended.");
  stderr_.clear();
  const std::string input = line + "\n";
  std::size_t sent = 0;
  while (sent < input.size()) {
    const ssize_t n = ::send(in_.get(), input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ended(shown);  // EPIPE: the shell is gone
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string discard;
  char buffer[65536];
  for (;;) {
    if (const std::size_t end = documentEnd(pending_); end != std::string::npos) {
      std::string document = pending_.substr(0, end);
      pending_.erase(0, end);
      return document;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill();
      return fail(shown + " did not finish within " + std::to_string(timeout.count()) + " ms and was killed.");
    }
    pollfd fds[3] = {{report_.get(), POLLIN, 0}, {out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}};
    std::string* sinks[3] = {&pending_, &discard, &stderr_};
    const int ready = ::poll(fds, 3, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return fail("Cannot wait for the lvm shell: " + errnoText() + ".");
    }
    bool closed = false;
    for (int i = 0; i < 3; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) sinks[i]->append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || (errno != EINTR && errno != EAGAIN)) closed = true;
    }
    discard.clear();
    if (closed) {
      // A document that arrived with the end of the shell still counts.
      if (const std::size_t end = documentEnd(pending_); end != std::string::npos) {
        kill();
        return pending_.substr(0, end);
      }
      return ended(shown);
    }
  }
}

Result<std::string> LvmShell::ended(const std::string& shown) {
  kill();
  // Reaped: what it left on stderr is all there is, up to end of file.
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(err_.get(), buffer, sizeof buffer);
    if (n > 0) stderr_.append(buffer, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  const std::string why = failureText(stderr_);
  return fail(shown + " could not finish: its lvm shell ended" + (why.empty() ? "" : " (" + why + ")") + ".");
}

Result<CommandOutput> LvmShell::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  const std::string shown = showCommand(argv);
  auto line = argv.size() >= 2 && argv[0] == "lvm" ? shellLine({argv.begin() + 1, argv.end()}) : std::nullopt;
  if (!line) return fail(shown + " cannot be written as one line of the lvm shell.");
  auto document = exchange(*line, shown, timeout);
  if (!document) return hostform::unexpected(document.error());
  auto outcome = shellOutcome(*document);
  if (!outcome) return fail(shown + ": " + outcome.error().message);
  // What lvm printed on stderr outside its log (it logs errors there only
  // before the log is set up) is kept when the log has no reason.
  if (outcome->exitCode != 0 && failureText(outcome->err).empty()) outcome->err += stderr_;
  return outcome;
}

Result<CommandOutput> ShellCommands::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (profile_.empty() || argv.size() < 2 || argv[0] != "lvm" || !shellLine({argv.begin() + 1, argv.end()}))
    return fallback_.run(argv, timeout);
  std::lock_guard lock(mutex_);
  if (!shell_ && !gaveUp_) {
    auto started = LvmShell::start(profile_, timeout);
    if (started) shell_ = std::move(*started);
    else gaveUp_ = true;
  }
  if (!shell_) return fallback_.run(argv, timeout);
  auto result = shell_->run(argv, timeout);
  if (!shell_->alive()) shell_.reset();
  return result;
}

}  // namespace hostform::lvm
