#pragma once
/// Loading manifests from strings in tests, exactly as files are loaded.

#include <string>
#include <vector>

#include "reconciler/loader.h"

namespace hostform::testing {

/// Loads `yaml` as the file "test.yaml", with the cross-document checks.
LoadResult loadYaml(const std::string& yaml);

/// Every diagnostic of `result`, one string each (Diagnostic::str()).
std::vector<std::string> messages(const LoadResult& result);
std::vector<std::string> messages(const Diagnostics& diags);

/// A scratch directory removed when the object goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// Writes `text` to `name` below the directory; returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

}  // namespace hostform::testing
