// Apply's lvm shells against real lvm2 on loop devices: one `lvm` shell per
// volume group runs the creates of an apply, each command's outcome read from
// the shell's JSON command log; a failed command fails its action only; no
// argument can become a second command.

#include <signal.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "providers/lvm/session.h"
#include "tests/integration/lvm/sandbox.h"

namespace hostform::lvmtest {
namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::string lvDoc(const std::string& vg, const std::string& name) {
  return "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: " + name + "}\nspec: {volumeGroup: " + vg +
         ", size: 4MiB}\n---\n";
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

TEST(LvmShellApply, CreatesEveryLvOfTwoVolumeGroups) {
  Sandbox box(2);
  const std::string a = box.name("a"), b = box.name("b");
  std::string yaml = vgDoc(a, box.devices()[0]) + vgDoc(b, box.devices()[1]);
  for (int i = 1; i <= 6; ++i) yaml += lvDoc(a, "lv" + std::to_string(i)) + lvDoc(b, "lv" + std::to_string(i));
  const std::string file = box.manifest(yaml);

  Outcome apply = box.hostform({"apply", "--auto-approve", "-f", file});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_TRUE(contains(apply.out, "Apply complete: 14 done.")) << apply.out;
  for (const std::string& vg : {a, b}) {
    auto lvs = box.lvs(vg);
    ASSERT_EQ(lvs.size(), 6u) << vg;
    for (int i = 1; i <= 6; ++i) {
      const Sandbox::Lv& lv = lvs.at("lv" + std::to_string(i));
      EXPECT_EQ(lv.size, 4 * MiB);
      EXPECT_EQ(lv.tags, "hostform_owner_" + box.owner());
    }
  }
  // The shells' command profile is in lvm's profile directory (the sandbox's).
  EXPECT_TRUE(std::filesystem::exists(box.dir().path() + "/profile/" + lvm::kShellProfileName + ".profile"));
  Outcome plan = box.hostform({"plan", "-f", file, "--detailed-exitcode"});
  EXPECT_EQ(plan.code, 0) << plan.out << plan.err;
}

TEST(LvmShellApply, AFailedCreateFailsOnlyItsActionWithLvmsReasonAndExitCode) {
  Sandbox box(2);
  const std::string a = box.name("a"), b = box.name("b");
  // A VG that holds at most 2 LVs (vgcreate -l), which the plan does not
  // foresee: the third lvcreate fails in lvm itself.
  ASSERT_EQ(box.lvm({"vgcreate", "-l", "2", "--addtag", "hostform_owner_" + box.owner(), a, box.devices()[0]}).code, 0);
  std::string yaml = vgDoc(a, box.devices()[0]) + vgDoc(b, box.devices()[1]);
  for (const char* lv : {"lv1", "lv2", "lv3"}) yaml += lvDoc(a, lv) + lvDoc(b, lv);
  Outcome apply = box.hostform({"apply", "--auto-approve", "-j", "1", "-f", box.manifest(yaml)});
  EXPECT_EQ(apply.code, 4) << apply.out << apply.err;
  const std::string failure = "LogicalVolume/" + a + "/lv3: failed: lvm lvcreate --yes -n lv3 --addtag hostform_owner_" +
                              box.owner() + " -L 4194304b " + a +
                              " failed with exit code 5: Maximum number of logical volumes (2) reached in volume group " +
                              a + ".";
  EXPECT_TRUE(contains(apply.out, failure + "\n")) << apply.out;
  EXPECT_TRUE(contains(apply.out, "Apply incomplete: 6 done, 1 failed, 0 skipped.")) << apply.out;
  EXPECT_EQ(box.lvs(a).size(), 2u);
  EXPECT_EQ(box.lvs(b).size(), 3u);
}

/// A session's lvm shell, with the command profile where the provider puts it.
class LvmShellSession : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(box.dir().path() + "/profile");
    std::ofstream(box.dir().path() + "/profile/" + lvm::kShellProfileName + ".profile") << lvm::kShellProfileText;
    ASSERT_EQ(box.lvm({"vgcreate", vg, box.devices()[0]}).code, 0);
  }
  Sandbox box{1};
  std::string vg = box.name("vg");
};

TEST_F(LvmShellSession, ReadsEachCommandsOutcomeFromItsJsonLog) {
  auto shell = lvm::LvmShell::start(lvm::kShellProfileName, std::chrono::seconds(60));
  ASSERT_TRUE(shell) << shell.error().message;
  auto made = (*shell)->run({"lvm", "lvcreate", "--yes", "-n", "one", "-L", "4m", vg}, std::chrono::seconds(60));
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(made->exitCode, 0);
  EXPECT_TRUE(contains(made->out, "\"log_ret_code\":\"1\"")) << made->out;

  auto again = (*shell)->run({"lvm", "lvcreate", "--yes", "-n", "one", "-L", "4m", vg}, std::chrono::seconds(60));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->exitCode, 5);
  EXPECT_EQ(lvm::failureText(again->err), "Logical Volume \"one\" already exists in volume group \"" + vg + "\"");

  auto unknown = (*shell)->run({"lvm", "lvfrobnicate"}, std::chrono::seconds(60));
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_NE(unknown->exitCode, 0);

  auto listed = (*shell)->run({"lvm", "lvs", "-o", "lv_name", vg}, std::chrono::seconds(60));
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->exitCode, 0);
  auto doc = nlohmann::json::parse(listed->out);
  EXPECT_EQ(doc["report"][0]["lv"], nlohmann::json::parse(R"([{"lv_name": "one"}])"));
  EXPECT_TRUE((*shell)->alive());
}

TEST_F(LvmShellSession, NoNameOrTagCanInjectASecondCommand) {
  lvm::HostCommands host;
  lvm::ShellCommands commands(host, lvm::kShellProfileName);
  const std::vector<std::string> names{
      "a b",                                   // a space
      "x\" ; vgremove -f " + vg,               // a double quote
      "y' vgremove -f " + vg,                  // a single quote
      "z\nvgremove -f " + vg,                  // a line break: never shell input
      "#c vgremove -f " + vg,                  // lvm's comment sign
      "q'\" vgremove -f " + vg,                // both quotes
  };
  for (const std::string& name : names) {
    auto r = commands.run({"lvm", "lvcreate", "--yes", "-n", name, "-L", "4m", vg}, std::chrono::seconds(60));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->exitCode, 3) << name;  // lvm refused the name, as one argument
    EXPECT_TRUE(contains(lvm::failureText(r->err), "is invalid")) << name << ": " << r->err;
  }
  auto tagged = commands.run({"lvm", "lvcreate", "--yes", "-n", "ok", "--addtag", "t vgremove -f " + vg, "-L", "4m", vg},
                             std::chrono::seconds(60));
  ASSERT_TRUE(tagged);
  EXPECT_NE(tagged->exitCode, 0);
  EXPECT_TRUE(commands.usesShell());
  EXPECT_GT(commands.shellPid(), 0);
  // Nothing was removed or created.
  EXPECT_EQ(box.vgs().count(vg), 1u);
  EXPECT_TRUE(box.lvs(vg).empty());
}

}  // namespace
}  // namespace hostform::lvmtest
