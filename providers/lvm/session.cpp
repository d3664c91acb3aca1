#include "providers/lvm/session.h"

#include <string>
#include <string_view>

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
                               std::chrono::milliseconds timeout) {
  auto run = commands.run(argv, timeout);
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
