#pragma once
/// Running a program from a test: argv, no shell, both streams captured.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hostform::testing {

class TempDir;

struct ProcessResult {
  int code = -1;  ///< exit code; 128 + signal when killed
  std::string out, err;
};

/// Runs `program` (a path) with `args` and waits for it.
ProcessResult runProgram(const std::string& program, const std::vector<std::string>& args);

/// A program running while the test goes on (a watcher). Its streams go to
/// files that can be read at any time. The destructor kills it (SIGKILL) if
/// it is still running, so no test leaves one behind on any path.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::string& program, const std::vector<std::string>& args);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// False once it has exited.
  bool running();
  void signal(int signo);
  /// Waits for it to exit; after `deadline` kills it (the code then says so).
  ProcessResult wait(std::chrono::seconds deadline);
  /// What it has written so far.
  std::string out() const;
  std::string err() const;

 private:
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int status_ = -1;  ///< set once reaped
};

/// Environment changes for a child: a value sets the variable, nullopt unsets it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

/// Runs `program` on a new pseudo-terminal (stdin, stdout and stderr are the
/// terminal, 120 columns wide), as when a person runs it, with `env` applied
/// to this process's environment. `out` holds everything the terminal showed,
/// both streams interleaved, with the terminal's "\r\n" line ends; `err` is empty.
ProcessResult runOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const EnvChanges& env = {});

/// runOnTerminal() that types `answer` and Enter once the terminal has shown
/// `prompt`, as a person answering a question; if it never shows, nothing is typed.
ProcessResult runOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const EnvChanges& env, const std::string& prompt, const std::string& answer);

}  // namespace hostform::testing
