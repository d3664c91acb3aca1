// The bad corpus (tests/corpus/bad/*.yaml) and the examples, through the real
// loader. Each bad file lists, in "# expect:" lines, every diagnostic it must
// produce, in order, without the file name; adding a case is adding a file.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reconciler/loader.h"

namespace hostform {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = HOSTFORM_SOURCE_DIR;

std::vector<fs::path> filesUnder(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> linesStartingWith(const fs::path& file, std::string_view prefix) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line.substr(prefix.size()));
  return out;
}

/// Every diagnostic of loading `path`, as printed, without the leading "FILE:".
std::vector<std::string> diagnosticsOf(const fs::path& path) {
  const LoadResult result = loadManifests({path.string()});
  std::vector<std::string> out;
  for (const Diagnostic& d : result.diagnostics.items()) {
    std::string line = d.str();
    const std::string prefix = path.string() + ":";
    if (line.starts_with(prefix)) line.erase(0, prefix.size());
    out.push_back(std::move(line));
  }
  return out;
}

/// "012-bridge-mtu" → "012_bridge_mtu": GoogleTest names take letters, digits and '_'.
std::string testName(const fs::path& path) {
  std::string name = path.stem().string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

struct NameByFile {
  std::string operator()(const testing::TestParamInfo<fs::path>& info) const { return testName(info.param); }
};

// ---- the bad corpus ---------------------------------------------------------

class BadCorpus : public testing::TestWithParam<fs::path> {};

TEST_P(BadCorpus, ReportsExactlyTheExpectedDiagnostics) {
  const std::vector<std::string> expected = linesStartingWith(GetParam(), "# expect: ");
  ASSERT_FALSE(expected.empty()) << GetParam() << " has no \"# expect:\" line";
  EXPECT_EQ(diagnosticsOf(GetParam()), expected);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadCorpus, testing::ValuesIn(filesUnder(kSource / "tests/corpus/bad")), NameByFile());

TEST(BadCorpusSize, CoversEnoughCases) {
  const auto files = filesUnder(kSource / "tests/corpus/bad");
  const auto cppOnly = std::count_if(files.begin(), files.end(), [](const fs::path& f) {
    return !linesStartingWith(f, "# jsonschema: accept").empty();
  });
  EXPECT_GE(files.size() - static_cast<std::size_t>(cppOnly), 45u);
  EXPECT_GE(cppOnly, 1);
}

// ---- the examples -------------------------------------------------------------

class Examples : public testing::TestWithParam<fs::path> {};

TEST_P(Examples, LoadWithoutAnyDiagnostic) {
  const LoadResult result = loadManifests({GetParam().string()});
  std::string printed;
  for (const Diagnostic& d : result.diagnostics.items()) printed += d.str() + "\n";
  EXPECT_TRUE(result.diagnostics.items().empty()) << printed;
  EXPECT_GT(result.resources.size(), 0u);
  EXPECT_EQ(result.resources.size(), result.documents);
}

TEST_P(Examples, EveryFileNamesTheSchemaForEditors) {
  for (const fs::path& file : filesUnder(GetParam())) {
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    // Relative to where the file really is (a fleet host links shared files).
    const fs::path schema =
        fs::relative(kSource / "schemas" / "manifest.schema.json", fs::canonical(file).parent_path());
    EXPECT_EQ(first, "# yaml-language-server: $schema=" + schema.string()) << file;
  }
}

std::vector<fs::path> exampleDirectories() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kSource / "examples")) {
    if (!e.is_directory()) continue;
    if (fs::is_directory(e.path() / "hosts")) {
      // A fleet repository: each host's directory is one host's manifests.
      for (const auto& host : fs::directory_iterator(e.path() / "hosts")) dirs.push_back(host.path());
    } else {
      dirs.push_back(e.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

INSTANTIATE_TEST_SUITE_P(Examples, Examples, testing::ValuesIn(exampleDirectories()), NameByFile());

}  // namespace
}  // namespace hostform
