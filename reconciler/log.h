#pragma once
/// spdlog set up for the CLI: diagnostics and plans go to stdout/stderr as
/// text; logs go to stderr, as text or as one JSON object per line.

#include <string>

#include "reconciler/result.h"

namespace hostform {

enum class LogFormat { Text, Json };

/// `level`: trace|debug|info|warn|error.
Result<void> setupLogging(const std::string& level, LogFormat format);

}  // namespace hostform
