#pragma once
/// spdlog set up for the CLI: diagnostics and plans go to stdout/stderr as
/// text; logs go to stderr, as text or as one JSON object per line.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>
#include <spdlog/common.h>

#include "reconciler/result.h"

namespace hostform {

enum class LogFormat { Text, Json };

/// `level`: trace|debug|info|warn|error.
Result<void> setupLogging(const std::string& level, LogFormat format);

/// Logs `message` with structured fields (an object: {"commit": "…"}). With
/// LogFormat::Json they are keys of the line's object next to ts, level and
/// msg; as text they follow the message as ` key=value`.
void logWith(spdlog::level::level_enum level, std::string_view message, const nlohmann::json& fields);

}  // namespace hostform
