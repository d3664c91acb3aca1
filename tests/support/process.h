#pragma once
/// Running a program from a test: argv, no shell, both streams captured.

#include <string>
#include <vector>

namespace hostform::testing {

struct ProcessResult {
  int code = -1;  ///< exit code; 128 + signal when killed
  std::string out, err;
};

/// Runs `program` (a path) with `args` and waits for it.
ProcessResult runProgram(const std::string& program, const std::vector<std::string>& args);

}  // namespace hostform::testing
