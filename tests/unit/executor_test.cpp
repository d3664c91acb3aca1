#include "reconciler/executor.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_provider.h"

namespace hostform {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fake::FakeProvider;
using fake::FakeWorld;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Action create(const Resource& r, Provider& p, std::vector<std::size_t> after = {}) {
  Action a;
  a.op = Op::Create;
  a.id = r.id;
  a.desired = &r;
  a.provider = &p;
  a.after = std::move(after);
  return a;
}

Action update(const Resource& r, const Observed& live, Provider& p, std::vector<std::size_t> after = {}) {
  Action a = create(r, p, std::move(after));
  a.op = Op::Update;
  a.live = &live;
  return a;
}

Action remove(const Observed& live, Provider& p, std::vector<std::size_t> after = {}) {
  Action a;
  a.op = Op::Delete;
  a.id = live.resource.id;
  a.live = &live;
  a.provider = &p;
  a.after = std::move(after);
  return a;
}

std::vector<Outcome> statuses(const ApplyReport& report) {
  std::vector<Outcome> out;
  for (const auto& o : report.outcomes) out.push_back(o.status);
  return out;
}

std::size_t position(const std::vector<ResourceId>& order, const ResourceId& id) {
  return static_cast<std::size_t>(std::ranges::find(order, id) - order.begin());
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    stateDir_ = fs::temp_directory_path() / ("hostform-executor-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(stateDir_);
  }
  void TearDown() override { fs::remove_all(stateDir_); }

  /// A small planner over the fake providers: create what is missing, update
  /// what differs, each after the actions that create what it references.
  Plan planFor(std::vector<Resource> desired) {
    Plan plan;
    plan.desired = std::move(desired);
    for (FakeProvider* p : providers()) {
      auto seen = p->observe();
      EXPECT_TRUE(seen);
      for (Observed& o : seen->objects) plan.observed.push_back(std::move(o));
      plan.snapshots.emplace(p, std::move(seen->snapshot));
    }
    PlanContext ctx;
    for (const Resource& r : plan.desired) ctx.desired[r.id] = &r;
    for (const Observed& o : plan.observed) ctx.observed[o.resource.id] = &o;
    std::map<ResourceId, std::size_t> actionOf;
    for (const Resource& r : plan.desired) {
      FakeProvider* p = providerFor(r.kind());
      const Observed* live = ctx.findObserved(r.id);
      Diff diff = p->plan(r, live, ctx, *plan.snapshots.at(p));
      if (live && diff.changes.empty()) continue;
      Action a = live ? update(r, *live, *p) : create(r, *p);
      a.changes = diff.changes;
      for (const Reference& ref : references(r))
        if (auto it = actionOf.find(ref.target); it != actionOf.end()) a.after.push_back(it->second);
      actionOf[r.id] = plan.actions.size();
      plan.actions.push_back(std::move(a));
    }
    return plan;
  }

  std::vector<FakeProvider*> providers() { return {&net_, &lvm_, &kvm_}; }
  FakeProvider* providerFor(Kind kind) {
    for (FakeProvider* p : providers()) {
      const std::vector<Kind> kinds = p->kinds();
      if (std::ranges::find(kinds, kind) != kinds.end()) return p;
    }
    return nullptr;
  }

  fs::path stateDir_;
  std::shared_ptr<FakeWorld> world_ = std::make_shared<FakeWorld>();
  FakeProvider net_{"netlink", {kinds::Bridge}, world_};
  FakeProvider lvm_{"lvm", {kinds::VolumeGroup, kinds::LogicalVolume}, world_};
  FakeProvider kvm_{"kvm", {kinds::StoragePool, kinds::Volume, kinds::VirtualMachine}, world_};
};

TEST_F(ExecutorTest, RunsActionsAfterWhatTheyDependOn) {
  Plan plan;
  plan.desired = {fake::makeVg("vg0", {"/dev/vdb"}), fake::makeLv("vg0", "data", 10 * GiB),
                  fake::makeLv("vg0", "logs", 1 * GiB), fake::makeBridge("br0"), fake::makeVm("web1", 2, 2 * GiB)};
  lvm_.delay = net_.delay = kvm_.delay = 10ms;
  plan.actions = {create(plan.desired[0], lvm_),         create(plan.desired[1], lvm_, {0}),
                  create(plan.desired[2], lvm_, {0}),    create(plan.desired[3], net_),
                  create(plan.desired[4], kvm_, {1, 3})};

  std::vector<std::string> events;  // callbacks never overlap, so no lock needed
  ExecuteOptions options;
  options.jobs = 4;
  options.onStart = [&](const Action& a) { events.push_back("start " + a.id.str()); };
  options.onFinish = [&](const Action& a, const ActionOutcome& o) {
    events.push_back("finish " + a.id.str() + " " + std::string(toString(o.status)));
  };
  ApplyReport report = execute(plan, options);

  EXPECT_EQ(report.done(), 5u);
  EXPECT_TRUE(report.ok());
  const auto order = lvm_.applied();
  EXPECT_LT(position(order, plan.desired[0].id), position(order, plan.desired[1].id));
  EXPECT_LT(position(order, plan.desired[0].id), position(order, plan.desired[2].id));
  for (const Resource& r : plan.desired) {
    auto live = world_->get(r.id);
    ASSERT_TRUE(live) << r.id.str();
    EXPECT_EQ(live->owner, "default");
  }
  // Every action's finish is reported before its dependents start.
  auto at = [&](const std::string& e) { return std::ranges::find(events, e) - events.begin(); };
  ASSERT_EQ(events.size(), 10u);
  EXPECT_LT(at("finish VolumeGroup/vg0 done"), at("start LogicalVolume/vg0/data"));
  EXPECT_LT(at("finish LogicalVolume/vg0/data done"), at("start VirtualMachine/web1"));
  EXPECT_LT(at("finish Bridge/br0 done"), at("start VirtualMachine/web1"));
}

TEST_F(ExecutorTest, RunsIndependentActionsInParallelUpToJobs) {
  Plan plan;
  for (int i = 0; i < 8; ++i) plan.desired.push_back(fake::makeBridge("br" + std::to_string(i)));
  for (const Resource& r : plan.desired) plan.actions.push_back(create(r, net_));
  net_.delay = 50ms;

  ExecuteOptions options;
  options.jobs = 4;
  ApplyReport report = execute(plan, options);
  EXPECT_EQ(report.done(), 8u);
  EXPECT_EQ(net_.maxConcurrency(), 4);
}

TEST_F(ExecutorTest, OneJobRunsOneActionAtATime) {
  Plan plan;
  for (int i = 0; i < 4; ++i) plan.desired.push_back(fake::makeBridge("br" + std::to_string(i)));
  for (const Resource& r : plan.desired) plan.actions.push_back(create(r, net_));
  net_.delay = 20ms;

  ExecuteOptions options;
  options.jobs = 1;
  ApplyReport report = execute(plan, options);
  EXPECT_EQ(report.done(), 4u);
  EXPECT_EQ(net_.maxConcurrency(), 1);
  EXPECT_EQ(world_->size(), 4u);
}

TEST_F(ExecutorTest, OneJobRunsInPlanOrderWhereDependenciesAllow) {
  Plan plan;
  plan.desired = {fake::makeVg("vg0", {"/dev/vdb"}), fake::makeLv("vg0", "data", GiB), fake::makeBridge("br0")};
  plan.actions = {create(plan.desired[0], lvm_), create(plan.desired[1], lvm_, {0}), create(plan.desired[2], net_)};
  std::vector<ResourceId> started;
  ExecuteOptions options;
  options.jobs = 1;
  options.onStart = [&](const Action& a) { started.push_back(a.id); };
  execute(plan, options);
  EXPECT_THAT(started, ElementsAre(plan.desired[0].id, plan.desired[1].id, plan.desired[2].id));
}

TEST_F(ExecutorTest, ProgressReportsReachTheCallbackBetweenStartAndFinish) {
  Plan plan;
  plan.desired = {fake::makeVm("web1", 2, 2 * GiB), fake::makeBridge("br0")};
  plan.actions = {create(plan.desired[0], kvm_), create(plan.desired[1], net_)};
  kvm_.progressReports = {"waiting for ACPI shutdown, 1s of 60s", "waiting for ACPI shutdown, 2s of 60s"};

  std::vector<std::string> events;  // callbacks never overlap, so no lock needed
  ExecuteOptions options;
  options.jobs = 2;
  options.onStart = [&](const Action& a) { events.push_back("start " + a.id.str()); };
  options.onProgress = [&](const Action& a, const std::string& m) { events.push_back(a.id.str() + ": " + m); };
  options.onFinish = [&](const Action& a, const ActionOutcome&) { events.push_back("finish " + a.id.str()); };
  ApplyReport report = execute(plan, options);
  ASSERT_TRUE(report.ok());

  std::vector<std::string> web1;
  for (const auto& e : events)
    if (e.find("web1") != std::string::npos) web1.push_back(e);
  EXPECT_THAT(web1, ElementsAre("start VirtualMachine/web1",
                                "VirtualMachine/web1: waiting for ACPI shutdown, 1s of 60s",
                                "VirtualMachine/web1: waiting for ACPI shutdown, 2s of 60s",
                                "finish VirtualMachine/web1"));
  EXPECT_EQ(events.size(), 6u);  // br0 reports nothing: only its start and finish
}

TEST_F(ExecutorTest, ProgressWithoutACallbackIsHarmless) {
  Plan plan;
  plan.desired = {fake::makeBridge("br0")};
  plan.actions = {create(plan.desired[0], net_)};
  net_.progressReports = {"setting MTU"};
  ApplyReport report = execute(plan, {});
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(world_->contains(plan.desired[0].id));
}

TEST_F(ExecutorTest, OnceAskedToStopNothingMoreStartsAndTheRunningActionFinishes) {
  Plan plan;
  plan.desired = {fake::makeVg("vg0", {"/dev/vdb"}), fake::makeLv("vg0", "data", GiB), fake::makeBridge("br0")};
  plan.actions = {create(plan.desired[0], lvm_), create(plan.desired[1], lvm_, {0}), create(plan.desired[2], net_)};
  bool stop = false;
  ExecuteOptions options;
  options.jobs = 1;
  // The stop request arrives while the first action runs (watch's SIGTERM).
  options.onStart = [&](const Action&) { stop = true; };
  options.stopRequested = [&] { return stop; };
  ApplyReport report = execute(plan, options);
  EXPECT_THAT(statuses(report), ElementsAre(Outcome::Done, Outcome::Skipped, Outcome::Skipped));
  EXPECT_EQ(report.outcomes[1].message, "not started: hostform is stopping");
  EXPECT_EQ(report.outcomes[2].message, "not started: hostform is stopping");
  EXPECT_TRUE(world_->get(plan.desired[0].id));
  EXPECT_FALSE(world_->get(plan.desired[2].id));
}

TEST_F(ExecutorTest, SameSerialKeyNeverRunsAtOnceWhileOtherKeysRunInParallel) {
  Plan plan;
  for (const char* vg : {"vg0", "vg1"})
    for (int i = 0; i < 3; ++i) plan.desired.push_back(fake::makeLv(vg, "lv" + std::to_string(i), GiB));
  for (const Resource& r : plan.desired) plan.actions.push_back(create(r, lvm_));
  lvm_.delay = 50ms;
  lvm_.serialKeyOf = [](const Action& a) { return "vg:" + a.id.scope; };

  ExecuteOptions options;
  options.jobs = 6;
  ApplyReport report = execute(plan, options);
  EXPECT_EQ(report.done(), 6u);
  EXPECT_EQ(lvm_.maxConcurrency("vg:vg0"), 1);
  EXPECT_EQ(lvm_.maxConcurrency("vg:vg1"), 1);
  EXPECT_EQ(lvm_.maxConcurrency(), 2);
}

TEST_F(ExecutorTest, FailureSkipsDependentsAndLetsIndependentActionsFinish) {
  Plan plan;
  plan.desired = {fake::makeVg("vg0", {"/dev/vdb"}), fake::makeLv("vg0", "pool", 10 * GiB, LvType::ThinPool),
                  fake::makeLv("vg0", "thin1", 20 * GiB, LvType::Thin), fake::makeBridge("br0")};
  plan.actions = {create(plan.desired[0], lvm_), create(plan.desired[1], lvm_, {0}),
                  create(plan.desired[2], lvm_, {1}), create(plan.desired[3], net_)};
  lvm_.failOn = {plan.desired[0].id};

  ApplyReport report = execute(plan, {});
  EXPECT_THAT(statuses(report), ElementsAre(Outcome::Failed, Outcome::Skipped, Outcome::Skipped, Outcome::Done));
  EXPECT_EQ(report.outcomes[0].message, "injected failure");
  EXPECT_EQ(report.outcomes[1].message, "depends on VolumeGroup/vg0, which failed");
  EXPECT_EQ(report.outcomes[2].message, "depends on VolumeGroup/vg0, which failed");
  EXPECT_EQ(report.done(), 1u);
  EXPECT_EQ(report.failed(), 1u);
  EXPECT_EQ(report.skipped(), 2u);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(lvm_.applyCalls(), 1u) << "skipped actions never reach the provider";
  EXPECT_EQ(world_->size(), 1u);
  EXPECT_TRUE(world_->contains(plan.desired[3].id));
}

TEST_F(ExecutorTest, ProviderExceptionBecomesAFailure) {
  Plan plan;
  plan.observed = {{fake::makeBridge("br0", 1500), "default"}};
  plan.desired = {fake::makeBridge("br0", 9000)};
  plan.actions = {update(plan.desired[0], plan.observed[0], net_)};
  world_->put(plan.observed[0]);
  net_.ignoreFields = {"noSuchField"};  // makes the fake throw inside apply()

  ApplyReport report = execute(plan, {});
  ASSERT_EQ(report.failed(), 1u);
  EXPECT_EQ(report.outcomes[0].message,
            "unexpected error from the netlink provider: FakeProvider: cannot ignore unknown field noSuchField");
}

TEST_F(ExecutorTest, OrphansAreNeverRun) {
  Plan plan;
  plan.observed = {{fake::makeBridge("old"), "default"}};
  world_->put(plan.observed[0]);
  Action orphan = remove(plan.observed[0], net_);
  orphan.op = Op::Orphan;
  plan.desired = {fake::makeBridge("br0")};
  plan.actions = {orphan, create(plan.desired[0], net_, {0})};

  ApplyReport report = execute(plan, {});
  EXPECT_THAT(statuses(report), ElementsAre(Outcome::Pending, Outcome::Done));
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(world_->contains(plan.observed[0].resource.id));
  EXPECT_THAT(net_.applied(), ElementsAre(plan.desired[0].id));
}

TEST_F(ExecutorTest, RefusesDataLossUnlessThePlanAllowsIt) {
  Plan plan;
  plan.observed = {{fake::makeLv("vg0", "data", 20 * GiB), "default"}};
  plan.desired = {fake::makeLv("vg0", "data", 10 * GiB)};
  world_->put(plan.observed[0]);
  PlanContext ctx;
  Diff diff = lvm_.plan(plan.desired[0], &plan.observed[0], ctx, Snapshot());
  ASSERT_TRUE(diff.dataLoss);
  Action shrink = update(plan.desired[0], plan.observed[0], lvm_);
  shrink.changes = diff.changes;
  shrink.dataLoss = diff.dataLoss;
  plan.actions = {shrink};

  ApplyReport refused = execute(plan, {});
  ASSERT_EQ(refused.failed(), 1u);
  EXPECT_EQ(refused.outcomes[0].message,
            "refused: shrinking LogicalVolume/vg0/data from 20GiB to 10GiB loses the data beyond 10GiB; "
            "pass --allow-data-loss to allow it.");
  EXPECT_EQ(lvm_.applyCalls(), 0u);
  EXPECT_EQ(world_->get(plan.desired[0].id)->resource.as<LogicalVolumeSpec>().size, 20 * GiB);

  plan.allowDataLoss = true;
  ApplyReport allowed = execute(plan, {});
  EXPECT_EQ(allowed.done(), 1u);
  EXPECT_EQ(world_->get(plan.desired[0].id)->resource.as<LogicalVolumeSpec>().size, 10 * GiB);
}

TEST_F(ExecutorTest, AReplaceReachesTheProviderAsItsDeleteThenItsCreate) {
  Plan plan;
  plan.observed = {{fake::makeLv("vg0", "data", 20 * GiB, LvType::ThinPool), "default"}};
  plan.desired = {fake::makeLv("vg0", "data", 10 * GiB)};
  world_->put(plan.observed[0]);
  Action replace = update(plan.desired[0], plan.observed[0], lvm_);
  replace.op = Op::Replace;
  replace.changes = {{"type", "thin-pool", "linear", ChangeClass::Replace}};
  plan.actions = {replace};

  ApplyReport report = execute(plan, {});
  ASSERT_EQ(report.done(), 1u) << report.outcomes[0].message;
  EXPECT_EQ(report.outcomes[0].message, "replaced");
  EXPECT_EQ(lvm_.applyCalls(), 2u);  // a Replace itself would have failed in the fake
  EXPECT_EQ(lvm_.applied(), (std::vector<ResourceId>{plan.desired[0].id, plan.desired[0].id}));
  const std::optional<Observed> now = world_->get(plan.desired[0].id);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->resource.as<LogicalVolumeSpec>().type, LvType::Linear);
  EXPECT_EQ(now->resource.as<LogicalVolumeSpec>().size, 10 * GiB);
}

TEST_F(ExecutorTest, VerifyNamesTheFieldThatDidNotReachItsValue) {
  Plan plan;
  plan.observed = {{fake::makeBridge("br0", 1500), "default"}};
  plan.desired = {fake::makeBridge("br0", 9000)};
  world_->put(plan.observed[0]);
  plan.actions = {update(plan.desired[0], plan.observed[0], net_)};
  net_.ignoreFields = {"mtu"};

  ExecuteOptions options;
  ApplyReport report = execute(plan, options);
  ASSERT_EQ(report.done(), 1u);
  verify(plan, report, options);
  EXPECT_THAT(report.verifyFailures, ElementsAre("Bridge/br0: mtu is 1500 on the host, expected 9000"));
  EXPECT_FALSE(report.ok());
}

TEST_F(ExecutorTest, VerifyNoticesObjectsThatVanishedOrStayed) {
  Plan plan;
  plan.observed = {{fake::makeBridge("old"), "default"}};
  plan.desired = {fake::makeBridge("br0")};
  world_->put(plan.observed[0]);
  plan.actions = {create(plan.desired[0], net_), remove(plan.observed[0], net_)};

  // Something else on the host undoes both actions as soon as they finish.
  ExecuteOptions options;
  options.onFinish = [&](const Action& a, const ActionOutcome&) {
    if (a.op == Op::Create) world_->erase(a.id);
    if (a.op == Op::Delete) world_->put(*a.live);
  };
  ApplyReport report = execute(plan, options);
  ASSERT_EQ(report.done(), 2u);
  verify(plan, report, options);
  EXPECT_THAT(report.verifyFailures, ElementsAre("Bridge/br0: not found on the host after create",
                                                 "Bridge/old: still on the host after delete"));
}

TEST_F(ExecutorTest, VerifyChecksTheOwnerAndReportsObserveFailures) {
  Plan plan;
  plan.desired = {fake::makeBridge("br0"), fake::makeLv("vg0", "data", GiB)};
  plan.actions = {create(plan.desired[0], net_), create(plan.desired[1], lvm_)};
  ExecuteOptions options;
  options.onFinish = [&](const Action& a, const ActionOutcome&) {
    if (a.op == Op::Create && a.id.kind == kinds::Bridge) world_->put(*a.desired, "someone-else");
  };
  ApplyReport report = execute(plan, options);
  ASSERT_EQ(report.done(), 2u);
  lvm_.observeError = "lvm fullreport exited with status 5.";
  verify(plan, report, options);
  EXPECT_THAT(report.verifyFailures,
              ElementsAre("lvm: observe after apply failed: lvm fullreport exited with status 5.",
                          "Bridge/br0: owner is someone-else on the host, expected default"));
}

TEST_F(ExecutorTest, SecondRunOfAFreshPlanDoesNothing) {
  auto ledger = Ledger::open(stateDir_);
  ASSERT_TRUE(ledger);
  kvm_.ledgerKinds = {kinds::StoragePool};
  const std::vector<Resource> manifests = {
      fake::makeBridge("br0", 9000),         fake::makeVg("vg0", {"/dev/vdb"}),
      fake::makeLv("vg0", "data", 10 * GiB), fake::makePool("images"),
      fake::makeVolume("images", "disk1", 20 * GiB)};
  world_->put(fake::makeBridge("br0", 1500), "default");  // drifted

  ExecuteOptions options;
  options.jobs = 3;
  options.ledger = &*ledger;
  Plan first = planFor(manifests);
  ASSERT_EQ(first.actions.size(), 5u);
  ApplyReport report = execute(first, options);
  verify(first, report, options);
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.verifyFailures);
  const std::size_t calls = net_.applyCalls() + lvm_.applyCalls() + kvm_.applyCalls();
  EXPECT_EQ(calls, 5u);

  Plan second = planFor(manifests);
  EXPECT_THAT(second.actions, IsEmpty());
  ApplyReport again = execute(second, options);
  EXPECT_THAT(again.outcomes, IsEmpty());
  EXPECT_EQ(net_.applyCalls() + lvm_.applyCalls() + kvm_.applyCalls(), calls);
}

TEST_F(ExecutorTest, LedgerRecordsOwnerBeforeCreatingAndForgetsAfterDeleting) {
  auto ledger = Ledger::open(stateDir_);
  ASSERT_TRUE(ledger);
  kvm_.ledgerKinds = {kinds::StoragePool};
  Plan plan;
  plan.observed = {{fake::makePool("old"), ""}};
  ASSERT_TRUE(ledger->record(plan.observed[0].resource.id, "default"));
  world_->put(plan.observed[0]);
  plan.desired = {fake::makePool("images")};
  plan.actions = {create(plan.desired[0], kvm_), remove(plan.observed[0], kvm_)};

  std::vector<std::string> atStart;
  ExecuteOptions options;
  options.ledger = &*ledger;
  options.onStart = [&](const Action& a) {
    atStart.push_back(a.id.str() + " owner=" + ledger->ownerOf(a.id) +
                      (world_->contains(a.id) ? " present" : " absent"));
  };
  ApplyReport report = execute(plan, options);
  ASSERT_EQ(report.done(), 2u);
  EXPECT_THAT(atStart, ::testing::UnorderedElementsAre("StoragePool/images owner=default absent",
                                                       "StoragePool/old owner=default present"));
  EXPECT_EQ(ledger->ownerOf(plan.desired[0].id), "default");
  EXPECT_EQ(world_->get(plan.desired[0].id)->owner, "") << "the ledger is the mark; the object carries none";
  EXPECT_EQ(ledger->ownerOf(plan.observed[0].resource.id), "");
  verify(plan, report, options);
  EXPECT_THAT(report.verifyFailures, IsEmpty());
  auto reopened = Ledger::open(stateDir_);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->owners(), (std::map<std::string, std::string>{{"StoragePool/images", "default"}}));
}

TEST_F(ExecutorTest, LedgerAdoptsOnUpdateAndDropsTheRecordOfAFailedCreate) {
  auto ledger = Ledger::open(stateDir_);
  ASSERT_TRUE(ledger);
  kvm_.ledgerKinds = {kinds::StoragePool};
  Plan plan;
  Resource unowned = fake::makePool("images", "/srv/old");
  plan.observed = {{unowned, ""}};
  world_->put(unowned, "");
  plan.desired = {fake::makePool("images", "/srv/images"), fake::makePool("broken")};
  plan.actions = {update(plan.desired[0], plan.observed[0], kvm_), create(plan.desired[1], kvm_)};
  kvm_.failOn = {plan.desired[1].id};

  ExecuteOptions options;
  options.ledger = &*ledger;
  ApplyReport report = execute(plan, options);
  EXPECT_THAT(statuses(report), ElementsAre(Outcome::Done, Outcome::Failed));
  EXPECT_EQ(ledger->ownerOf(plan.desired[0].id), "default");
  EXPECT_EQ(ledger->ownerOf(plan.desired[1].id), "");
}

TEST_F(ExecutorTest, LedgerKindWithoutALedgerFails) {
  kvm_.ledgerKinds = {kinds::StoragePool};
  Plan plan;
  plan.desired = {fake::makePool("images")};
  plan.actions = {create(plan.desired[0], kvm_)};
  ApplyReport report = execute(plan, {});
  ASSERT_EQ(report.failed(), 1u);
  EXPECT_EQ(report.outcomes[0].message,
            "cannot create StoragePool/images: its ownership is kept in the ledger under --state-dir, "
            "and no ledger is open.");
  EXPECT_EQ(kvm_.applyCalls(), 0u);
}

TEST_F(ExecutorTest, MalformedOrderFailsInsteadOfHanging) {
  Plan plan;
  plan.desired = {fake::makeBridge("a"), fake::makeBridge("b"), fake::makeBridge("c"), fake::makeBridge("d")};
  plan.actions = {create(plan.desired[0], net_, {1}), create(plan.desired[1], net_, {0}),
                  create(plan.desired[2], net_, {7}), create(plan.desired[3], net_)};
  ApplyReport report = execute(plan, {});
  EXPECT_THAT(statuses(report), ElementsAre(Outcome::Failed, Outcome::Failed, Outcome::Failed, Outcome::Done));
  EXPECT_EQ(report.outcomes[0].message,
            "cannot run Bridge/a: the plan orders it after itself, through a cycle of actions.");
  EXPECT_EQ(report.outcomes[2].message,
            "cannot run Bridge/c: the plan orders it after action #7, which is not another action of the plan.");
}

}  // namespace
}  // namespace hostform
