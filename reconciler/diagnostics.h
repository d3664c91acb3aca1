#pragma once
/// Problems with manifests, collected rather than thrown: a user sees every
/// error of a run at once, compiler style (docs/spec.md §2):
///   FILE:LINE:COL: error: FIELD.PATH: message

#include <iosfwd>
#include <string>
#include <vector>

#include "reconciler/model.h"
#include "reconciler/yaml_tree.h"

namespace hostform {

/// Maps a YAML node of one file to where it was written (marks are 0-based,
/// positions 1-based).
struct Locator {
  std::string file;
  SourcePos at(const yaml::Node& node) const;
};

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  SourcePos pos;          ///< unknown position prints no FILE:LINE:COL prefix
  std::string path;       ///< field path such as "spec.stp.forwardDelay"; may be empty
  std::string message;    ///< what was found and what was expected

  /// The one-line, compiler-style rendering.
  std::string str() const;
};

class Diagnostics {
 public:
  void error(SourcePos pos, std::string path, std::string message);
  void warning(SourcePos pos, std::string path, std::string message);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);

  bool hasErrors() const;
  std::size_t errorCount() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  /// Sorted by file, line, column, so output is stable whatever order checks ran in.
  void sort();

  /// The first kShown diagnostics (errors only, or with warnings), one a line,
  /// then "... N more not shown": a file of 200,000 bad documents says so in
  /// a page, not in 200,000 lines.
  static constexpr std::size_t kShown = 1000;
  void print(std::ostream& out, Severity atLeast) const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace hostform
