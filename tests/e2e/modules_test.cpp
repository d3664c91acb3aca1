// Backends loaded on demand (reconciler/module.h): what the binary links, what
// a run loads, and what a user sees when a module is missing. Read-only: the
// KVM runs use libvirt's in-process test:///default driver, and the bridge
// plan reads the links of a network namespace of its own.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/manifests.h"
#include "tests/support/process.h"

namespace hostform {
namespace {

namespace fs = std::filesystem;
using Outcome = testing::ProcessResult;

const char* kPool =
    "apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: hfmodpool}\n"
    "spec: {type: dir, target: /tmp/hfmodpool}\n";

/// The shared libraries `binary` names (DT_NEEDED), as readelf prints them.
std::vector<std::string> needed(const std::string& binary) {
  Outcome r = testing::runProgram("/usr/bin/readelf", {"-d", binary});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto open = line.find("Shared library: [");
    if (open == std::string::npos) continue;
    open += 17;
    out.push_back(line.substr(open, line.find(']', open) - open));
  }
  return out;
}

/// The libraries of the backends a run loads only when it uses them.
const std::vector<std::string> kBackendLibraries = {"libvirt",   "libgit2",       "libcurl",  "libcrypto",
                                                    "libssl",    "libgpgme",      "libnl-3",  "libnl-route-3",
                                                    "libmicrohttpd", "libisofs",  "libpugixml"};

TEST(Modules, TheBinaryLinksNoBackendLibrary) {
  const auto libraries = needed(HOSTFORM_BINARY);
  ASSERT_FALSE(libraries.empty());
  const auto links = [&](const std::string& backend) {
    for (const std::string& lib : libraries)
      if (lib.starts_with(backend + ".")) return true;
    return false;
  };
  if (HOSTFORM_SANITIZED) {
    // A sanitizer build loads libvirt and libnl at start (CMakeLists.txt: ASan
    // cannot intercept the XDR calls of a libtirpc dlopen'ed after it starts).
    EXPECT_TRUE(links("libvirt"));
    EXPECT_TRUE(links("libgit2"));
    return;
  }
  for (const std::string& backend : kBackendLibraries) EXPECT_FALSE(links(backend)) << HOSTFORM_BINARY << " links " << backend;
}

TEST(Modules, EachModuleLinksItsBackend) {
  const fs::path modules = fs::path(HOSTFORM_BINARY).parent_path() / "modules";
  const auto kvm = needed((modules / "kvm.so").string());
  const auto watch = needed((modules / "watch.so").string());
  const auto netlink = needed((modules / "netlink.so").string());
  const auto has = [](const std::vector<std::string>& libs, const std::string& prefix) {
    for (const auto& l : libs)
      if (l.starts_with(prefix + ".")) return true;
    return false;
  };
  EXPECT_TRUE(has(kvm, "libvirt"));
  EXPECT_TRUE(has(kvm, "libisofs"));
  EXPECT_TRUE(has(watch, "libgit2"));
  EXPECT_TRUE(has(watch, "libgpgme"));
  EXPECT_FALSE(has(watch, "libvirt"));
  EXPECT_FALSE(has(kvm, "libgit2"));
  EXPECT_TRUE(has(netlink, "libnl-route-3"));
  EXPECT_FALSE(has(netlink, "libvirt"));
}

/// The binary copied alone into a directory of its own: no module beside it.
class WithoutModules : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(fs::path(dir_.path()) / "bin");
    fs::copy_file(HOSTFORM_BINARY, binary_);
  }
  Outcome hostform(const std::vector<std::string>& args) { return testing::runProgram(binary_, args); }
  std::string missing(const std::string& module, const std::string& serves) const {
    return "error: the " + module + " module (" + serves + ") is not installed: there is no " + dir_.path() +
           "/lib/hostform/" + module + ".so or " + dir_.path() + "/bin/modules/" + module +
           ".so. It is part of the hostform package: `apt-get install --reinstall hostform` puts it back.\n";
  }

  testing::TempDir dir_;
  std::string binary_ = dir_.path() + "/bin/hostform";
};

TEST_F(WithoutModules, AKvmPlanSaysWhichModuleIsMissingAndChangesNothing) {
  const std::string pool = dir_.write("pool.yaml", kPool);
  Outcome r = hostform({"--state-dir", dir_.path() + "/state", "--libvirt-uri", "test:///default", "plan", "-f", pool});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: kvm: cannot read the host's state: " +
                       missing("kvm", "the KVM provider: StoragePool, Volume, VirtualMachine, Snapshot and "
                                      "`hostform console`")
                           .substr(7));
}

TEST_F(WithoutModules, WatchSuspendAndConsoleSayWhichModuleIsMissing) {
  const std::string state = dir_.path() + "/state";
  Outcome watch = hostform({"--state-dir", state, "watch", "--repo", dir_.path(), "--once"});
  EXPECT_EQ(watch.code, 1);
  EXPECT_EQ(watch.err, missing("watch", "`hostform watch`, `suspend` and `resume`"));
  Outcome suspend = hostform({"--state-dir", state, "suspend"});
  EXPECT_EQ(suspend.code, 1);
  EXPECT_EQ(suspend.err, missing("watch", "`hostform watch`, `suspend` and `resume`"));
  EXPECT_FALSE(fs::exists(state + "/suspended"));
  Outcome console = hostform({"--libvirt-uri", "test:///default", "console", "vm"});
  EXPECT_EQ(console.code, 1);
  EXPECT_EQ(console.err, missing("kvm", "the KVM provider: StoragePool, Volume, VirtualMachine, Snapshot and "
                                        "`hostform console`"));
}

TEST_F(WithoutModules, RunsThatNeedNoModuleWork) {
  Outcome version = hostform({"version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out, testing::runProgram(HOSTFORM_BINARY, {"version"}).out);
  // Validation of every kind needs no backend: the schemas and kinds are built in.
  const std::string pool = dir_.write("pool.yaml", kPool);
  Outcome validate = hostform({"validate", "-f", pool});
  EXPECT_EQ(validate.code, 0) << validate.err;
}

TEST_F(WithoutModules, ABridgePlanSaysWhichModuleIsMissing) {
  // In a network namespace of its own (unshare -n): read-only, no link of the host's.
  const std::string bridge =
      dir_.write("bridge.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfmodbr0}\nspec: {}\n");
  Outcome plan = testing::runProgram("/usr/bin/unshare",
                                     {"-n", binary_, "--state-dir", dir_.path() + "/state", "plan", "-f", bridge});
  EXPECT_EQ(plan.code, 1);
  EXPECT_EQ(plan.out, "");
  EXPECT_EQ(plan.err, "error: netlink: cannot read the host's state: " +
                          missing("netlink", "the netlink provider: Bridge, Bond, VlanInterface, VxlanInterface")
                              .substr(7));
}

TEST(Modules, ABridgePlanLoadsTheModuleBesideTheBinary) {
  testing::TempDir dir;
  const std::string bridge =
      dir.write("bridge.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfmodbr0}\nspec: {}\n");
  Outcome plan = testing::runProgram("/usr/bin/unshare",
                                     {"-n", HOSTFORM_BINARY, "--state-dir", dir.path() + "/state", "plan", "-f", bridge});
  EXPECT_EQ(plan.code, 0) << plan.err;
  EXPECT_TRUE(plan.out.starts_with("+ Bridge/hfmodbr0")) << plan.out;
  EXPECT_TRUE(plan.out.ends_with("Plan: 1 to create, 0 to change, 0 to delete.\n")) << plan.out;
}

TEST(Modules, AKvmPlanLoadsTheModuleBesideTheBinary) {
  testing::TempDir dir;
  const std::string pool = dir.write("pool.yaml", kPool);
  Outcome r = testing::runProgram(
      HOSTFORM_BINARY, {"--state-dir", dir.path() + "/state", "--libvirt-uri", "test:///default", "plan", "-f", pool});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "+ StoragePool/hfmodpool         create: type (none) -> dir, target (none) -> /tmp/hfmodpool, autostart "
            "(none) -> true, active (none) -> true\nPlan: 1 to create, 0 to change, 0 to delete.\n");
}

}  // namespace
}  // namespace hostform
