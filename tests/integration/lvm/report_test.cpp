// The report parser and the planner on captured `lvm fullreport` JSON: a
// linear host captured here, and a host with a thin pool and thin volumes
// (the captured shape, extended by hand: no device-mapper on the test machine).

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "providers/lvm/observe.h"
#include "providers/lvm/plan.h"
#include "providers/lvm/provider.h"
#include "providers/lvm/report.h"
#include "tests/support/manifests.h"

namespace hostform::lvm {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(HOSTFORM_LVM_FIXTURES) + "/" + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Devices as the plan tests describe them, without touching the host.
class FakeDevices final : public DeviceProbe {
 public:
  std::map<std::string, DeviceInfo> devices;
  std::optional<std::string> thin;  ///< why thin volumes cannot be made; nullopt: they can (the fixture's host)
  std::map<std::string, int> probed;  ///< how often each device was asked about
  int thinAsked = 0;
  Result<DeviceInfo> probe(const std::string& path) override {
    ++probed[path];
    auto it = devices.find(path);
    return it == devices.end() ? DeviceInfo{} : it->second;
  }
  std::optional<std::string> thinUnsupported() override {
    ++thinAsked;
    return thin;
  }
  Activation activated;                        ///< the fixture's host: device-mapper, activation on
  int activationAsked = 0;
  std::map<std::string, std::string> mounts;   ///< device -> mount point
  std::map<std::string, std::string> missing;  ///< tool -> why it cannot run
  Activation activation() override {
    ++activationAsked;
    return activated;
  }
  std::optional<std::string> mountPoint(const std::string& path) override {
    auto it = mounts.find(path);
    return it == mounts.end() ? std::nullopt : std::optional(it->second);
  }
  Result<std::string> profileDir() override { return std::string("/etc/lvm/profile"); }
  std::optional<std::string> toolMissing(const std::string& tool) override {
    auto it = missing.find(tool);
    return it == missing.end() ? std::nullopt : std::optional(it->second);
  }
};

/// lvm as apply tests see it: every command is recorded (as showCommand
/// prints it) and succeeds; `answers` gives the stdout of an lvm subcommand.
class RecordedCommands final : public Commands {
 public:
  std::vector<std::string> ran;
  std::map<std::string, std::string> answers;  ///< "lvs" -> its JSON
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds) override {
    ran.push_back(showCommand(argv));
    CommandOutput out;
    out.exitCode = 0;
    if (argv.size() > 1)
      if (auto it = answers.find(argv[1]); it != answers.end()) out.out = it->second;
    return out;
  }
};

/// The thin fixture as observed, a manifest, and the provider's verdicts.
class ThinHost : public ::testing::Test {
 protected:
  void SetUp() override {
    auto devices = std::make_unique<FakeDevices>();
    auto commands = std::make_unique<RecordedCommands>();
    devices_ = devices.get();
    commands_ = commands.get();
    provider_ = std::make_unique<LvmProvider>(std::move(devices), std::move(commands));
    auto state = parseFullReport(fixture("fullreport-thin.json"));
    ASSERT_TRUE(state) << state.error().message;
    Observation seen = observeFrom(std::move(*state));
    observed_ = std::move(seen.objects);
    snapshot_ = std::move(seen.snapshot);
  }

  /// Loads `yaml`, builds the context the planner would, and plans `id`.
  Diff planOf(const std::string& yaml, const std::string& id) {
    loaded_ = testing::loadYaml(yaml);
    EXPECT_FALSE(loaded_.diagnostics.hasErrors()) << testing::messages(loaded_)[0];
    ctx_ = PlanContext{};
    ctx_.owner = "prod";
    for (const Resource& r : loaded_.resources) ctx_.desired[r.id] = &r;
    for (const Observed& o : observed_) ctx_.observed[o.resource.id] = &o;
    for (const Resource& r : loaded_.resources)
      if (r.id.str() == id) return provider_->plan(r, ctx_.findObserved(r.id), ctx_, *snapshot_);
    ADD_FAILURE() << id << " is not in the manifest";
    return {};
  }

  /// A new observe of the same fixture: device answers are remembered per
  /// observe (ProbeMemo), so a test that changes them observes again.
  void reobserve() {
    auto state = parseFullReport(fixture("fullreport-thin.json"));
    ASSERT_TRUE(state);
    Observation seen = observeFrom(std::move(*state));
    observed_ = std::move(seen.objects);
    snapshot_ = std::move(seen.snapshot);
  }

  const Observed* find(const std::string& id) const {
    for (const Observed& o : observed_)
      if (o.resource.id.str() == id) return &o;
    return nullptr;
  }

  /// Plans `id` from `yaml` as planOf does, then applies the update (or,
  /// with `remove`, the delete of the live object) as the executor would.
  Result<void> applyOf(const std::string& yaml, const std::string& id, bool remove = false) {
    Action a;
    a.live = find(id);
    a.provider = provider_.get();
    a.snapshot = snapshot_.get();
    if (remove) {
      a.op = Op::Delete;
      a.id = a.live->resource.id;
    } else {
      const Diff diff = planOf(yaml, id);
      EXPECT_TRUE(diff.problems.empty()) << diff.problems[0].message;
      a.op = Op::Update;
      a.changes = diff.changes;
      a.delta = diff.delta;
      for (const Resource& r : loaded_.resources)
        if (r.id.str() == id) a.desired = &r, a.id = r.id;
    }
    return provider_->apply(a, ApplyContext{"prod"});
  }

  /// The action the planner makes of `id` in `yaml`: a create, or an update
  /// that adopts the object when it is unowned, with the row the planner
  /// shows for that.
  Action actionOf(const std::string& yaml, const std::string& id) {
    const Diff diff = planOf(yaml, id);
    EXPECT_TRUE(diff.problems.empty()) << diff.problems[0].message;
    Action a;
    for (const Resource& r : loaded_.resources)
      if (r.id.str() == id) a.desired = &r, a.id = r.id;
    a.live = find(id);
    a.op = a.live ? Op::Update : Op::Create;
    a.changes = diff.changes;
    a.delta = diff.delta;
    a.provider = provider_.get();
    a.snapshot = snapshot_.get();
    if (a.live && a.live->owner.empty()) {
      a.adopt = true;
      a.changes.push_back({"owner", std::nullopt, "prod", ChangeClass::Live});
    }
    return a;
  }

  Result<void> run(const Action& a) { return provider_->apply(a, ApplyContext{"prod"}); }

  FakeDevices* devices_ = nullptr;
  RecordedCommands* commands_ = nullptr;
  std::unique_ptr<LvmProvider> provider_;
  std::vector<Observed> observed_;
  std::shared_ptr<const Snapshot> snapshot_;
  LoadResult loaded_;
  PlanContext ctx_;
};

const char* kVmdata = R"(apiVersion: hostform/v1
kind: VolumeGroup
metadata: {name: vmdata}
spec: {physicalVolumes: [/dev/sdb, /dev/sdc]}
---
)";

std::string lv(const std::string& name, const std::string& spec) {
  return "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: " + name + "}\nspec: " + spec + "\n---\n";
}

TEST(LvmReport, ParsesTheCapturedLinearReport) {
  auto state = parseFullReport(fixture("fullreport-linear.json"));
  ASSERT_TRUE(state) << state.error().message;
  ASSERT_EQ(state->volumeGroups.size(), 2u);
  EXPECT_EQ(state->volumeGroups[0].name, "hfvg");
  EXPECT_EQ(state->volumeGroups[0].extentSize, 4 * MiB);
  EXPECT_EQ(state->volumeGroups[0].freeExtents, 46u);
  EXPECT_EQ(state->volumeGroups[0].physicalVolumes, std::vector<std::string>{"/dev/loop1"});
  auto observed = toObserved(*state);
  ASSERT_EQ(observed.size(), 5u);
  EXPECT_EQ(observed[2].resource.id.str(), "LogicalVolume/hfvg/data");
  EXPECT_EQ(observed[2].resource.as<LogicalVolumeSpec>().size, 12 * MiB);
  EXPECT_EQ(observed[2].owner, "t1");
}

TEST(LvmReport, RefusesWhatIsNotAReport) {
  EXPECT_FALSE(parseFullReport("File descriptor 3 leaked"));
  auto missing = parseFullReport(R"({"report":[{"vg":[{"vg_name":"a"}]}]})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "The lvm report has no vg_tags for a volume group; this lvm2 version reports differently than hostform "
            "expects.");
  auto empty = parseFullReport(R"({"report":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->volumeGroups.empty());
}

/// lvm as observeHost sees it: what it has written while still running, in
/// turn, then its whole output and exit code.
class GrowingReport final : public Commands {
 public:
  std::vector<std::string> whileRunning;
  CommandOutput end;
  std::vector<bool> answers;  ///< what the watch said to each of whileRunning
  Result<CommandOutput> run(const std::vector<std::string>&, std::chrono::milliseconds) override { return end; }
  Result<CommandOutput> runWatched(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                   const OutputWatch& watch) override {
    for (const std::string& text : whileRunning) {
      answers.push_back(watch(text));
      if (answers.back()) break;
    }
    return run(argv, timeout);
  }
};

// lvm spends up to 30 ms closing its I/O context after printing the report:
// the report is taken as soon as it is whole, a part of it is not.
TEST(LvmObserve, TakesTheReportOnceItIsWholeBeforeLvmEnds) {
  const std::string report = fixture("fullreport-linear.json");
  const std::string part = report.substr(0, report.find('}', report.find(R"("lv_name")")) + 1);
  ASSERT_EQ(part.back(), '}');
  GrowingReport lvm;
  lvm.whileRunning = {part, report};
  lvm.end = {0, report, ""};
  auto seen = observeHost(lvm, std::chrono::seconds(10));
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(lvm.answers, (std::vector<bool>{false, true}));
  ASSERT_EQ(seen->objects.size(), 5u);
  EXPECT_EQ(seen->objects[2].resource.id.str(), "LogicalVolume/hfvg/data");
}

TEST(LvmObserve, AFailedExitIsAnErrorThoughTheReportWasWhole) {
  const std::string report = fixture("fullreport-linear.json");
  GrowingReport lvm;
  lvm.whileRunning = {report};
  lvm.end = {5, report, "  Volume group \"gone\" not found\n"};
  auto seen = observeHost(lvm, std::chrono::seconds(10));
  EXPECT_EQ(lvm.answers, std::vector<bool>{true});
  ASSERT_FALSE(seen);
  EXPECT_EQ(seen.error().message,
            showCommand(fullReportCommand()) + " failed with exit code 5: Volume group \"gone\" not found.");
}

TEST(LvmObserve, OutputAfterAWholeReportIsReadAgainAtTheEnd) {
  GrowingReport lvm;
  lvm.whileRunning = {R"({"report":[]})"};
  lvm.end = {0, fixture("fullreport-linear.json"), ""};
  auto seen = observeHost(lvm, std::chrono::seconds(10));
  ASSERT_TRUE(seen) << seen.error().message;
  EXPECT_EQ(lvm.answers, std::vector<bool>{true});
  EXPECT_EQ(seen->objects.size(), 5u);
}

TEST_F(ThinHost, ObservesThinPoolsThinVolumesAndOwners) {
  std::vector<std::string> ids;
  for (const Observed& o : observed_) ids.push_back(o.resource.id.str() + " owner=" + o.owner);
  // Hidden sub-LVs and the raid1 LV hostform does not manage are left out.
  EXPECT_EQ(ids, (std::vector<std::string>{"VolumeGroup/other owner=", "VolumeGroup/vmdata owner=prod",
                                           "LogicalVolume/vmdata/db owner=", "LogicalVolume/vmdata/pool owner=prod",
                                           "LogicalVolume/vmdata/root owner=prod",
                                           "LogicalVolume/vmdata/web owner=prod"}));
  const auto& web = find("LogicalVolume/vmdata/web")->resource.as<LogicalVolumeSpec>();
  EXPECT_EQ(web.type, LvType::Thin);
  EXPECT_EQ(web.thinPool, "pool");
  EXPECT_EQ(web.size, 20 * GiB);
  EXPECT_EQ(find("LogicalVolume/vmdata/pool")->resource.as<LogicalVolumeSpec>().type, LvType::ThinPool);
  EXPECT_EQ(find("VolumeGroup/vmdata")->resource.as<VolumeGroupSpec>().physicalVolumes,
            (std::vector<std::string>{"/dev/sdb", "/dev/sdc"}));
}

TEST_F(ThinHost, ConvergedThinHostPlansNothing) {
  const std::string yaml = kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB}") +
                           lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 20GiB}") +
                           lv("root", "{volumeGroup: vmdata, size: 10GiB}");
  for (const char* id : {"VolumeGroup/vmdata", "LogicalVolume/vmdata/pool", "LogicalVolume/vmdata/web",
                         "LogicalVolume/vmdata/root"}) {
    Diff d = planOf(yaml, id);
    EXPECT_TRUE(d.changes.empty()) << id;
    EXPECT_TRUE(d.problems.empty()) << id;
    EXPECT_FALSE(d.dataLoss) << id;
  }
  // Nothing to create, activate or format: lvm's activation probe (lvm config,
  // then lvm version: two processes on a real host) is never run.
  EXPECT_EQ(devices_->activationAsked, 0);
}

TEST_F(ThinHost, SizesAreRoundedUpToExtentsBeforeComparing) {
  // 10GiB - 1MiB rounds up to 10GiB with 4MiB extents: no change.
  Diff same = planOf(kVmdata + lv("root", "{volumeGroup: vmdata, size: 10239MiB}"), "LogicalVolume/vmdata/root");
  EXPECT_TRUE(same.changes.empty());
  Diff grow = planOf(kVmdata + lv("root", "{volumeGroup: vmdata, size: 10241MiB}"), "LogicalVolume/vmdata/root");
  ASSERT_EQ(grow.changes.size(), 1u);
  EXPECT_EQ(grow.changes[0].field, "size");
  EXPECT_EQ(grow.changes[0].from, "10GiB");
  EXPECT_EQ(grow.changes[0].to, "10244MiB");
}

TEST_F(ThinHost, GrowingThinVolumeAndPoolAreLiveChanges) {
  Diff thin = planOf(kVmdata + lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 40GiB}"),
                     "LogicalVolume/vmdata/web");
  ASSERT_EQ(thin.changes.size(), 1u);
  EXPECT_EQ(thin.changes[0].to, "40GiB");
  EXPECT_TRUE(thin.problems.empty());
  Diff pool = planOf(kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 2GiB}"),
                     "LogicalVolume/vmdata/pool");
  ASSERT_EQ(pool.changes.size(), 1u);
  EXPECT_EQ(pool.changes[0].from, "1GiB");
  EXPECT_EQ(pool.changes[0].to, "2GiB");
}

TEST_F(ThinHost, ShrinkingThinVolumeIsDataLossShrinkingPoolIsRefused) {
  Diff thin = planOf(kVmdata + lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 10GiB}"),
                     "LogicalVolume/vmdata/web");
  EXPECT_EQ(thin.dataLoss, "shrinking LogicalVolume/vmdata/web from 20GiB to 10GiB loses the data beyond 10GiB");
  Diff pool = planOf(kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 512MiB}"),
                     "LogicalVolume/vmdata/pool");
  ASSERT_EQ(pool.problems.size(), 1u);
  EXPECT_EQ(pool.problems[0].field, "spec.size");
  EXPECT_EQ(pool.problems[0].message,
            "thin pool vmdata/pool is 1GiB on the host and 512MiB in the manifest; lvm cannot shrink a thin pool.");
}

TEST_F(ThinHost, TypeAndPoolAreImmutable) {
  Diff type = planOf(kVmdata + lv("root", "{volumeGroup: vmdata, type: thin-pool, size: 10GiB}"),
                     "LogicalVolume/vmdata/root");
  ASSERT_EQ(type.problems.size(), 1u);
  EXPECT_EQ(type.problems[0].field, "spec.type");
  EXPECT_EQ(type.problems[0].message, "logical volume vmdata/root is linear on the host and thin-pool in the "
                                      "manifest; the type cannot be changed after creation.");
  Diff pool = planOf(kVmdata + lv("pool2", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB}") +
                         lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool2, size: 20GiB}"),
                     "LogicalVolume/vmdata/web");
  ASSERT_EQ(pool.problems.size(), 1u);
  EXPECT_EQ(pool.problems[0].field, "spec.thinPool");
}

TEST_F(ThinHost, ThinCreatesAreRefusedWhereLvmCannotMakeThem) {
  devices_->thin = "the kernel has no device-mapper driver";
  const std::string yaml = kVmdata + lv("pool2", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB}") +
                           lv("big", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 1TiB}") +
                           lv("plain", "{volumeGroup: vmdata, size: 1GiB}");
  for (const char* id : {"LogicalVolume/vmdata/pool2", "LogicalVolume/vmdata/big"}) {
    Diff d = planOf(yaml, id);
    ASSERT_EQ(d.problems.size(), 1u) << id;
    EXPECT_EQ(d.problems[0].field, "spec.type");
    EXPECT_TRUE(d.problems[0].message.starts_with("lvm2 cannot create a thin")) << d.problems[0].message;
    EXPECT_TRUE(d.problems[0].message.ends_with("on this host: the kernel has no device-mapper driver."))
        << d.problems[0].message;
  }
  EXPECT_TRUE(planOf(yaml, "LogicalVolume/vmdata/plain").problems.empty());
  // Thin volumes that exist are compared as ever: only creating one needs lvm's help.
  EXPECT_TRUE(planOf(kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 2GiB}"),
                     "LogicalVolume/vmdata/pool").problems.empty());
}

TEST_F(ThinHost, AnLvOfMoreExtentsThanLvmCountsIsRefused) {
  // lvm2 counts an LV's extents in 32 bits: 16PiB of 4MiB extents is one too many.
  Diff d = planOf(kVmdata + lv("huge", "{volumeGroup: vmdata, size: 16384TiB}"), "LogicalVolume/vmdata/huge");
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0].field, "spec.size");
  EXPECT_EQ(d.problems[0].message, "logical volume vmdata/huge of 16384TiB needs more than 4294967295 extents of 4MiB, "
                                   "which is lvm2's limit; the largest is 17179869180MiB.");
}

TEST_F(ThinHost, NewThinVolumeNeedsNoVgSpaceNewPoolDoes) {
  Diff thin = planOf(kVmdata + lv("big", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 1TiB}"),
                     "LogicalVolume/vmdata/big");
  EXPECT_TRUE(thin.problems.empty());
  // 35066 free extents = 140264MiB; a 200GiB pool (51200 extents) with its
  // estimated 128MiB metadata (32 extents; the VG already has a spare) does not fit.
  Diff pool = planOf(kVmdata + lv("pool2", "{volumeGroup: vmdata, type: thin-pool, size: 200GiB}"),
                     "LogicalVolume/vmdata/pool2");
  ASSERT_EQ(pool.problems.size(), 1u);
  EXPECT_EQ(pool.problems[0].message,
            "volume group vmdata has 35066 free extents of 4MiB (140264MiB), but the declared logical volumes of "
            "vmdata up to and including this one need 51232 more (204928MiB), 51232 of them (204928MiB) for this "
            "one.");
}

TEST_F(ThinHost, GrowthOfAllLvsOfAVgIsSummed) {
  // Each fits alone (136GiB free), together they do not: the second one in
  // identity order is refused.
  const std::string yaml = kVmdata + lv("a1", "{volumeGroup: vmdata, size: 100GiB}") +
                           lv("a2", "{volumeGroup: vmdata, size: 100GiB}");
  EXPECT_TRUE(planOf(yaml, "LogicalVolume/vmdata/a1").problems.empty());
  Diff second = planOf(yaml, "LogicalVolume/vmdata/a2");
  ASSERT_EQ(second.problems.size(), 1u);
  EXPECT_TRUE(second.problems[0].message.starts_with("volume group vmdata has 35066 free extents"))
      << second.problems[0].message;
}

TEST_F(ThinHost, VolumeGroupRefusals) {
  devices_->devices["/dev/sdf"] = DeviceInfo{true, true, 10 * GiB, "ext4 (filesystem)"};
  devices_->devices["/dev/sdg"] = DeviceInfo{true, true, 10 * GiB, ""};
  auto vg = [](const std::string& spec) {
    return "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: vmdata}\nspec: " + spec + "\n";
  };
  auto messages = [](const Diff& d) {
    std::vector<std::string> out;
    for (const auto& p : d.problems) out.push_back(p.field + ": " + p.message);
    return out;
  };
  EXPECT_EQ(messages(planOf(vg("{physicalVolumes: [/dev/sdb, /dev/sdc], extentSize: 8MiB}"), "VolumeGroup/vmdata")),
            std::vector<std::string>{"spec.extentSize: the extent size of volume group vmdata is 4MiB on the host "
                                     "and 8MiB in the manifest; it cannot be changed after creation."});
  EXPECT_EQ(messages(planOf(vg("{physicalVolumes: [/dev/sdc]}"), "VolumeGroup/vmdata")),
            std::vector<std::string>{
                "spec.physicalVolumes: physical volume /dev/sdb holds 3332 extents (13328MiB) of volume group "
                "vmdata; hostform removes only empty physical volumes and never moves data: move them with pvmove "
                "first, or keep /dev/sdb in the list."});
  EXPECT_EQ(messages(planOf(vg("{physicalVolumes: [/dev/sdb, /dev/sdc, /dev/sde, /dev/sdf, /dev/nosuch]}"),
                            "VolumeGroup/vmdata")),
            (std::vector<std::string>{
                "spec.physicalVolumes: device /dev/sde already belongs to volume group other; remove it there first "
                "(vgreduce) if it is really free.",
                "spec.physicalVolumes: device /dev/sdf is not blank: blkid finds ext4 (filesystem) on it; hostform "
                "initialises it as a physical volume only with spec.force: true, which destroys what it holds.",
                "spec.physicalVolumes: device /dev/nosuch does not exist."}));
  // force accepts the signature; an orphan PV and a blank device need nothing.
  Diff ok = planOf(vg("{physicalVolumes: [/dev/sdb, /dev/sdd, /dev/sdf, /dev/sdg], force: true}"), "VolumeGroup/vmdata");
  EXPECT_TRUE(ok.problems.empty()) << messages(ok)[0];
  ASSERT_EQ(ok.changes.size(), 1u);
  EXPECT_EQ(ok.changes[0].from, "[/dev/sdb, /dev/sdc]");
  EXPECT_EQ(ok.changes[0].to, "[/dev/sdb, /dev/sdd, /dev/sdf, /dev/sdg]");
}

TEST_F(ThinHost, DeletionSaysWhyItCannotBeDoneOrWhatItLoses) {
  // Asked as the planner asks under --prune by owner prod.
  PlanContext ctx;
  ctx.owner = "prod";
  for (const Observed& o : observed_) ctx.observed[o.resource.id] = &o;
  const Deletion root = provider_->deletion(*find("LogicalVolume/vmdata/root"), ctx, *snapshot_);
  EXPECT_TRUE(root.problems.empty());
  EXPECT_EQ(root.dataLoss, "deleting LogicalVolume/vmdata/root destroys its 10GiB of data");
  // The VG cannot go while it holds LVs this run keeps; its loss is not asked.
  auto expectHeldBy = [&](const std::string& kept) {
    const Deletion vg = provider_->deletion(*find("VolumeGroup/vmdata"), ctx, *snapshot_);
    ASSERT_EQ(vg.problems.size(), 1u);
    EXPECT_EQ(vg.problems[0].message, "volume group vmdata still holds logical volumes this run does not delete (" +
                                          kept + "): they are made by hand, owned by another owner, still declared, "
                                                 "or used by something declared");
    EXPECT_EQ(vg.dataLoss, std::nullopt);
  };
  expectHeldBy("db, mirror1");  // db is nobody's
  // Even when every LV hostform reads is prod's, mirror1 (a raid1 LV, a
  // layout hostform does not manage) keeps the VG.
  std::vector<Observed> allProds = observed_;
  for (Observed& o : allProds) {
    o.owner = "prod";
    ctx.observed[o.resource.id] = &o;
  }
  expectHeldBy("mirror1");
  // An empty VG can go and loses nothing. (What a VG with LVs loses:
  // LvmE2E.PruneDeletesAnOwnedVolumeGroupAndFreesItsDevices.)
  const Deletion empty = provider_->deletion(*find("VolumeGroup/other"), ctx, *snapshot_);
  EXPECT_TRUE(empty.problems.empty());
  EXPECT_EQ(empty.dataLoss, std::nullopt);
}

// ---- apply: the lvm commands an action runs, in order ---------------------------

TEST_F(ThinHost, ReplacingAPhysicalVolumeAddsBeforeItRemovesAndWipesTheOldOne) {
  devices_->devices["/dev/sdg"] = DeviceInfo{true, true, 10 * GiB, ""};
  ASSERT_TRUE(applyOf("apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: vmdata}\n"
                      "spec: {physicalVolumes: [/dev/sdb, /dev/sdg]}\n",
                      "VolumeGroup/vmdata"));
  EXPECT_EQ(commands_->ran, (std::vector<std::string>{"lvm pvcreate /dev/sdg", "lvm vgextend vmdata /dev/sdg",
                                                      "lvm vgreduce vmdata /dev/sdc", "lvm pvremove /dev/sdc"}));
}

TEST_F(ThinHost, DeletingAVolumeGroupLooksAgainThenRemovesItAndItsPhysicalVolumes) {
  commands_->answers["lvs"] = R"({"report": [{"lv": []}]})";
  ASSERT_TRUE(applyOf("", "VolumeGroup/vmdata", true));
  EXPECT_EQ(commands_->ran,
            (std::vector<std::string>{"lvm lvs --reportformat json -o lv_name,pool_lv vmdata", "lvm vgremove vmdata",
                                      "lvm pvremove /dev/sdb /dev/sdc"}));
}

TEST_F(ThinHost, AVolumeGroupThatStillHoldsVolumesIsNotRemoved) {
  commands_->answers["lvs"] = R"({"report": [{"lv": [{"lv_name": "late", "pool_lv": ""}]}]})";
  auto r = applyOf("", "VolumeGroup/vmdata", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "volume group vmdata still holds logical volumes hostform does not delete (late); it "
                               "deletes a volume group only once it is empty.");
  EXPECT_EQ(commands_->ran, std::vector<std::string>{"lvm lvs --reportformat json -o lv_name,pool_lv vmdata"});
}

TEST_F(ThinHost, GrowingAndShrinkingRoundToExtentsAndShrinkingIsForced) {
  ASSERT_TRUE(applyOf(std::string(kVmdata) + lv("root", "{volumeGroup: vmdata, size: 10241MiB}"),
                      "LogicalVolume/vmdata/root"));
  ASSERT_TRUE(applyOf(std::string(kVmdata) + lv("root", "{volumeGroup: vmdata, size: 9GiB}"),
                      "LogicalVolume/vmdata/root"));
  EXPECT_EQ(commands_->ran, (std::vector<std::string>{"lvm lvextend -L 10741612544b vmdata/root",
                                                      "lvm lvreduce -f -L 9663676416b vmdata/root"}));
}

// ---- the plan's delta drives apply ------------------------------------------

TEST_F(ThinHost, AResizeRunsThePlannedSizeWhateverTheSnapshotOrTheShownRowsSay) {
  Action grow = actionOf(kVmdata + lv("root", "{volumeGroup: vmdata, size: 10241MiB}"), "LogicalVolume/vmdata/root");
  const auto& delta = std::any_cast<const LogicalVolumeDelta&>(grow.delta);
  EXPECT_EQ(delta.size, 10244 * MiB);
  EXPECT_EQ(delta.resize, LogicalVolumeDelta::Resize::Extend);
  // With 8MiB extents the size would round to 10248MiB: apply does not round again.
  auto state = parseFullReport(fixture("fullreport-thin.json"));
  ASSERT_TRUE(state) << state.error().message;
  for (VolumeGroupInfo& vg : state->volumeGroups) vg.extentSize = 8 * MiB;
  const Observation other = observeFrom(std::move(*state));
  grow.snapshot = other.snapshot.get();
  grow.changes.clear();  // display only
  ASSERT_TRUE(run(grow));
  EXPECT_EQ(commands_->ran, std::vector<std::string>{"lvm lvextend -L 10741612544b vmdata/root"});
}

TEST_F(ThinHost, AdoptionIsTaggedAfterTheDeltaByTheFlagNotByTheOwnerRow) {
  // db is nobody's: growing it adopts it.
  Action db = actionOf(kVmdata + lv("db", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 16GiB}"),
                       "LogicalVolume/vmdata/db");
  ASSERT_TRUE(db.adopt);
  ASSERT_TRUE(run(db));
  EXPECT_EQ(commands_->ran, (std::vector<std::string>{"lvm lvextend -L 17179869184b vmdata/db",
                                                      "lvm lvchange --addtag hostform_owner_prod vmdata/db"}));
  // Nothing but the adoption: no delta, one vgchange.
  commands_->ran.clear();
  Action other = actionOf("apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: other}\n"
                          "spec: {physicalVolumes: [/dev/sde]}\n",
                          "VolumeGroup/other");
  EXPECT_FALSE(other.delta.has_value());
  ASSERT_TRUE(run(other));
  EXPECT_EQ(commands_->ran, std::vector<std::string>{"lvm vgchange --addtag hostform_owner_prod other"});
  // The owner row alone writes no tag.
  commands_->ran.clear();
  other.adopt = false;
  ASSERT_TRUE(run(other));
  EXPECT_TRUE(commands_->ran.empty());
}

TEST_F(ThinHost, CreatesRunThePlannedDevicesAndSizes) {
  devices_->devices["/dev/sdf"] = DeviceInfo{true, true, 10 * GiB, "ext4 (filesystem)"};
  devices_->devices["/dev/sdg"] = DeviceInfo{true, true, 10 * GiB, ""};
  const std::string yaml = std::string(kVmdata) +
                           "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: fresh}\n"
                           "spec: {physicalVolumes: [/dev/sdd, /dev/sdg, /dev/sdf], force: true}\n---\n" +
                           lv("new", "{volumeGroup: vmdata, size: 10MiB}") +
                           lv("first", "{volumeGroup: fresh, size: 10MiB}") +
                           lv("big", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 1TiB}");
  for (const char* id : {"VolumeGroup/fresh", "LogicalVolume/vmdata/new", "LogicalVolume/fresh/first",
                         "LogicalVolume/vmdata/big"})
    ASSERT_TRUE(run(actionOf(yaml, id))) << id;
  EXPECT_EQ(commands_->ran,
            (std::vector<std::string>{
                // /dev/sdd is a PV already; --yes because the plan accepted the ext4 on /dev/sdf.
                "lvm pvcreate --yes /dev/sdg", "lvm pvcreate --yes /dev/sdf",
                "lvm vgcreate -s 4096k --addtag hostform_owner_prod fresh /dev/sdd /dev/sdg /dev/sdf",
                "lvm lvcreate --yes -n new --addtag hostform_owner_prod -L 12582912b vmdata",
                // fresh is not on the host yet: lvcreate rounds to the extents it is made with.
                "lvm lvcreate --yes -n first --addtag hostform_owner_prod -L 10485760b fresh",
                "lvm lvcreate --yes -n big --addtag hostform_owner_prod --type thin -V 1099511627776b --thinpool "
                "pool vmdata"}));
}

TEST_F(ThinHost, ACreateWithoutItsDeltaRunsNothing) {
  Action a = actionOf(kVmdata + lv("new", "{volumeGroup: vmdata, size: 10MiB}"), "LogicalVolume/vmdata/new");
  a.delta.reset();
  auto r = run(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "the plan's action for LogicalVolume/vmdata/new lacks the state it needs.");
  EXPECT_TRUE(commands_->ran.empty());
}

TEST_F(ThinHost, DeviceAnswersBelongToTheObserveTheyWereAskedFor) {
  devices_->devices["/dev/sdg"] = DeviceInfo{true, true, 10 * GiB, ""};
  const std::string yaml = "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: fresh}\n"
                           "spec: {physicalVolumes: [/dev/sdg]}\n---\n" +
                           lv("a", "{volumeGroup: fresh, size: 1GiB}") + lv("b", "{volumeGroup: fresh, size: 1GiB}") +
                           lv("pool2", "{volumeGroup: fresh, type: thin-pool, size: 1GiB}") +
                           lv("pool3", "{volumeGroup: fresh, type: thin-pool, size: 1GiB}");
  auto planAll = [&] {
    for (const char* id : {"VolumeGroup/fresh", "LogicalVolume/fresh/a", "LogicalVolume/fresh/b",
                           "LogicalVolume/fresh/pool2", "LogicalVolume/fresh/pool3"})
      EXPECT_TRUE(planOf(yaml, id).problems.empty()) << id;
  };
  planAll();
  EXPECT_EQ(devices_->probed["/dev/sdg"], 1);
  EXPECT_EQ(devices_->thinAsked, 1);
  // A new observe asks again: the provider kept nothing.
  auto state = parseFullReport(fixture("fullreport-thin.json"));
  ASSERT_TRUE(state) << state.error().message;
  Observation again = observeFrom(std::move(*state));
  observed_ = std::move(again.objects);
  snapshot_ = std::move(again.snapshot);
  planAll();
  EXPECT_EQ(devices_->probed["/dev/sdg"], 2);
  EXPECT_EQ(devices_->thinAsked, 2);
}

TEST(LvmProvider, SerialKeyIsTheVolumeGroup) {
  LvmProvider p;
  Action vg;
  vg.id = {kinds::VolumeGroup, "", "vg0"};
  Action lv;
  lv.id = {kinds::LogicalVolume, "vg1", "data"};
  EXPECT_EQ(p.serialKey(vg), "vg0");
  EXPECT_EQ(p.serialKey(lv), "vg1");
}


// ---- active, filesystem, autoExtend, over-commit (issue 15) -------------------

TEST(LvmReport, ActiveIsLvmsStateOrWhereItCannotTellTheAutoactivationFlag) {
  LogicalVolumeInfo lv;
  lv.attr = "-wi-a-----";
  EXPECT_EQ(lv.active(), true);
  lv.attr = "-wi-------";
  EXPECT_EQ(lv.active(), false);
  lv.attr = "-wi-XX----";  // activation = 0 in lvm.conf, or no device-mapper
  EXPECT_EQ(lv.active(), std::nullopt);
  EXPECT_TRUE(lv.observedActive());
  lv.autoactivation = false;
  EXPECT_FALSE(lv.observedActive());
  // The captured report of this host (no device-mapper): hostform-made LVs read as active: no permanent diff.
  auto state = parseFullReport(fixture("fullreport-linear.json"));
  ASSERT_TRUE(state);
  for (const Observed& o : toObserved(*state))
    if (o.resource.kind() == kinds::LogicalVolume) {
      EXPECT_TRUE(o.resource.as<LogicalVolumeSpec>().active);
    }
}

TEST(LvmReport, AutoExtendProfilesAreNamedByWhatTheyHold) {
  EXPECT_EQ(autoExtendProfile({80, 20}), "hostform-autoextend-80-20");
  EXPECT_EQ(autoExtendOfProfile("hostform-autoextend-80-20"), (AutoExtendSpec{80, 20}));
  for (const char* other : {"", "thin-performance", "hostform-autoextend-080-20", "hostform-autoextend-80-",
                            "hostform-autoextend-80-20x", "hostform-autoextend-80"})
    EXPECT_EQ(autoExtendOfProfile(other), std::nullopt) << other;
  EXPECT_EQ(autoExtendProfileText({80, 20}),
            "# Written by hostform for thin pools declared with autoExtend; its name says what it holds.\n"
            "activation {\n\tthin_pool_autoextend_threshold = 80\n\tthin_pool_autoextend_percent = 20\n}\n");
}

TEST_F(ThinHost, OverCommittedPoolsAreWarnedAboveTheirLimit) {
  // db (8GiB) and web (20GiB) in a 1GiB pool: 2800%.
  Diff d = planOf(kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB}"),
                  "LogicalVolume/vmdata/pool");
  EXPECT_TRUE(d.problems.empty());
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0].field, "spec.size");
  EXPECT_EQ(d.warnings[0].message,
            "thin pool vmdata/pool is over-committed: its 2 thin volume(s) have 28GiB of virtual size, 2800% of its "
            "1GiB (hostform warns above 100% without autoExtend); writes to its thin volumes fail once it is full.");
  // With autoExtend up to 200% is fine: 28GiB in 16GiB is 175%.
  Diff ok = planOf(kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 16GiB, "
                                        "autoExtend: {threshold: 80, percent: 20}}"),
                   "LogicalVolume/vmdata/pool");
  EXPECT_TRUE(ok.warnings.empty());
  // Declared sizes count over live ones: web declared at 40GiB makes it 48GiB in 16GiB, 300%.
  Diff more = planOf(kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 16GiB, "
                                          "autoExtend: {threshold: 80, percent: 20}}") +
                         lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 40GiB}"),
                     "LogicalVolume/vmdata/pool");
  ASSERT_EQ(more.warnings.size(), 1u);
  EXPECT_TRUE(more.warnings[0].message.find("48GiB of virtual size, 300% of its 16GiB (hostform warns above 200% "
                                            "with autoExtend)") != std::string::npos)
      << more.warnings[0].message;
}

TEST_F(ThinHost, ActiveChangesAreLiveAndRefusedWhereLvmCannotActivate) {
  const std::string off = kVmdata + lv("root", "{volumeGroup: vmdata, size: 10GiB, active: false}");
  Diff d = planOf(off, "LogicalVolume/vmdata/root");
  ASSERT_TRUE(d.problems.empty());
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].field, "active");
  EXPECT_EQ(d.changes[0].from, "true");
  EXPECT_EQ(d.changes[0].to, "false");
  ASSERT_TRUE(applyOf(off, "LogicalVolume/vmdata/root"));
  EXPECT_EQ(commands_->ran, (std::vector<std::string>{"lvm lvchange -an vmdata/root",
                                                      "lvm lvchange --setautoactivation n vmdata/root"}));

  devices_->activated = {Activation::State::NoDriver, "the kernel has no device-mapper driver"};
  reobserve();
  Diff refused = planOf(off, "LogicalVolume/vmdata/root");
  ASSERT_EQ(refused.problems.size(), 1u);
  EXPECT_EQ(refused.problems[0].field, "spec.active");
  EXPECT_EQ(refused.problems[0].message,
            "lvm2 cannot deactivate vmdata/root on this host: the kernel has no device-mapper driver.");
  // Without device-mapper lvcreate fails for every layout: refused at plan time.
  Diff create = planOf(kVmdata + lv("new", "{volumeGroup: vmdata, size: 10MiB}"), "LogicalVolume/vmdata/new");
  ASSERT_EQ(create.problems.size(), 1u);
  EXPECT_EQ(create.problems[0].message,
            "lvm2 cannot create a logical volume on this host: the kernel has no device-mapper driver, and lvcreate "
            "activates a new volume to clear its start.");

  // activation = 0: a create is made as lvm makes it there, and the plan says it stays inactive.
  devices_->activated = {Activation::State::Off, "activation is off"};
  reobserve();
  Diff meta = planOf(kVmdata + lv("new", "{volumeGroup: vmdata, size: 10MiB}"), "LogicalVolume/vmdata/new");
  EXPECT_TRUE(meta.problems.empty());
  ASSERT_EQ(meta.warnings.size(), 1u);
  EXPECT_EQ(meta.warnings[0].message,
            "vmdata/new is created inactive: activation is off; lvm keeps it marked for activation "
            "(autoactivation), and it gets its device node once activation is on.");
}

TEST_F(ThinHost, AThinPoolGoesInactiveOnlyWithItsThinVolumes) {
  const std::string pool = lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB, active: false}");
  Diff d = planOf(kVmdata + pool + lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 20GiB}"),
                  "LogicalVolume/vmdata/pool");
  ASSERT_EQ(d.problems.size(), 1u);  // db, not declared, is active in it
  EXPECT_EQ(d.problems[0].message, "thin pool vmdata/pool cannot be inactive while thin volumes not declared here are "
                                   "active in it (db); deactivate them first.");
  Diff web = planOf(kVmdata + pool + lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 20GiB}"),
                    "LogicalVolume/vmdata/web");
  ASSERT_EQ(web.problems.size(), 1u);
  EXPECT_EQ(web.problems[0].field, "spec.active");

  const std::string all = kVmdata + pool +
                          lv("web", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 20GiB, active: false}") +
                          lv("db", "{volumeGroup: vmdata, type: thin, thinPool: pool, size: 8GiB, active: false}");
  ASSERT_TRUE(applyOf(all, "LogicalVolume/vmdata/pool"));
  EXPECT_EQ(commands_->ran,
            (std::vector<std::string>{"lvm lvchange -an vmdata/db", "lvm lvchange -an vmdata/web",
                                      "lvm lvchange -an vmdata/pool", "lvm lvchange --setautoactivation n vmdata/pool"}));
}

TEST_F(ThinHost, NewVolumesGetTheirFilesystemProfileAndActivation) {
  const std::string yaml = kVmdata + lv("fs", "{volumeGroup: vmdata, size: 1GiB, filesystem: {type: xfs}}") +
                           lv("cold", "{volumeGroup: vmdata, size: 1GiB, active: false}") +
                           lv("pool2", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB, "
                                       "autoExtend: {threshold: 80, percent: 20}}");
  for (const char* id : {"LogicalVolume/vmdata/fs", "LogicalVolume/vmdata/cold"}) ASSERT_TRUE(run(actionOf(yaml, id))) << id;
  EXPECT_EQ(commands_->ran,
            (std::vector<std::string>{
                "lvm lvcreate --yes -n fs --addtag hostform_owner_prod -L 1073741824b vmdata",
                "mkfs.xfs -q /dev/vmdata/fs",
                // made active (lvm zeroes it), then deactivated
                "lvm lvcreate --yes -n cold --addtag hostform_owner_prod -L 1073741824b --setautoactivation n vmdata",
                "lvm lvchange -an vmdata/cold"}));
  Diff pool = planOf(yaml, "LogicalVolume/vmdata/pool2");
  const auto& delta = std::any_cast<const LogicalVolumeDelta&>(pool.delta);
  ASSERT_TRUE(delta.attachProfile);
  EXPECT_EQ(delta.attachProfile->name, "hostform-autoextend-80-20");
  EXPECT_EQ(delta.attachProfile->path, "/etc/lvm/profile/hostform-autoextend-80-20.profile");

  devices_->missing["mkfs.xfs"] = "mkfs.xfs is not installed (not found in $PATH, /usr/sbin or /sbin)";
  reobserve();
  Diff noTool = planOf(yaml, "LogicalVolume/vmdata/fs");
  ASSERT_EQ(noTool.problems.size(), 1u);
  EXPECT_EQ(noTool.problems[0].message,
            "mkfs.xfs is not installed (not found in $PATH, /usr/sbin or /sbin) (xfsprogs).");

  devices_->activated = {Activation::State::Off, "activation is off in the lvm.conf lvm reads"};
  reobserve();
  Diff off = planOf(yaml, "LogicalVolume/vmdata/fs");
  ASSERT_FALSE(off.problems.empty());
  EXPECT_EQ(off.problems[0].field, "spec.filesystem");
  EXPECT_EQ(off.problems[0].message, "a filesystem needs an active logical volume, and lvm cannot activate one on "
                                     "this host: activation is off in the lvm.conf lvm reads.");
}

TEST_F(ThinHost, FilesystemsGrowWithTheLvAndShrinkOnlyAsExt4Unmounted) {
  devices_->devices["/dev/vmdata/root"] = DeviceInfo{true, true, 10 * GiB, "ext4 (filesystem)"};
  const std::string grow = kVmdata + lv("root", "{volumeGroup: vmdata, size: 12GiB, filesystem: {type: ext4}}");
  ASSERT_TRUE(applyOf(grow, "LogicalVolume/vmdata/root"));
  EXPECT_EQ(commands_->ran,
            std::vector<std::string>{"lvm lvextend --resizefs -L 12884901888b vmdata/root"});

  const std::string shrink = kVmdata + lv("root", "{volumeGroup: vmdata, size: 8GiB, filesystem: {type: ext4}}");
  Diff d = planOf(shrink, "LogicalVolume/vmdata/root");
  ASSERT_TRUE(d.problems.empty());
  EXPECT_EQ(d.dataLoss, "shrinking LogicalVolume/vmdata/root from 10GiB to 8GiB shrinks its ext4 filesystem first "
                        "(resize2fs); the data must fit in 8GiB");
  devices_->mounts["/dev/vmdata/root"] = "/srv";
  Diff mounted = planOf(shrink, "LogicalVolume/vmdata/root");
  ASSERT_EQ(mounted.problems.size(), 1u);
  EXPECT_EQ(mounted.problems[0].message, "shrinking vmdata/root from 10GiB to 8GiB needs its ext4 filesystem "
                                         "unmounted, and it is mounted at /srv; ext4 shrinks only offline.");

  devices_->devices["/dev/vmdata/root"] = DeviceInfo{true, true, 10 * GiB, "xfs (filesystem)"};
  reobserve();
  Diff xfs = planOf(kVmdata + lv("root", "{volumeGroup: vmdata, size: 8GiB, filesystem: {type: xfs}}"),
                    "LogicalVolume/vmdata/root");
  ASSERT_EQ(xfs.problems.size(), 1u);
  EXPECT_EQ(xfs.problems[0].field, "spec.size");
  EXPECT_EQ(xfs.problems[0].message,
            "shrinking vmdata/root from 10GiB to 8GiB is impossible: it holds xfs, and xfs cannot shrink.");
  Diff fixed = planOf(kVmdata + lv("root", "{volumeGroup: vmdata, size: 8GiB, filesystem: {type: ext4, resize: false}}"),
                      "LogicalVolume/vmdata/root");
  ASSERT_EQ(fixed.problems.size(), 1u);
  EXPECT_EQ(fixed.problems[0].message, "vmdata/root holds xfs (filesystem), not ext4; hostform makes a filesystem "
                                       "only on a blank volume and never converts one.");
}

TEST_F(ThinHost, AFilesystemDeclaredOnABlankExistingLvIsMadeAsDataLoss) {
  devices_->devices["/dev/vmdata/root"] = DeviceInfo{true, true, 10 * GiB, ""};
  Diff d = planOf(kVmdata + lv("root", "{volumeGroup: vmdata, size: 10GiB, filesystem: {type: ext4}}"),
                  "LogicalVolume/vmdata/root");
  ASSERT_TRUE(d.problems.empty());
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].field, "filesystem");
  EXPECT_EQ(d.changes[0].to, "ext4");
  EXPECT_EQ(d.dataLoss, "making ext4 on vmdata/root (10GiB, where blkid finds no signature) overwrites whatever it "
                        "holds");
}

TEST_F(ThinHost, AutoExtendIsAttachedChangedAndDetachedAsAProfile) {
  const std::string with = kVmdata + lv("pool", "{volumeGroup: vmdata, type: thin-pool, size: 1GiB, "
                                                "autoExtend: {threshold: 80, percent: 20}}");
  Diff d = planOf(with, "LogicalVolume/vmdata/pool");
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].field, "autoExtend");
  EXPECT_EQ(d.changes[0].from, std::nullopt);
  EXPECT_EQ(d.changes[0].to, "threshold 80%, percent 20%");
}

TEST(LvmStatusGauges, EveryThinPoolWhoseFillLvmReports) {
  auto state = parseFullReport(R"({"report": [{"vg": [{"vg_name": "vg0", "vg_tags": "", "vg_extent_size": "4194304",
    "vg_extent_count": "10", "vg_free_count": "5"}], "pv": [], "lv": [
    {"lv_name": "pool", "lv_tags": "", "lv_size": "8388608", "lv_layout": "thin,pool", "pool_lv": "", "origin": "",
     "data_percent": "12.50", "metadata_percent": "3.08"},
    {"lv_name": "cold", "lv_tags": "", "lv_size": "8388608", "lv_layout": "thin,pool", "pool_lv": "", "origin": "",
     "data_percent": "", "metadata_percent": ""}]}]})");
  ASSERT_TRUE(state) << state.error().message;
  LvmProvider provider(std::make_unique<FakeDevices>(), std::make_unique<RecordedCommands>());
  Observation seen = observeFrom(std::move(*state));
  const auto gauges = provider.gauges(*seen.snapshot);
  ASSERT_EQ(gauges.size(), 2u);  // cold's fill is unknown: no sample rather than a made-up one
  EXPECT_EQ(gauges[0].name, "hostform_thin_pool_data_percent");
  EXPECT_EQ(gauges[0].labels, (std::vector<std::pair<std::string, std::string>>{{"volume_group", "vg0"}, {"name", "pool"}}));
  EXPECT_DOUBLE_EQ(gauges[0].value, 12.5);
  EXPECT_EQ(gauges[1].name, "hostform_thin_pool_metadata_percent");
  EXPECT_DOUBLE_EQ(gauges[1].value, 3.08);
}

}  // namespace
}  // namespace hostform::lvm
