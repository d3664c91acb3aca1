#include "reconciler/diagnostics.h"

#include <algorithm>
#include <ostream>
#include <tuple>

#include "reconciler/text.h"

namespace hostform {

SourcePos Locator::at(const yaml::Node& node) const {
  const yaml::Mark mark = node ? node.mark() : yaml::Mark::none();
  if (mark.isNone()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

std::string Diagnostic::str() const {
  std::string out;
  if (!pos.file.empty()) {
    out += pos.file;
    if (pos.known()) out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
    out += ": ";
  }
  out += severity == Severity::Error ? "error: " : "warning: ";
  // Paths carry keys from the manifest (a label's name), messages carry
  // values: both are escaped and cut here too, whatever their maker did, so
  // one diagnostic is always one line of reasonable length.
  auto shown = [](const std::string& text, std::size_t most) {
    std::string escaped = escapeControl(text);
    if (escaped.size() <= most) return escaped;
    return std::string(utf8Prefix(escaped, most)) + "… (" + std::to_string(text.size()) + " bytes)";
  };
  if (!path.empty()) out += shown(path, 160) + ": ";
  out += shown(message, 2000);
  return out;
}

void Diagnostics::error(SourcePos pos, std::string path, std::string message) {
  items_.push_back({Severity::Error, std::move(pos), std::move(path), std::move(message)});
}

void Diagnostics::warning(SourcePos pos, std::string path, std::string message) {
  items_.push_back({Severity::Warning, std::move(pos), std::move(path), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::hasErrors() const { return errorCount() > 0; }

std::size_t Diagnostics::errorCount() const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; }));
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.file, a.pos.line, a.pos.column) < std::tie(b.pos.file, b.pos.line, b.pos.column);
  });
}

void Diagnostics::print(std::ostream& out, Severity atLeast) const {
  std::size_t shown = 0, hidden = 0;
  for (const Diagnostic& d : items_) {
    if (d.severity != Severity::Error && atLeast == Severity::Error) continue;
    if (shown < kShown) {
      out << d.str() << "\n";
      ++shown;
    } else {
      ++hidden;
    }
  }
  if (hidden) out << "... " << hidden << " more not shown\n";
}

}  // namespace hostform
