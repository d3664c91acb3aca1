// The network checkpoint and `hostform boot` against the fake provider: a
// checkpointed "net" provider (Bridge) and a plain "storage" one (VolumeGroup,
// LogicalVolume), sharing one fake world.

#include "reconciler/checkpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "reconciler/kinds/bridge.h"
#include "reconciler/kinds/volume_group.h"
#include "reconciler/lock.h"
#include "reconciler/manifest_writer.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using fake::FakeProvider;
using fake::FakeWorld;

struct Fixture {
  testing::TempDir dir;
  std::shared_ptr<FakeWorld> world = std::make_shared<FakeWorld>();
  FakeProvider* net = nullptr;
  FakeProvider* storage = nullptr;
  std::unique_ptr<ProviderSet> providers;
  std::ostringstream out, err;
  const std::string state = dir.path() + "/state";

  Fixture() {
    auto n = std::make_unique<FakeProvider>("net", std::vector<Kind>{kinds::Bridge}, world);
    n->isCheckpointed = true;
    auto s = std::make_unique<FakeProvider>("storage", std::vector<Kind>{kinds::VolumeGroup, kinds::LogicalVolume},
                                            world);
    net = n.get();
    storage = s.get();
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::move(n));
    list.push_back(std::move(s));
    providers = std::make_unique<ProviderSet>(std::move(list));
  }

  RunOptions options(const std::string& yaml) {
    RunOptions o;
    o.files = {dir.write("host.yaml", yaml)};
    o.stateDir = state;
    o.jobs = 1;
    return o;
  }
  Console console() {
    out.str("");
    err.str("");
    return Console{out, err, Color::Off};
  }
  int apply(const RunOptions& o) { return runApply(o, *providers, console()); }
  std::optional<std::uint32_t> mtuOf(const std::string& bridge) const {
    auto o = world->get({kinds::Bridge, "", bridge});
    return o ? o->resource.as<BridgeSpec>().mtu : std::nullopt;
  }
  bool has(Kind kind, const std::string& name) const { return world->contains({kind, "", name}); }
};

std::string bridge(const std::string& name, int mtu) {
  return "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: " + name + "}\nspec: {mtu: " + std::to_string(mtu) +
         "}\n";
}
std::string vg(const std::string& name) {
  return "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + name +
         "}\nspec: {physicalVolumes: [/dev/vdb]}\n";
}
std::string docs(const std::vector<std::string>& d) {
  std::string s;
  for (const auto& x : d) s += (s.empty() ? "" : "---\n") + x;
  return s;
}
bool onDisk(const std::filesystem::path& p) { return std::filesystem::exists(p); }
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A checkpoint as a run that died left it: br0 was at MTU 1500 and owned by
/// "default", br1 was created.
Checkpoint leftBehind(const std::string& applied = "") {
  Checkpoint cp;
  cp.id = "20261207T010000Z-999999";
  cp.owner = "default";
  cp.pid = 999999;
  cp.started = std::chrono::system_clock::from_time_t(1796605200);  // 2026-12-07T01:00:00Z
  cp.phase = "waiting";
  cp.deadline = cp.started + std::chrono::seconds(120);
  cp.touched = {{ResourceId{kinds::Bridge, "", "br0"}, "default"}};
  cp.creates = {ResourceId{kinds::Bridge, "", "br1"}};
  cp.before = writeManifests({fake::makeBridge("br0", 1500)});
  cp.applied = applied;
  return cp;
}

TEST(CheckpointFile, RoundTripsEveryField) {
  Checkpoint cp = leftBehind("kind: Bridge\n");
  auto back = parseCheckpoint(checkpointJson(cp), "/x/checkpoint.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, cp.id);
  EXPECT_EQ(back->owner, "default");
  EXPECT_EQ(back->pid, 999999);
  EXPECT_EQ(back->started, cp.started);
  EXPECT_EQ(back->phase, "waiting");
  EXPECT_EQ(back->deadline, cp.deadline);
  ASSERT_EQ(back->touched.size(), 1u);
  EXPECT_EQ(back->touched[0].id.str(), "Bridge/br0");
  EXPECT_EQ(back->touched[0].owner, "default");
  ASSERT_EQ(back->creates.size(), 1u);
  EXPECT_EQ(back->creates[0].str(), "Bridge/br1");
  EXPECT_EQ(back->before, cp.before);
  EXPECT_EQ(back->applied, "kind: Bridge\n");
  // The recorded state reads back with the loader as the resource it was.
  auto loaded = testing::loadYaml(back->before);
  ASSERT_FALSE(loaded.diagnostics.hasErrors());
  ASSERT_EQ(loaded.resources.size(), 1u);
  EXPECT_EQ(loaded.resources[0].as<BridgeSpec>().mtu, 1500u);
  EXPECT_NE(checkpointJson(cp).find("\"deadline\": \"2026-12-07T01:02:00Z\""), std::string::npos);
}

TEST(CheckpointFile, CorruptOrUnknownIsAnErrorNamingTheFile) {
  EXPECT_EQ(parseCheckpoint("{", "/s/checkpoint.json").error().message.substr(0, 53),
            "the network checkpoint /s/checkpoint.json is corrupt:");
  Checkpoint cp = leftBehind();
  std::string text = checkpointJson(cp);
  text.replace(text.find("\"waiting\""), 9, "\"paused\"");
  EXPECT_EQ(parseCheckpoint(text, "/s/checkpoint.json").error().message,
            "the network checkpoint /s/checkpoint.json is corrupt: phase paused is not applying, waiting or "
            "rolling-back; check the host's links by hand, then move the file away.");
  EXPECT_EQ(parseResourceId("Nope/x"), std::nullopt);
  EXPECT_EQ(parseResourceId("LogicalVolume/vg0/data")->str(), "LogicalVolume/vg0/data");
}

TEST(Checkpoint, FailedActionRollsBackTheNetworkAndExits4) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(docs({bridge("br0", 1500)}))), 0) << f.err.str();
  f.net->failOn = {ResourceId{kinds::Bridge, "", "br2"}};
  const int code = f.apply(f.options(docs({bridge("br0", 9000), bridge("br1", 1500), bridge("br2", 1500)})));
  EXPECT_EQ(code, kExitPartial);
  EXPECT_EQ(f.mtuOf("br0"), 1500u);
  EXPECT_FALSE(f.has(kinds::Bridge, "br1"));
  EXPECT_FALSE(f.has(kinds::Bridge, "br2"));
  const std::string out = f.out.str();
  const auto rolling = out.find("Rolling back the network changes of this apply:\n");
  ASSERT_NE(rolling, std::string::npos) << out;
  EXPECT_EQ(out.substr(rolling),
            "Rolling back the network changes of this apply:\n"
            "~ Bridge/br0                    mtu 9000 -> 1500\n"
            "- Bridge/br1                    delete (prune)\n"
            "Plan: 0 to create, 1 to change, 1 to delete.\n"
            "Bridge/br0: updated\n"
            "Bridge/br1: deleted\n"
            "Rollback complete: 2 done.\n");
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
  // The failed apply is not kept: boot would bring up the first one.
  EXPECT_NE(slurp(lastAppliedFile(f.state, "default")).find("mtu: 1500"), std::string::npos);
}

TEST(Checkpoint, APrunedObjectIsCreatedAgainWithItsOwner) {
  Fixture f;
  RunOptions first = f.options(docs({bridge("br0", 1500), bridge("br1", 1500)}));
  first.owner = "team";
  ASSERT_EQ(f.apply(first), 0);
  f.net->failOn = {ResourceId{kinds::Bridge, "", "br2"}};
  RunOptions second = f.options(docs({bridge("br0", 1500), bridge("br2", 1500)}));
  second.owner = "team";
  second.prune = Prune::Yes;
  EXPECT_EQ(f.apply(second), kExitPartial);
  EXPECT_NE(f.out.str().find("Bridge/br1: deleted\n"), std::string::npos) << f.out.str();
  auto br1 = f.world->get({kinds::Bridge, "", "br1"});
  ASSERT_TRUE(br1) << f.out.str();
  EXPECT_EQ(br1->owner, "team");
  EXPECT_EQ(br1->resource.as<BridgeSpec>().mtu, 1500u);
  EXPECT_FALSE(f.has(kinds::Bridge, "br2"));
}

TEST(Checkpoint, NoNetworkActionNoCheckpointAndAFailureRollsNothingBack) {
  Fixture f;
  f.storage->failOn = {ResourceId{kinds::VolumeGroup, "", "vg1"}};
  EXPECT_EQ(f.apply(f.options(docs({vg("vg0"), vg("vg1")}))), kExitPartial);
  EXPECT_EQ(f.out.str().find("Rolling back"), std::string::npos) << f.out.str();
  EXPECT_TRUE(f.has(kinds::VolumeGroup, "vg0"));
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
}

TEST(Checkpoint, SuccessKeepsTheManifestsAndRemovesTheCheckpoint) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(docs({bridge("br0", 1500), vg("vg0")}))), 0) << f.err.str();
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
  const std::string kept = slurp(lastAppliedFile(f.state, "default"));
  auto loaded = testing::loadYaml(kept);
  ASSERT_FALSE(loaded.diagnostics.hasErrors());
  std::vector<std::string> ids;
  for (const Resource& r : loaded.resources) ids.push_back(r.id.str());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"Bridge/br0", "VolumeGroup/vg0"}));
  // A converged run does not write the same manifests again; a change does.
  const auto written = std::filesystem::last_write_time(lastAppliedFile(f.state, "default"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(f.apply(f.options(docs({bridge("br0", 1500), vg("vg0")}))), 0);
  EXPECT_EQ(std::filesystem::last_write_time(lastAppliedFile(f.state, "default")), written);
  ASSERT_EQ(f.apply(f.options(docs({bridge("br0", 1500)}))), 0);
  EXPECT_EQ(slurp(lastAppliedFile(f.state, "default")).find("VolumeGroup"), std::string::npos);
}

TEST(Checkpoint, ExpiredConfirmWindowRollsBackAndExits5) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(docs({bridge("br0", 1500)}))), 0);
  RunOptions o = f.options(docs({bridge("br0", 9000), bridge("br1", 1500)}));
  o.confirmTimeout = std::chrono::seconds(1);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(f.apply(o), kExitRolledBack);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(f.mtuOf("br0"), 1500u);
  EXPECT_FALSE(f.has(kinds::Bridge, "br1"));
  const std::string out = f.out.str();
  EXPECT_NE(out.find("Apply complete: 2 done.\nWaiting 1s for confirmation: run `hostform confirm --state-dir " +
                     f.state + "` to keep these changes; without it they are rolled back.\n"
                               "No confirmation within 1s.\n"
                               "Rolling back the network changes of this apply:\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Rollback complete: 2 done.\n"), std::string::npos) << out;
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
  EXPECT_NE(slurp(lastAppliedFile(f.state, "default")).find("mtu: 1500"), std::string::npos);
}

TEST(Checkpoint, ConfirmFromAnotherCommandKeepsTheChange) {
  Fixture f;
  RunOptions o = f.options(docs({bridge("br0", 9000)}));
  o.confirmTimeout = std::chrono::seconds(30);
  int code = -1;
  std::ostringstream out, err;
  std::thread waiter([&] { code = runApply(o, *f.providers, Console{out, err, Color::Off}); });
  // Wait until the apply waits for confirmation.
  for (int i = 0; i < 200; ++i) {
    auto cp = readCheckpoint(f.state);
    if (cp && *cp && (*cp)->phase == "waiting") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::ostringstream cout, cerr;
  EXPECT_EQ(runConfirm(f.state, Console{cout, cerr, Color::Off}), kExitOk) << cerr.str();
  EXPECT_EQ(cout.str().substr(0, 28), "Confirmed: the apply of pid ");
  waiter.join();
  EXPECT_EQ(code, kExitOk) << out.str() << err.str();
  EXPECT_NE(out.str().find("Confirmed: the changes are kept.\n"), std::string::npos) << out.str();
  EXPECT_EQ(f.mtuOf("br0"), 9000u);
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
  EXPECT_FALSE(onDisk(confirmFile(f.state)));
  EXPECT_NE(slurp(lastAppliedFile(f.state, "default")).find("mtu: 9000"), std::string::npos);
}

/// The world as the apply behind leftBehind() left it: br0 at 9000, br1 made.
void changedByDeadRun(Fixture& f) {
  f.world->put(fake::makeBridge("br0", 9000), "default");
  f.world->put(fake::makeBridge("br1", 1500), "default");
}

TEST(Checkpoint, NextApplyRollsBackACheckpointLeftByADeadRunThenContinues) {
  Fixture f;
  changedByDeadRun(f);
  ASSERT_TRUE(writeCheckpoint(f.state, leftBehind()));
  EXPECT_EQ(f.apply(f.options(docs({vg("vg0")}))), kExitOk) << f.err.str();
  EXPECT_EQ(f.err.str(),
            "warning: an apply (pid 999999, started 2026-12-07T01:00:00Z) left an unconfirmed network checkpoint: its "
            "confirm deadline 2026-12-07T01:02:00Z has passed; rolling it back first.\n");
  EXPECT_EQ(f.out.str().substr(0, f.out.str().find("Rollback complete")),
            "Rolling back the network changes of the apply of pid 999999:\n"
            "~ Bridge/br0                    mtu 9000 -> 1500\n"
            "- Bridge/br1                    delete (prune)\n"
            "Plan: 0 to create, 1 to change, 1 to delete.\n"
            "Bridge/br0: updated\n"
            "Bridge/br1: deleted\n");
  EXPECT_EQ(f.mtuOf("br0"), 1500u);
  EXPECT_FALSE(f.has(kinds::Bridge, "br1"));
  EXPECT_TRUE(f.has(kinds::VolumeGroup, "vg0"));  // and then the apply went on
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
}

TEST(Checkpoint, PlanReportsAPendingCheckpointAndChangesNothing) {
  Fixture f;
  changedByDeadRun(f);
  ASSERT_TRUE(writeCheckpoint(f.state, leftBehind()));
  EXPECT_EQ(runPlan(f.options(docs({bridge("br0", 9000)})), *f.providers, f.console()), kExitOk);
  EXPECT_EQ(f.err.str(), "warning: a network checkpoint of the apply of pid 999999 is pending in " +
                             checkpointFile(f.state).string() +
                             ": unless `hostform confirm` keeps it, the next apply, watch cycle or boot rolls it back "
                             "first; this plan is of the host as it is now.\n");
  EXPECT_EQ(f.mtuOf("br0"), 9000u);
  EXPECT_TRUE(onDisk(checkpointFile(f.state)));
}

TEST(Checkpoint, ConfirmKeepsAnOrphanedCheckpoint) {
  Fixture f;
  changedByDeadRun(f);
  ASSERT_TRUE(writeCheckpoint(f.state, leftBehind(writeManifests({fake::makeBridge("br0", 9000)}))));
  std::ostringstream out, err;
  EXPECT_EQ(runConfirm(f.state, Console{out, err, Color::Off}), kExitOk) << err.str();
  EXPECT_EQ(out.str(), "Confirmed: the changes of the apply of pid 999999 (which is no longer running) are kept.\n");
  EXPECT_FALSE(onDisk(checkpointFile(f.state)));
  EXPECT_NE(slurp(lastAppliedFile(f.state, "default")).find("mtu: 9000"), std::string::npos);
  // Nothing to roll back any more.
  EXPECT_EQ(f.apply(f.options(docs({vg("vg0")}))), kExitOk);
  EXPECT_EQ(f.err.str(), "");
  EXPECT_EQ(f.mtuOf("br0"), 9000u);
}

TEST(Checkpoint, ConfirmWithNothingToConfirmFails) {
  Fixture f;
  std::ostringstream out, err;
  EXPECT_EQ(runConfirm(f.state, Console{out, err, Color::Off}), kExitError);
  EXPECT_EQ(err.str(), "error: there is nothing to confirm: no network checkpoint under " + f.state + ".\n");
}

TEST(Checkpoint, ConfirmTooLateOnceTheRollbackBegan) {
  Fixture f;
  Checkpoint cp = leftBehind();
  cp.phase = "rolling-back";
  ASSERT_TRUE(writeCheckpoint(f.state, cp));
  std::ostringstream out, err;
  EXPECT_EQ(runConfirm(f.state, Console{out, err, Color::Off}), kExitError);
  EXPECT_EQ(err.str(), "error: too late: the apply of pid 999999 is being rolled back.\n");
}

TEST(Boot, AppliesOnlyTheKeptNetworkKindsWithoutPrune) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(docs({bridge("br0", 1400), vg("vg0")}))), 0);
  // A reboot: the kernel forgot the bridge; the VG survives, as do objects
  // nobody declared.
  f.world->erase({kinds::Bridge, "", "br0"});
  f.world->erase({kinds::VolumeGroup, "", "vg0"});
  f.world->put(fake::makeBridge("br-other", 1500), "default");
  const auto storageCalls = f.storage->applyCalls();
  RunOptions o;
  o.stateDir = f.state;
  EXPECT_EQ(runBoot(o, *f.providers, f.console()), kExitOk) << f.err.str();
  EXPECT_EQ(f.out.str(), "Owner default: applying 1 resource(s) (Bridge) kept in " +
                             lastAppliedFile(f.state, "default").string() +
                             ".\n"
                             "+ Bridge/br0                    create: state (none) -> up, mtu (none) -> 1400, "
                             "stp.enabled (none) -> false, stp.priority (none) -> 32768, stp.forwardDelay (none) -> "
                             "15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, ports (none) -> [], "
                             "addresses (none) -> []\n"
                             "? Bridge/br-other               orphaned (not declared; --prune deletes it)\n"
                             "Plan: 1 to create, 0 to change, 0 to delete, 1 orphaned.\n"
                             "Bridge/br0: created\n"
                             "Apply complete: 1 done.\n");
  EXPECT_EQ(f.mtuOf("br0"), 1400u);
  EXPECT_EQ(f.storage->applyCalls(), storageCalls);  // storage untouched: not a network kind
  EXPECT_FALSE(f.has(kinds::VolumeGroup, "vg0"));
  EXPECT_TRUE(f.has(kinds::Bridge, "br-other"));  // never pruned
  // Boot keeps what it was given: the whole manifests stay for the next boot.
  EXPECT_NE(slurp(lastAppliedFile(f.state, "default")).find("VolumeGroup"), std::string::npos);
}

TEST(Boot, RollsBackAStaleCheckpointFirst) {
  Fixture f;
  changedByDeadRun(f);
  ASSERT_TRUE(writeLastApplied(f.state, "default", writeManifests({fake::makeBridge("br0", 1500)})));
  ASSERT_TRUE(writeCheckpoint(f.state, leftBehind()));
  RunOptions o;
  o.stateDir = f.state;
  EXPECT_EQ(runBoot(o, *f.providers, f.console()), kExitOk) << f.err.str();
  const std::string out = f.out.str();
  const auto rollback = out.find("Rollback complete: 2 done.\n");
  const auto boot = out.find("Owner default: applying 1 resource(s) (Bridge)");
  ASSERT_NE(rollback, std::string::npos) << out;
  ASSERT_NE(boot, std::string::npos) << out;
  EXPECT_LT(rollback, boot);
  EXPECT_NE(out.find("No changes. Host matches the manifests.\n", boot), std::string::npos) << out;
  EXPECT_EQ(f.mtuOf("br0"), 1500u);
  EXPECT_FALSE(f.has(kinds::Bridge, "br1"));
}

TEST(Boot, NothingKeptDoesNothing) {
  Fixture f;
  f.world->put(fake::makeBridge("br0", 1500), "default");
  RunOptions o;
  o.stateDir = f.state;
  EXPECT_EQ(runBoot(o, *f.providers, f.console()), kExitOk);
  EXPECT_EQ(f.out.str(), "Nothing to bring up: no manifests kept in " + f.state + "/last-applied.\n");
  EXPECT_EQ(f.net->applyCalls(), 0u);
  EXPECT_EQ(f.net->observeCalls(), 0u);
  EXPECT_TRUE(f.has(kinds::Bridge, "br0"));
}

TEST(Boot, AnotherRunHoldingTheLockIsAnError) {
  Fixture f;
  auto held = StateLock::acquire(f.state, std::chrono::milliseconds(0));
  ASSERT_TRUE(held);
  RunOptions o;
  o.stateDir = f.state;
  EXPECT_EQ(runBoot(o, *f.providers, f.console()), kExitError);
  EXPECT_NE(f.err.str().find("error: "), std::string::npos);
}

}  // namespace
}  // namespace hostform
