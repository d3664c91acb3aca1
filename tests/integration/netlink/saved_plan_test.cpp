// Reviewed plans against the kernel (docs/spec.md §2 "Saved plans" and
// "Approval"): `plan -out FILE` then `apply FILE` applies what was reviewed,
// even if the manifest changed since; a host changed since is refused, naming
// the change, and left as it is; `apply` on a terminal asks first unless
// --auto-approve, and never asks without a terminal.

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/netlink/fixture.h"

namespace hostform::nltest {
namespace {

namespace fs = std::filesystem;

const std::string kPrompt = "Do you want to perform these actions? Only 'yes' will be accepted: ";
/// A terminal without colour or in-place progress, so its text can be compared.
const testing::EnvChanges kPlainTerminal = {{"TERM", "dumb"}, {"NO_COLOR", "1"}};

int mtuOf(const std::string& name) {
  auto l = link(name);
  return l ? (*l)["mtu"].get<int>() : -1;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class SavedPlan : public NetnsTest {
 protected:
  const std::string saved_ = dir_.path() + "/host.plan";

  Outcome planOut(const std::string& file) {
    return hostform({"plan", "-f", file, "--state-dir", state_, "--owner", owner_, "-out", saved_});
  }
  std::string refusal(const std::vector<std::string>& lines, const std::string& file) {
    std::string err;
    for (const std::string& l : lines)
      err += "error: the host changed since the plan was saved: " + l + " (saved plan " + saved_ + ")\n";
    return err + "Nothing was changed; make a new plan and review it: hostform plan -f " + file + " --owner " +
           owner_ + " --state-dir " + state_ + " -out " + saved_ + "\n";
  }
};

TEST_F(SavedPlan, AppliesWhatWasReviewedNotTheManifestAsItIsNow) {
  const std::string file = manifest({bridgeDoc("hfsp0", {{"mtu", "9000"}})});
  Outcome planned = planOut(file);
  ASSERT_EQ(planned.code, 0) << planned.err;
  EXPECT_TRUE(planned.out.ends_with("Plan: 1 to create, 0 to change, 0 to delete.\nSaved the plan to " + saved_ +
                                    ": apply it with `hostform apply " + saved_ + "`.\n"))
      << planned.out;
  EXPECT_EQ(fs::status(saved_).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(link("hfsp0"));

  // Edited after the review: the saved manifest is the one applied.
  manifest({bridgeDoc("hfsp0", {{"mtu", "1400"}})});
  Outcome applied = hostform({"apply", saved_});
  ASSERT_EQ(applied.code, 0) << applied.err;
  EXPECT_TRUE(applied.out.ends_with("Bridge/hfsp0: created\nApply complete: 1 done.\n")) << applied.out;
  EXPECT_EQ(applied.err, "");
  EXPECT_EQ(mtuOf("hfsp0"), 9000);

  // Applied once, it is stale: the bridge it would create is there now.
  Outcome again = hostform({"apply", saved_});
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err, refusal({"Bridge/hfsp0: now on the host, absent when the plan was saved"}, file));
}

TEST_F(SavedPlan, AHostChangedSinceIsRefusedNamingEachChangeAndLeftAsItIs) {
  const std::string file = manifest({bridgeDoc("hfsp0", {{"mtu", "1500"}})});
  ASSERT_EQ(hostform({"apply", "-f", file, "--state-dir", state_, "--owner", owner_}).code, 0);
  manifest({bridgeDoc("hfsp0", {{"mtu", "1400"}}), bridgeDoc("hfsp1", {})});
  ASSERT_EQ(planOut(file).code, 0);

  // Behind hostform's back, after the review.
  ip({"link", "set", "hfsp0", "mtu", "9000"});
  ip({"link", "add", "hfsp1", "type", "bridge"});
  Outcome refused = hostform({"apply", saved_});
  EXPECT_EQ(refused.code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err, refusal({"Bridge/hfsp0: mtu 1500 → 9000",
                                  "Bridge/hfsp1: now on the host, absent when the plan was saved"},
                                 file));
  EXPECT_EQ(mtuOf("hfsp0"), 9000);
  EXPECT_EQ(mtuOf("hfsp1"), 1500);

  // Put back as it was reviewed, the same file applies.
  ip({"link", "set", "hfsp0", "mtu", "1500"});
  ip({"link", "del", "hfsp1"});
  Outcome applied = hostform({"apply", saved_});
  ASSERT_EQ(applied.code, 0) << applied.err;
  EXPECT_EQ(mtuOf("hfsp0"), 1400);
  EXPECT_TRUE(link("hfsp1"));
}

TEST_F(SavedPlan, ApplyOnATerminalAsksAndOnlyYesApplies) {
  const std::string file = manifest({bridgeDoc("hfsp2", {})});
  const std::vector<std::string> args{"apply", "-f", file, "--state-dir", state_, "--owner", owner_};

  Outcome no = testing::runOnTerminal(HOSTFORM_BINARY, args, kPlainTerminal, kPrompt, "no");
  EXPECT_EQ(no.code, 1);
  EXPECT_TRUE(no.out.ends_with("Plan: 1 to create, 0 to change, 0 to delete.\r\n" + kPrompt + "no\r\n" +
                               "Apply cancelled.\r\n"))
      << no.out;
  EXPECT_FALSE(link("hfsp2"));

  Outcome yes = testing::runOnTerminal(HOSTFORM_BINARY, args, kPlainTerminal, kPrompt, "yes");
  EXPECT_EQ(yes.code, 0) << yes.out;
  EXPECT_TRUE(yes.out.ends_with("Plan: 1 to create, 0 to change, 0 to delete.\r\n" + kPrompt + "yes\r\n" +
                                "Bridge/hfsp2: created\r\nApply complete: 1 done.\r\n"))
      << yes.out;
  EXPECT_TRUE(link("hfsp2"));

  // Nothing to do: nothing to ask. (Answering "no" makes a wrong question fail, not hang.)
  Outcome converged = testing::runOnTerminal(HOSTFORM_BINARY, args, kPlainTerminal, kPrompt, "no");
  EXPECT_EQ(converged.code, 0);
  EXPECT_EQ(converged.out, "No changes. Host matches the manifests.\r\n");
}

TEST_F(SavedPlan, NoQuestionWithAutoApproveDryRunASavedPlanOrWithoutATerminal) {
  const std::string file = manifest({bridgeDoc("hfsp3", {{"mtu", "9000"}})});
  const std::vector<std::string> args{"apply", "-f", file, "--state-dir", state_, "--owner", owner_};
  auto with = [&](const std::string& flag) {
    std::vector<std::string> a = args;
    a.push_back(flag);
    return a;
  };

  Outcome dryRun = testing::runOnTerminal(HOSTFORM_BINARY, with("--dry-run"), kPlainTerminal, kPrompt, "no");
  EXPECT_EQ(dryRun.code, 0);
  EXPECT_FALSE(contains(dryRun.out, kPrompt)) << dryRun.out;
  EXPECT_FALSE(link("hfsp3"));

  Outcome approved = testing::runOnTerminal(HOSTFORM_BINARY, with("--auto-approve"), kPlainTerminal, kPrompt, "no");
  EXPECT_EQ(approved.code, 0) << approved.out;
  EXPECT_FALSE(contains(approved.out, kPrompt)) << approved.out;
  EXPECT_EQ(mtuOf("hfsp3"), 9000);

  // A saved plan was the review: applying it asks nothing more.
  manifest({bridgeDoc("hfsp3", {{"mtu", "1400"}})});
  ASSERT_EQ(planOut(file).code, 0);
  Outcome saved = testing::runOnTerminal(HOSTFORM_BINARY, {"apply", saved_}, kPlainTerminal, kPrompt, "no");
  EXPECT_EQ(saved.code, 0) << saved.out;
  EXPECT_FALSE(contains(saved.out, kPrompt)) << saved.out;
  EXPECT_EQ(mtuOf("hfsp3"), 1400);

  // stdin not a terminal (here /dev/null, as in a script or a unit): never asks.
  manifest({bridgeDoc("hfsp3", {{"mtu", "1500"}})});
  Outcome piped = hostform(args);
  EXPECT_EQ(piped.code, 0) << piped.err;
  EXPECT_EQ(piped.err, "");
  EXPECT_EQ(mtuOf("hfsp3"), 1500);
}

}  // namespace
}  // namespace hostform::nltest
