#include "reconciler/terminal.h"

#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace hostform {
namespace {

TEST(ChooseColor, AutoColoursOnlyATerminalWithoutNoColor) {
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::Yes, nullptr, "xterm-256color"), Color::On);
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::Yes, nullptr, nullptr), Color::On);
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::No, nullptr, "xterm"), Color::Off);
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::Yes, "1", "xterm"), Color::Off);
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::Yes, "0", "xterm"), Color::Off) << "any non-empty value";
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::Yes, "", "xterm"), Color::On) << "empty means unset";
  EXPECT_EQ(chooseColor(ColorMode::Auto, Terminal::Yes, nullptr, "dumb"), Color::Off);
}

TEST(ChooseColor, TheCommandLineWinsOverTheEnvironment) {
  EXPECT_EQ(chooseColor(ColorMode::Always, Terminal::No, "1", "dumb"), Color::On);
  EXPECT_EQ(chooseColor(ColorMode::Never, Terminal::Yes, nullptr, "xterm"), Color::Off);
}

TEST(ChooseColor, ParsesTheThreeModesOnly) {
  EXPECT_EQ(*parseColorMode("auto"), ColorMode::Auto);
  EXPECT_EQ(*parseColorMode("always"), ColorMode::Always);
  EXPECT_EQ(*parseColorMode("never"), ColorMode::Never);
  auto bad = parseColorMode("yes");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "unknown colour mode \"yes\"; expected auto, always or never");
}

/// Routes the default logger into a string for one test, at `level`.
class CapturedLog {
 public:
  explicit CapturedLog(spdlog::level::level_enum level) : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_));
    logger->set_pattern("%l: %v");
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string str() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

TEST(ProgressLine, OnATerminalEachReportReplacesTheLineAndClearErasesIt) {
  CapturedLog log(spdlog::level::warn);
  std::ostringstream err;
  {
    ProgressLine line(err, Terminal::Yes, 100);
    line.update("VirtualMachine/web1", "waiting for ACPI shutdown, 1s of 60s");
    line.update("VirtualMachine/web1", "waiting for ACPI shutdown, 2s of 60s");
    line.clear();
    line.clear();  // nothing shown: nothing to erase
  }
  EXPECT_EQ(err.str(),
            "\r\033[KVirtualMachine/web1: waiting for ACPI shutdown, 1s of 60s"
            "\r\033[KVirtualMachine/web1: waiting for ACPI shutdown, 2s of 60s"
            "\r\033[K");
  EXPECT_EQ(log.str(), "");
}

TEST(ProgressLine, TheDestructorErasesALineStillShown) {
  CapturedLog log(spdlog::level::warn);
  std::ostringstream err;
  { ProgressLine(err, Terminal::Yes, 100).update("Volume/images/big", "preallocating, 40%"); }
  EXPECT_EQ(err.str(), "\r\033[KVolume/images/big: preallocating, 40%\r\033[K");
}

TEST(ProgressLine, ALineNeverWrapsAndNeverBreaks) {
  CapturedLog log(spdlog::level::warn);
  std::ostringstream err;
  ProgressLine line(err, Terminal::Yes, 20);
  line.update("Volume/p/v", "a\nb\033[1m");  // control characters become spaces
  EXPECT_EQ(err.str(), "\r\033[KVolume/p/v: a b [1m");
  err.str("");
  line.update("Volume/p/v", "preallocating 10 GiB");
  EXPECT_EQ(err.str(), "\r\033[KVolume/p/v: preallo");  // 19 columns: one short of the width
  err.str("");
  line.update("Volume/p/v", "größe ändern");  // multi-byte characters count once, and are never cut
  EXPECT_EQ(err.str(), "\r\033[KVolume/p/v: größe ä");
}

TEST(ProgressLine, ElsewhereReportsAreInfoLogLines) {
  std::ostringstream err;
  {
    CapturedLog log(spdlog::level::info);
    ProgressLine line(err, Terminal::No, 0);
    line.update("VirtualMachine/web1", "waiting for ACPI shutdown, 1s of 60s");
    line.clear();
    EXPECT_EQ(log.str(), "info: VirtualMachine/web1: waiting for ACPI shutdown, 1s of 60s\n");
  }
  {
    CapturedLog log(spdlog::level::warn);  // the default level: not shown
    ProgressLine line(err, Terminal::No, 0);
    line.update("VirtualMachine/web1", "waiting");
    EXPECT_EQ(log.str(), "");
  }
  EXPECT_EQ(err.str(), "") << "never written to the stream directly";
}

TEST(ProgressLine, OnATerminalWithInfoLoggingReportsAreLoggedSoLinesNeverCollide) {
  CapturedLog log(spdlog::level::info);
  std::ostringstream err;
  ProgressLine line(err, Terminal::Yes, 100);
  line.update("Volume/images/big", "preallocating");
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(log.str(), "info: Volume/images/big: preallocating\n");
}

}  // namespace
}  // namespace hostform
