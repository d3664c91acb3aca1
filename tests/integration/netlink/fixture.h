#pragma once
/// A test that drives the hostform binary against the kernel of the private
/// namespace: manifests in a scratch directory, its own --state-dir and a
/// unique --owner, every link removed afterwards.

#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/netlink/netns.h"
#include "tests/support/manifests.h"

namespace hostform::nltest {

/// spec keys in the order they are written, each with its YAML value.
using SpecLines = std::vector<std::pair<std::string, std::string>>;

/// One Bridge document; line 4 is `spec:`, its keys start on line 5.
inline std::string bridgeDoc(const std::string& name, const SpecLines& spec) {
  std::string out = "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: " + name + "}\n";
  if (spec.empty()) return out + "spec: {}\n";
  out += "spec:\n";
  for (const auto& [key, value] : spec) out += "  " + key + ": " + value + "\n";
  return out;
}

/// Replaces (or appends) one key of a spec.
inline SpecLines with(SpecLines spec, const std::string& key, const std::string& value) {
  for (auto& [k, v] : spec)
    if (k == key) {
      v = value;
      return spec;
    }
  spec.emplace_back(key, value);
  return spec;
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(inPrivateNamespace()) << "a previous test left links behind"; }
  void TearDown() override { deleteAllLinks(); }

  /// Writes the manifest (documents joined with ---) and returns its path.
  std::string manifest(const std::vector<std::string>& docs, const std::string& file = "m.yaml") {
    std::string text;
    for (const auto& d : docs) text += (text.empty() ? "" : "---\n") + d;
    return dir_.write(file, text);
  }
  Outcome apply(const std::vector<std::string>& docs, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"apply", "-f", manifest(docs), "--state-dir", state_, "--owner", owner_};
    args.insert(args.end(), extra.begin(), extra.end());
    return hostform(args);
  }
  Outcome plan(const std::vector<std::string>& docs, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"plan", "-f", manifest(docs), "--state-dir", state_, "--owner", owner_};
    args.insert(args.end(), extra.begin(), extra.end());
    return hostform(args);
  }

  testing::TempDir dir_;
  const std::string state_ = dir_.path() + "/state";
  const std::string owner_ = "nltest-" + std::to_string(getpid());
};

}  // namespace hostform::nltest
