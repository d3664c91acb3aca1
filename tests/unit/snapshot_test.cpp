// The Snapshot kind (reconciler/kinds/snapshot.h), the engine's routing of a
// kind served by two providers (Provider::serves), `hostform restore`
// (reconciler/restore.h) and how a plan shows a loss with its snapshot.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "reconciler/engine.h"
#include "reconciler/kinds/snapshot.h"
#include "reconciler/restore.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using fake::FakeProvider;
using fake::FakeWorld;
using testing::loadYaml;
using testing::messages;
using Strings = std::vector<std::string>;

std::string doc(const std::string& spec, const std::string& name = "s1") {
  return "apiVersion: hostform/v1\nkind: Snapshot\nmetadata: {name: " + name + "}\nspec:\n" + spec;
}

// ---- the kind ------------------------------------------------------------------

TEST(SnapshotKind, ReadsEachSourceWithItsDefaults) {
  LoadResult r = loadYaml(doc("  source: {logicalVolume: {volumeGroup: vg0, name: data}}\n  size: 1GiB\n") + "---\n" +
                          doc("  source: {volume: {pool: images, name: web.qcow2}}\n", "s2") + "---\n" +
                          doc("  source: {virtualMachine: web1}\n  mode: external\n", "s3"));
  ASSERT_FALSE(r.diagnostics.hasErrors()) << messages(r)[0];
  ASSERT_EQ(r.resources.size(), 3u);
  const auto& lv = r.resources[0].as<SnapshotSpec>();
  EXPECT_EQ(r.resources[0].id.str(), "Snapshot/s1");
  EXPECT_EQ(lv.source.id().str(), "LogicalVolume/vg0/data");
  EXPECT_EQ(lv.size, std::optional<Bytes>(GiB));
  const auto& vol = r.resources[1].as<SnapshotSpec>();
  EXPECT_EQ(vol.source.id().str(), "Volume/images/web.qcow2");
  EXPECT_EQ(vol.mode, SnapshotMode::Internal);
  EXPECT_EQ(vol.size, std::nullopt);
  EXPECT_EQ(r.resources[2].as<SnapshotSpec>().source.id().str(), "VirtualMachine/web1");
  EXPECT_EQ(r.resources[2].as<SnapshotSpec>().mode, SnapshotMode::External);
  EXPECT_EQ(fields(r.resources[0]),
            (std::vector<Field>{{"source", "logicalVolume vg0/data"}, {"size", "1GiB"}}));
  EXPECT_EQ(fields(r.resources[2]), (std::vector<Field>{{"source", "virtualMachine web1"}, {"mode", "external"}}));
  const auto refs = references(r.resources[1]);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].field, "spec.source.volume");
}

TEST(SnapshotKind, RefusesTwoSourcesAtTheirPosition) {
  LoadResult r = loadYaml(doc("  source:\n    virtualMachine: web1\n    volume: {pool: p, name: v}\n"));
  EXPECT_EQ(messages(r), (Strings{"test.yaml:6:5: error: spec.source: expected exactly one of logicalVolume, volume, "
                                  "virtualMachine; found volume and virtualMachine"}));
}

TEST(SnapshotKind, RefusesNoSource) {
  LoadResult r = loadYaml(doc("  source: {}\n"));
  ASSERT_EQ(messages(r).size(), 1u);
  EXPECT_TRUE(messages(r)[0].starts_with("test.yaml:5:11: error: spec.source: ")) << messages(r)[0];
}

TEST(SnapshotKind, RefusesModeForAnLvAndSizeForAVolume) {
  LoadResult r = loadYaml(doc("  source: {logicalVolume: {volumeGroup: vg0, name: data}}\n  size: 1GiB\n  mode: internal\n") +
                          "---\n" + doc("  source: {volume: {pool: p, name: v}}\n  size: 1GiB\n", "s2"));
  EXPECT_EQ(messages(r), (Strings{"test.yaml:7:9: error: spec.mode: field \"mode\" is not allowed for a logicalVolume source "
                                  "(an LVM snapshot has no mode)",
                                  "test.yaml:14:9: error: spec.size: field \"size\" is not allowed for a volume source "
                                  "(only a thick LVM snapshot has a size)"}));
}

TEST(SnapshotKind, RefusesLvmReservedNamesForAnLvSource) {
  LoadResult r = loadYaml(doc("  source: {logicalVolume: {volumeGroup: vg0, name: data}}\n  size: 1GiB\n", "x_tdata"));
  EXPECT_EQ(messages(r),
            (Strings{"test.yaml:3:18: error: metadata.name: LVM reserves names containing \"_tdata\", found \"x_tdata\""}));
}

TEST(SnapshotKind, RefusesAZeroSize) {
  LoadResult r = loadYaml(doc("  source: {logicalVolume: {volumeGroup: vg0, name: data}}\n  size: 0\n"));
  ASSERT_EQ(messages(r).size(), 1u);
  EXPECT_TRUE(messages(r)[0].starts_with("test.yaml:6:9: error: spec.size: ")) << messages(r)[0];
}

// ---- routing: one kind, two providers ----------------------------------------------

bool lvSource(const Resource& r) {
  return r.kind() != kinds::Snapshot || r.as<SnapshotSpec>().source.logicalVolume.has_value();
}

/// "lvm" serves LVs and snapshots of LVs; "kvm" volumes, VMs and their snapshots.
struct TwoProviders {
  std::shared_ptr<FakeWorld> world = std::make_shared<FakeWorld>();
  FakeProvider* lvm = nullptr;
  FakeProvider* kvm = nullptr;
  std::unique_ptr<ProviderSet> providers;
  testing::TempDir dir;
  std::ostringstream out, err;

  TwoProviders() {
    auto l = std::make_unique<FakeProvider>(
        "lvm", std::vector<Kind>{kinds::VolumeGroup, kinds::LogicalVolume, kinds::Snapshot}, world);
    auto k = std::make_unique<FakeProvider>(
        "kvm", std::vector<Kind>{kinds::StoragePool, kinds::Volume, kinds::VirtualMachine, kinds::Snapshot}, world);
    l->servesOf = lvSource;
    k->servesOf = [](const Resource& r) { return r.kind() != kinds::Snapshot || !lvSource(r); };
    lvm = l.get();
    kvm = k.get();
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::move(l));
    list.push_back(std::move(k));
    providers = std::make_unique<ProviderSet>(std::move(list));
    world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
    world->put(fake::makeLv("vg0", "data", 10 * GiB), "default");
  }

  RunOptions options(const std::string& yaml) {
    RunOptions o;
    o.files = {dir.write("host.yaml", yaml)};
    o.stateDir = dir.path() + "/state";
    o.jobs = 1;
    return o;
  }

  int run(int (*command)(const RunOptions&, ProviderSet&, const Console&), const RunOptions& o) {
    out.str("");
    err.str("");
    return command(o, *providers, Console{out, err, Color::Off});
  }

  int restore(const std::string& name, RunOptions o) {
    out.str("");
    err.str("");
    return runRestore(RestoreOptions{name, std::move(o)}, *providers, Console{out, err, Color::Off});
  }
};

const std::string kLvSnapshot = doc("  source: {logicalVolume: {volumeGroup: vg0, name: data}}\n  size: 1GiB\n");

TEST(SnapshotRouting, ASnapshotOfAnLvIsPlannedAndAppliedByTheProviderThatServesIt) {
  TwoProviders h;
  EXPECT_EQ(h.run(runApply, h.options(kLvSnapshot)), kExitOk) << h.err.str();
  EXPECT_EQ(h.lvm->applied(), (std::vector<ResourceId>{{kinds::Snapshot, "", "s1"}}));
  EXPECT_TRUE(h.kvm->applied().empty());
  // A plan of an LV's snapshot reads lvm only: it never connects to libvirt.
  EXPECT_EQ(h.kvm->observeCalls(), 0u);
  EXPECT_EQ(h.run(runPlan, h.options(kLvSnapshot)), kExitOk);
  EXPECT_EQ(h.out.str(),
            "= VolumeGroup/vg0               external (referenced, not declared, on the host)\n"
            "= LogicalVolume/vg0/data        external (referenced, not declared, on the host)\n"
            "No changes. Host matches the manifests.\n");
}

TEST(SnapshotRouting, EachProviderPrunesOnlyTheSnapshotsItServes) {
  TwoProviders h;
  Resource s1 = loadYaml(kLvSnapshot).resources.at(0);
  Resource s2 = loadYaml(doc("  source: {virtualMachine: web1}\n", "s2")).resources.at(0);
  h.world->put(s1, "default");
  h.world->put(s2, "default");
  h.world->put(fake::makeVm("web1", 1, GiB), "default");
  RunOptions o = h.options(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 10GiB}
)");
  o.prune = Prune::Yes;
  o.dataLoss = DataLoss::Allow;
  EXPECT_EQ(h.run(runApply, o), kExitOk) << h.err.str();
  // vg0 stays: the declared LV stands on it.
  EXPECT_EQ(h.lvm->applied(), (std::vector<ResourceId>{{kinds::Snapshot, "", "s1"}}));
  EXPECT_EQ(h.kvm->applied(), (std::vector<ResourceId>{{kinds::Snapshot, "", "s2"}, {kinds::VirtualMachine, "", "web1"}}));
}

TEST(SnapshotRouting, ASnapshotNoProviderServesIsAPlanErrorAtItsDocument) {
  TwoProviders h;
  h.kvm->servesOf = [](const Resource& r) { return r.kind() != kinds::Snapshot; };
  h.world->put(fake::makeVm("web1", 1, GiB), "default");
  EXPECT_EQ(h.run(runPlan, h.options(doc("  source: {virtualMachine: web1}\n"))), kExitError);
  EXPECT_NE(h.err.str().find(":1:1: error: kind: no provider built into this hostform handles this Snapshot's "
                             "spec.source.virtualMachine VirtualMachine/web1"),
            std::string::npos)
      << h.err.str();
}

TEST(SnapshotRouting, ExportAsksEveryProviderOfAKind) {
  TwoProviders h;
  h.world->put(loadYaml(doc("  source: {virtualMachine: web1}\n", "s2")).resources.at(0), "default");
  h.world->put(loadYaml(kLvSnapshot).resources.at(0), "default");
  std::ostringstream out, err;
  EXPECT_EQ(runExport({kinds::Snapshot}, *h.providers, Console{out, err}), kExitOk);
  EXPECT_NE(out.str().find("name: s1"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("name: s2"), std::string::npos) << out.str();
  EXPECT_EQ(h.lvm->observeCalls(), 1u);
  EXPECT_EQ(h.kvm->observeCalls(), 1u);
}

// ---- restore ---------------------------------------------------------------------------

TEST(Restore, ShowsThePlanAndRefusesWithoutAllowDataLoss) {
  TwoProviders h;
  h.world->put(loadYaml(kLvSnapshot).resources.at(0), "default");
  h.lvm->restorePlanOf = [](const Observed& s) {
    RestorePlan p;
    p.source = s.resource.as<SnapshotSpec>().source.id();
    p.description = "restore " + p.source.str() + " to snapshot s1: discards everything written since";
    p.notes = {"the snapshot disappears"};
    return p;
  };
  RunOptions o;
  o.stateDir = h.dir.path() + "/state";
  o.dryRun = DryRun::Yes;
  EXPECT_EQ(h.restore("s1", o), kExitRefused);
  EXPECT_FALSE(std::filesystem::exists(o.stateDir));  // a dry run takes no lock
  o.dryRun = DryRun::No;
  EXPECT_EQ(h.restore("s1", o), kExitRefused);
  EXPECT_EQ(h.out.str(),
            "< Snapshot/s1  restore LogicalVolume/vg0/data to snapshot s1: discards everything written since\n"
            "  the snapshot disappears\n");
  EXPECT_EQ(h.err.str(), "error: Snapshot/s1: refused: restoring discards everything written to "
                         "LogicalVolume/vg0/data since the snapshot; pass --allow-data-loss to accept the loss\n");
  EXPECT_TRUE(h.lvm->restored().empty());
  o.dataLoss = DataLoss::Allow;
  o.dryRun = DryRun::Yes;
  EXPECT_EQ(h.restore("s1", o), kExitOk);
  EXPECT_TRUE(h.lvm->restored().empty());
  o.dryRun = DryRun::No;
  EXPECT_EQ(h.restore("s1", o), kExitOk) << h.err.str();
  EXPECT_EQ(h.lvm->restored(), (std::vector<ResourceId>{{kinds::Snapshot, "", "s1"}}));
  EXPECT_TRUE(h.out.str().ends_with("Snapshot/s1: restored LogicalVolume/vg0/data\n")) << h.out.str();
  // Without -f, live snapshots are looked for with every provider of snapshots: once per run.
  EXPECT_EQ(h.kvm->observeCalls(), 4u);
}

TEST(Restore, AMissingSnapshotIsAnError) {
  TwoProviders h;
  RunOptions o;
  o.stateDir = h.dir.path() + "/state";
  o.dataLoss = DataLoss::Allow;
  EXPECT_EQ(h.restore("nope", o), kExitError);
  EXPECT_EQ(h.err.str(), "error: there is no snapshot nope on this host.\n");
}

TEST(Restore, AProviderThatCannotRestoreSaysSo) {
  TwoProviders h;
  h.world->put(loadYaml(kLvSnapshot).resources.at(0), "default");
  RunOptions o;
  o.stateDir = h.dir.path() + "/state";
  o.dataLoss = DataLoss::Allow;
  EXPECT_EQ(h.restore("s1", o), kExitError);
  EXPECT_EQ(h.err.str(), "error: the lvm provider cannot restore Snapshot/s1.\n");
}

TEST(Restore, ProblemsStopIt) {
  TwoProviders h;
  h.world->put(loadYaml(kLvSnapshot).resources.at(0), "default");
  h.lvm->restorePlanOf = [](const Observed&) {
    RestorePlan p;
    p.problems.push_back({"", "the snapshot overflowed and is invalid"});
    return p;
  };
  RunOptions o;
  o.stateDir = h.dir.path() + "/state";
  o.dataLoss = DataLoss::Allow;
  EXPECT_EQ(h.restore("s1", o), kExitError);
  EXPECT_EQ(h.err.str(), "error: Snapshot/s1: the snapshot overflowed and is invalid\n1 error(s); nothing was changed.\n");
  EXPECT_TRUE(h.lvm->restored().empty());
}

// ---- a loss with its snapshot, as plans show it ----------------------------------------

TEST(SnapshotBeforeLoss, ThePlanSaysWhatIsDestroyedAndTheSnapshotTakenFirst) {
  TwoProviders h;
  h.lvm->extraChecks = [](const Resource&, const Observed* live, const PlanContext& ctx, Diff& diff) {
    if (!live || !diff.dataLoss) return;
    diff.loss.destroys = 2 * GiB;
    if (ctx.snapshotBeforeLoss)
      diff.loss.snapshotFirst = SnapshotFirst{"thin snapshot vg0/data-before-x", "data-before-x",
                                              "lvm lvremove -f vg0/data-before-x"};
  };
  RunOptions o = h.options(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 8GiB}
)");
  o.dataLoss = DataLoss::Allow;
  EXPECT_EQ(h.run(runPlan, o), kExitOk);
  EXPECT_EQ(h.out.str(),
            "~ LogicalVolume/vg0/data        size 10GiB -> 8GiB; loses data: shrinking LogicalVolume/vg0/data from "
            "10GiB to 8GiB loses the data beyond 8GiB; would destroy 2GiB; a snapshot is taken first: thin snapshot "
            "vg0/data-before-x\n"
            "= VolumeGroup/vg0               external (referenced, not declared, on the host)\n"
            "Plan: 0 to create, 1 to change, 0 to delete.\n");
  o.output = OutputFormat::Json;
  EXPECT_EQ(h.run(runPlan, o), kExitOk);
  const auto action = nlohmann::json::parse(h.out.str())["actions"][0];
  EXPECT_EQ(action["destroys"], 2 * GiB);
  EXPECT_EQ(action["snapshotFirst"], (nlohmann::json{{"what", "thin snapshot vg0/data-before-x"},
                                                     {"name", "data-before-x"},
                                                     {"drop", "lvm lvremove -f vg0/data-before-x"}}));
  EXPECT_EQ(action["noSnapshot"], nullptr);
  o.output = OutputFormat::Text;
  EXPECT_EQ(h.run(runApply, o), kExitOk) << h.err.str();
  EXPECT_NE(h.out.str().find("LogicalVolume/vg0/data: updated\n"
                             "  snapshot taken first: thin snapshot vg0/data-before-x\n"
                             "  to restore it: hostform restore data-before-x --allow-data-loss\n"
                             "  to drop it: lvm lvremove -f vg0/data-before-x\n"),
            std::string::npos)
      << h.out.str();
  // --no-snapshot reaches the providers' plans.
  o.snapshotBeforeLoss = false;
  h.world->put(fake::makeLv("vg0", "data", 10 * GiB), "default");
  EXPECT_EQ(h.run(runPlan, o), kExitOk);
  EXPECT_EQ(h.out.str().find("snapshot"), std::string::npos) << h.out.str();
}

}  // namespace
}  // namespace hostform
