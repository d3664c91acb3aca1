#pragma once
/// What hostform does differently when a person watches: colour in the plan
/// on stdout, and one progress line on stderr that long actions (a VM's
/// shutdown wait, a volume's preallocation) rewrite in place. Scripts and
/// logs, which read the same streams through pipes and files, get neither.

#include <cstddef>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>

#include "reconciler/render.h"
#include "reconciler/result.h"

namespace hostform {

enum class Terminal { No, Yes };

/// `--color`: auto (the default) colours only a terminal.
enum class ColorMode { Auto, Always, Never };

/// "auto", "always", "never"; anything else is an error naming the three.
Result<ColorMode> parseColorMode(std::string_view text);

/// Whether to colour the plan on stdout. Always and Never are the user's word
/// for this run and win over the environment (as no-color.org asks). Auto
/// colours only when stdout is a terminal, NO_COLOR is unset or empty, and
/// TERM is not "dumb". `noColor`/`term`: the variables' values, null when unset.
Color chooseColor(ColorMode mode, Terminal stdoutIsTerminal, const char* noColor, const char* term);

/// The width of the terminal on `fd`, 0 when it is not one or does not say.
std::size_t terminalColumns(int fd);

/// Progress reports of running actions, on stderr.
///
/// On a terminal: one line, "<id>: <message>", each report replacing the
/// previous one ("\r" + erase to end of line), cut to the terminal's width so
/// that it never wraps (a wrapped line cannot be rewritten in place). clear()
/// erases it before other output is written. When the log level shows info
/// messages, log lines would land on top of the progress line, so reports are
/// logged instead, as below.
///
/// Elsewhere (a pipe, a file, the journal): each report is an info-level log
/// message, so it follows --log-format (one JSON object per line stays so)
/// and shows with --log-level info or lower.
///
/// Safe to call from several threads.
class ProgressLine {
 public:
  /// `columns`: the terminal's width; 0 (unknown) means 80.
  ProgressLine(std::ostream& err, Terminal stderrIsTerminal, std::size_t columns);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(std::string_view id, std::string_view message);
  /// Erases the line if one is shown; a no-op otherwise.
  void clear();

 private:
  std::mutex mutex_;
  std::ostream& err_;
  bool inPlace_;
  std::size_t columns_;
  bool shown_ = false;
};

}  // namespace hostform
