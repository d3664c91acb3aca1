#include "reconciler/log.h"

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "reconciler/text.h"

namespace hostform {
namespace {

LogFormat currentFormat = LogFormat::Text;
/// The fields of the logWith() call on this thread, read by JsonFormatter: the
/// default logger is synchronous, so it formats on the calling thread.
thread_local const nlohmann::json* currentFields = nullptr;

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
    if (currentFields && currentFields->is_object())
      for (const auto& [key, value] : currentFields->items())
        if (!line.contains(key)) line[key] = value;
    const std::string text = line.dump() + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

/// "level: message", with control characters escaped: messages carry text from
/// outside (commit subjects, backends' errors), which must not drive a terminal.
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string text = std::string(spdlog::level::to_string_view(msg.level).data()) + ": " +
                             escapeControl(std::string_view(msg.payload.data(), msg.payload.size())) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(); }
};

}  // namespace

Result<void> setupLogging(const std::string& level, LogFormat format) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    return fail("unknown log level \"" + level + "\"; expected trace, debug, info, warn or error");
  auto logger = std::make_shared<spdlog::logger>("hostform", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::Json) logger->set_formatter(std::make_unique<JsonFormatter>());
  else logger->set_formatter(std::make_unique<TextFormatter>());
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
  currentFormat = format;
  return {};
}

void logWith(spdlog::level::level_enum level, std::string_view message, const nlohmann::json& fields) {
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  if (currentFormat == LogFormat::Json) {
    currentFields = &fields;
    spdlog::log(level, "{}", message);
    currentFields = nullptr;
    return;
  }
  std::string text(message);
  if (fields.is_object())
    for (const auto& [key, value] : fields.items()) {
      const std::string shown = value.is_string() ? value.get<std::string>() : value.dump();
      const bool plain = !shown.empty() && shown.find_first_of(" \t\"=") == std::string::npos;
      text += " " + key + "=" + (plain ? shown : nlohmann::json(shown).dump());
    }
  spdlog::log(level, "{}", text);
}

}  // namespace hostform
