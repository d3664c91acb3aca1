#pragma once
/// Running a program from a test: argv, no shell, both streams captured.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hostform::testing {

struct ProcessResult {
  int code = -1;  ///< exit code; 128 + signal when killed
  std::string out, err;
};

/// Runs `program` (a path) with `args` and waits for it.
ProcessResult runProgram(const std::string& program, const std::vector<std::string>& args);

/// Environment changes for a child: a value sets the variable, nullopt unsets it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

/// Runs `program` on a new pseudo-terminal (stdin, stdout and stderr are the
/// terminal, 120 columns wide), as when a person runs it, with `env` applied
/// to this process's environment. `out` holds everything the terminal showed,
/// both streams interleaved, with the terminal's "\r\n" line ends; `err` is empty.
ProcessResult runOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const EnvChanges& env = {});

}  // namespace hostform::testing
