#include "tests/support/manifests.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace hostform::testing {

LoadResult loadYaml(const std::string& yaml) {
  LoadResult result;
  loadText(yaml, "test.yaml", result);
  checkCrossReferences(result);
  result.diagnostics.sort();
  return result;
}

std::vector<std::string> messages(const Diagnostics& diags) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags.items()) out.push_back(d.str());
  return out;
}

std::vector<std::string> messages(const LoadResult& result) { return messages(result.diagnostics); }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hostform-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const auto full = std::filesystem::path(path_) / name;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream(full) << text;
  return full.string();
}

}  // namespace hostform::testing
