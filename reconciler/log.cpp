#include "reconciler/log.h"

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace hostform {
namespace {

/// One JSON object per line, with the message properly escaped (a pattern
/// string cannot escape quotes in messages).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    nlohmann::json line = {{"ts", static_cast<double>(millis) / 1000.0},
                           {"level", spdlog::level::to_string_view(msg.level).data()},
                           {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    const std::string text = line.dump() + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

Result<void> setupLogging(const std::string& level, LogFormat format) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    return fail("unknown log level \"" + level + "\"; expected trace, debug, info, warn or error");
  auto logger = std::make_shared<spdlog::logger>("hostform", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::Json) logger->set_formatter(std::make_unique<JsonFormatter>());
  else logger->set_pattern("%^%l%$: %v");
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace hostform
