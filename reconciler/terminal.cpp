#include "reconciler/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <ostream>

#include <spdlog/spdlog.h>

namespace hostform {
namespace {

/// One line of text for a terminal: control characters (a newline in a
/// provider's message, an escape sequence) become spaces, and the text is cut
/// to `width` characters, counting a UTF-8 sequence as one and never cutting
/// inside it.
std::string oneLine(std::string_view text, std::size_t width) {
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool continuation = (c & 0xC0) == 0x80;
    if (!continuation) {
      if (shown == width) break;
      ++shown;
    }
    out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
  }
  return out;
}

}  // namespace

Result<ColorMode> parseColorMode(std::string_view text) {
  if (text == "auto") return ColorMode::Auto;
  if (text == "always") return ColorMode::Always;
  if (text == "never") return ColorMode::Never;
  return fail("unknown colour mode \"" + std::string(text) + "\"; expected auto, always or never");
}

Color chooseColor(ColorMode mode, Terminal stdoutIsTerminal, const char* noColor, const char* term) {
  switch (mode) {
    case ColorMode::Always: return Color::On;
    case ColorMode::Never: return Color::Off;
    case ColorMode::Auto: break;
  }
  if (stdoutIsTerminal == Terminal::No) return Color::Off;
  if (noColor && *noColor) return Color::Off;  // no-color.org: set and not empty
  if (term && std::string_view(term) == "dumb") return Color::Off;
  return Color::On;
}

std::size_t terminalColumns(int fd) {
  winsize size{};
  if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

ProgressLine::ProgressLine(std::ostream& err, Terminal stderrIsTerminal, std::size_t columns)
    : err_(err),
      inPlace_(stderrIsTerminal == Terminal::Yes && !spdlog::should_log(spdlog::level::info)),
      columns_(columns ? columns : 80) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(std::string_view id, std::string_view message) {
  if (!inPlace_) {
    spdlog::info("{}: {}", id, message);
    return;
  }
  std::string text(id);
  text += ": ";
  text += message;
  std::lock_guard lock(mutex_);
  // One column short of the width: a character in the last column makes some
  // terminals wrap at once.
  err_ << "\r\033[K" << oneLine(text, columns_ > 1 ? columns_ - 1 : 1);
  err_.flush();
  shown_ = true;
}

void ProgressLine::clear() {
  std::lock_guard lock(mutex_);
  if (!shown_) return;
  err_ << "\r\033[K";
  err_.flush();
  shown_ = false;
}

}  // namespace hostform
