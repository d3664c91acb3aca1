#include "reconciler/planner.h"

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "reconciler/ledger.h"
#include "reconciler/render.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using fake::FakeProvider;
using fake::FakeWorld;
using testing::loadYaml;

/// A fake host with one provider for storage kinds and one for bridges.
struct Host {
  std::shared_ptr<FakeWorld> world = std::make_shared<FakeWorld>();
  FakeProvider* storage = nullptr;
  FakeProvider* net = nullptr;
  std::unique_ptr<ProviderSet> providers;

  Host() {
    auto s = std::make_unique<FakeProvider>(
        "storage", std::vector<Kind>{kinds::VolumeGroup, kinds::LogicalVolume, kinds::StoragePool, kinds::Volume}, world);
    auto n = std::make_unique<FakeProvider>("net", std::vector<Kind>{kinds::Bridge, kinds::VirtualMachine}, world);
    storage = s.get();
    net = n.get();
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::move(s));
    list.push_back(std::move(n));
    providers = std::make_unique<ProviderSet>(std::move(list));
  }

  Plan plan(const std::string& yaml, PlanOptions options = {}) {
    LoadResult loaded = loadYaml(yaml);
    EXPECT_FALSE(loaded.diagnostics.hasErrors()) << testing::messages(loaded)[0];
    auto observed = observe(*providers, kindsToObserve(loaded.resources, options.prune), nullptr);
    EXPECT_TRUE(observed.has_value());
    return computePlan(std::move(loaded.resources), std::move(*observed), *providers, options);
  }
};

const char* kStorage = R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 10GiB}
---
apiVersion: hostform/v1
kind: VolumeGroup
metadata: {name: vg0}
spec: {physicalVolumes: [/dev/vdb]}
)";

TEST(Planner, CreatesInDependencyOrder) {
  Host host;
  Plan plan = host.plan(kStorage);
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].id.str(), "VolumeGroup/vg0");
  EXPECT_EQ(plan.actions[1].id.str(), "LogicalVolume/vg0/data");
  EXPECT_EQ(plan.actions[1].after, (std::vector<std::size_t>{0}));
  EXPECT_EQ(plan.actions[0].op, Op::Create);
  EXPECT_EQ(renderText(plan),
            "+ VolumeGroup/vg0               create: physicalVolumes (none) -> [/dev/vdb], extentSize (none) -> 4MiB\n"
            "+ LogicalVolume/vg0/data        create: volumeGroup (none) -> vg0, type (none) -> linear, size (none) -> 10GiB, active (none) -> true\n"
            "Plan: 2 to create, 0 to change, 0 to delete.\n");
}

TEST(Planner, ConvergedHostHasNoChanges) {
  Host host;
  LoadResult loaded = loadYaml(kStorage);
  for (const Resource& r : loaded.resources) host.world->put(r, "default");
  Plan plan = host.plan(kStorage);
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(renderText(plan), "No changes. Host matches the manifests.\n");
}

TEST(Planner, ChangedFieldIsAnUpdateWithFromAndTo) {
  Host host;
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
  host.world->put(fake::makeLv("vg0", "data", 5 * GiB), "default");
  Plan plan = host.plan(kStorage);
  ASSERT_EQ(plan.actions.size(), 1u);
  const Action& a = plan.actions[0];
  EXPECT_EQ(a.op, Op::Update);
  ASSERT_EQ(a.changes.size(), 1u);
  EXPECT_EQ(a.changes[0].field, "size");
  EXPECT_EQ(a.changes[0].from, "5GiB");
  EXPECT_EQ(a.changes[0].to, "10GiB");
  EXPECT_EQ(renderText(plan),
            "~ LogicalVolume/vg0/data        size 5GiB -> 10GiB\n"
            "Plan: 0 to create, 1 to change, 0 to delete.\n");
}

TEST(Planner, RestartClassIsShown) {
  Host host;
  host.net->restartFields = {"machine"};
  host.world->put(fake::makeVm("web1", 1, GiB), "default");
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: web1}
spec: {memory: 1GiB, machine: pc}
)");
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_TRUE(plan.actions[0].needsRestart());
  EXPECT_EQ(renderText(plan),
            "~ VirtualMachine/web1           machine q35 -> pc (restart)\n"
            "Plan: 0 to create, 1 to change, 0 to delete.\n");
}

TEST(Planner, ReplaceClassMakesAReplaceAction) {
  Host host;
  host.storage->replaceFields = {"type"};
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
  host.world->put(fake::makeLv("vg0", "data", 10 * GiB, LvType::ThinPool), "default");
  Plan plan = host.plan(kStorage);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].op, Op::Replace);
  EXPECT_EQ(plan.summary().replace, 1u);
  // A replace deletes first, so it passes the data-loss gate like a delete
  // (docs/concepts.md): the provider's deletion check names what is lost.
  EXPECT_EQ(renderText(plan),
            "± LogicalVolume/vg0/data        replace: type thin-pool -> linear (replace); refused without "
            "--allow-data-loss: deleting LogicalVolume/vg0/data destroys its data (10GiB)\n"
            "Plan: 0 to create, 0 to change, 1 to replace, 0 to delete.\n");
}

TEST(Planner, AReplaceThatCannotDeleteTheLiveObjectIsAPlanError) {
  Host host;
  host.storage->replaceFields = {"type"};
  host.storage->deletionProblemsOf = [](const Observed& o, const PlanContext&) {
    return std::vector<Diff::Problem>{{"", o.resource.id.str() + " still holds thin volumes"}};
  };
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
  host.world->put(fake::makeLv("vg0", "data", 10 * GiB, LvType::ThinPool), "default");
  Plan plan = host.plan(kStorage);
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(testing::messages(plan.diagnostics),
            (std::vector<std::string>{"test.yaml:3:18: error: metadata.name: cannot replace: "
                                      "LogicalVolume/vg0/data still holds thin volumes"}));
}

TEST(Planner, UndeclaredOwnedObjectIsOrphanedWithoutPrune) {
  Host host;
  host.world->put(fake::makeBridge("br-old"), "default");
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
)");
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[1].op, Op::Orphan);
  EXPECT_EQ(renderText(plan),
            "+ Bridge/br0                    create: state (none) -> up, stp.enabled (none) -> false, stp.priority (none) -> 32768, "
            "stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, ports (none) -> [], "
            "addresses (none) -> []\n"
            "? Bridge/br-old                 orphaned (not declared; --prune deletes it)\n"
            "Plan: 1 to create, 0 to change, 0 to delete, 1 orphaned.\n");
}

TEST(Planner, PruneDeletesOnlyWhatThisOwnerOwns) {
  Host host;
  host.world->put(fake::makeBridge("br-mine"), "default");
  host.world->put(fake::makeBridge("br-hand"), "");          // made by hand
  host.world->put(fake::makeBridge("br-other"), "team-b");   // another repository
  PlanOptions options;
  options.prune = Prune::Yes;
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
)",
                        options);
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[1].op, Op::Delete);
  EXPECT_EQ(plan.actions[1].id.str(), "Bridge/br-mine");
  EXPECT_FALSE(plan.actions[1].dataLoss);
  EXPECT_EQ(renderText(plan),
            "+ Bridge/br0                    create: state (none) -> up, stp.enabled (none) -> false, stp.priority (none) -> 32768, "
            "stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, ports (none) -> [], "
            "addresses (none) -> []\n"
            "- Bridge/br-mine                delete (prune)\n"
            "Plan: 1 to create, 0 to change, 1 to delete.\n");
}

TEST(Planner, AnImpossibleDeleteIsAPlanErrorNotAnApplyFailure) {
  Host host;
  host.world->put(fake::makeVg("vg9", {"/dev/vdc"}), "default");
  host.storage->deletionProblemsOf = [](const Observed& o, const PlanContext&) {
    return std::vector<Diff::Problem>{{"", o.resource.id.name + " still holds volumes made by hand"}};
  };
  PlanOptions options;
  options.prune = Prune::Yes;
  options.dataLoss = DataLoss::Allow;
  Plan plan = host.plan("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n", options);
  EXPECT_EQ(testing::messages(plan.diagnostics),
            (std::vector<std::string>{
                "error: VolumeGroup/vg9: cannot delete (prune): vg9 still holds volumes made by hand"}));
  for (const Action& a : plan.actions) EXPECT_NE(a.id.str(), "VolumeGroup/vg9");
  // Without --prune nothing is deleted, so nothing is in the way: it is an orphan.
  Plan orphan = host.plan("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n");
  EXPECT_FALSE(orphan.diagnostics.hasErrors());
}

TEST(Planner, DeletesRunInReverseDependencyOrder) {
  Host host;
  host.world->put(fake::makeVg("vg9", {"/dev/vdc"}), "default");
  host.world->put(fake::makeLv("vg9", "a", GiB), "default");
  host.world->put(fake::makeLv("vg9", "b", GiB), "default");
  PlanOptions options;
  options.prune = Prune::Yes;
  options.dataLoss = DataLoss::Allow;
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
)",
                        options);
  std::vector<std::string> order;
  for (const Action& a : plan.actions) order.push_back(a.id.str());
  EXPECT_EQ(order, (std::vector<std::string>{"Bridge/br0", "LogicalVolume/vg9/a", "LogicalVolume/vg9/b",
                                             "VolumeGroup/vg9"}));
  EXPECT_EQ(plan.actions[3].after, (std::vector<std::size_t>{1, 2}));
}

TEST(Planner, ShrinkNeedsAllowDataLoss) {
  Host host;
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
  host.world->put(fake::makeLv("vg0", "data", 20 * GiB), "default");
  Plan refused = host.plan(kStorage);
  ASSERT_EQ(refused.refused().size(), 1u);
  EXPECT_EQ(refused.summary().refused, 1u);
  EXPECT_EQ(renderText(refused),
            "~ LogicalVolume/vg0/data        size 20GiB -> 10GiB; refused without --allow-data-loss: shrinking "
            "LogicalVolume/vg0/data from 20GiB to 10GiB loses the data beyond 10GiB\n"
            "Plan: 0 to create, 1 to change, 0 to delete.\n");
  // On a terminal the refused line is what stops the apply: painted as an
  // error (bold red), not as an update (yellow).
  EXPECT_TRUE(renderText(refused, Color::On).starts_with("\033[1;31m~ LogicalVolume/vg0/data")) << renderText(refused, Color::On);
  PlanOptions allow;
  allow.dataLoss = DataLoss::Allow;
  Plan allowed = host.plan(kStorage, allow);
  EXPECT_TRUE(allowed.refused().empty());
  EXPECT_EQ(allowed.actions.size(), 1u);
  EXPECT_TRUE(renderText(allowed, Color::On).starts_with("\033[33m~ LogicalVolume/vg0/data")) << renderText(allowed, Color::On);
}

TEST(Planner, PruningAnObjectThatHoldsDataNeedsAllowDataLoss) {
  Host host;
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
  host.world->put(fake::makeLv("vg0", "old", 3 * GiB), "default");
  PlanOptions options;
  options.prune = Prune::Yes;
  Plan plan = host.plan(kStorage, options);
  auto refused = plan.refused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]->id.str(), "LogicalVolume/vg0/old");
  EXPECT_EQ(refused[0]->op, Op::Delete);
}

TEST(Planner, ReferenceToAnUndeclaredLiveObjectIsExternal) {
  Host host;
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "");
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 1GiB}
)");
  EXPECT_FALSE(plan.diagnostics.hasErrors());
  ASSERT_EQ(plan.external.size(), 1u);
  EXPECT_EQ(plan.external[0].str(), "VolumeGroup/vg0");
  EXPECT_EQ(renderText(plan),
            "+ LogicalVolume/vg0/data        create: volumeGroup (none) -> vg0, type (none) -> linear, size (none) -> 1GiB, active (none) -> true\n"
            "= VolumeGroup/vg0               external (referenced, not declared, on the host)\n"
            "Plan: 1 to create, 0 to change, 0 to delete.\n");
}

TEST(Planner, DanglingReferenceIsAPlanErrorWithItsPosition) {
  Host host;
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec:
  volumeGroup: vg-missing
  size: 1GiB
)");
  EXPECT_EQ(testing::messages(plan.diagnostics),
            (std::vector<std::string>{"test.yaml:5:16: error: spec.volumeGroup: references VolumeGroup/vg-missing, "
                                      "which is neither declared nor on the host"}));
  EXPECT_TRUE(plan.actions.empty());
}

TEST(Planner, DeclaringAnObjectOfAnotherOwnerIsAnError) {
  Host host;
  host.world->put(fake::makeBridge("br0"), "team-b");
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata:
  name: br0
spec: {}
)");
  EXPECT_EQ(testing::messages(plan.diagnostics),
            (std::vector<std::string>{"test.yaml:4:9: error: metadata.name: Bridge/br0 exists on the host and belongs "
                                      "to owner \"team-b\", not \"default\"; declare it in one repository only, or "
                                      "run with --owner team-b"}));
}

TEST(Planner, DeclaringAnUnownedObjectAdoptsIt) {
  Host host;
  host.world->put(fake::makeBridge("br0"), "");
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
)");
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].op, Op::Update);
  EXPECT_EQ(plan.actions[0].reason, "declared, on the host but not owned: adopt");
  EXPECT_EQ(renderText(plan),
            "~ Bridge/br0                    owner (none) -> default\n"
            "Plan: 0 to create, 1 to change, 0 to delete.\n");
}

TEST(Planner, InfeasibleChangeIsAPlanErrorNamingTheField) {
  Host host;
  host.storage->immutableFields = {"extentSize"};
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}, 8 * MiB), "default");
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: VolumeGroup
metadata: {name: vg0}
spec:
  physicalVolumes: [/dev/vdb]
  extentSize: 4MiB
)");
  ASSERT_TRUE(plan.diagnostics.hasErrors());
  EXPECT_EQ(testing::messages(plan.diagnostics)[0],
            "test.yaml:6:15: error: spec.extentSize: is immutable: 8MiB on the host, 4MiB declared");
  EXPECT_TRUE(plan.actions.empty());
}

TEST(Planner, KindWithoutProviderIsAnError) {
  auto world = std::make_shared<FakeWorld>();
  std::vector<std::unique_ptr<Provider>> list;
  list.push_back(std::make_unique<FakeProvider>("net", std::vector<Kind>{kinds::Bridge}, world));
  ProviderSet providers(std::move(list));
  LoadResult loaded = loadYaml(kStorage);
  Plan plan = computePlan(std::move(loaded.resources), {}, providers, {});
  EXPECT_EQ(testing::messages(plan.diagnostics)[0],
            "test.yaml:1:1: error: kind: no provider for kind LogicalVolume is built into this hostform");
}

TEST(Planner, ObservesOnlyDeclaredAndReferencedKindsUnlessPruning) {
  LoadResult loaded = loadYaml(kStorage);
  EXPECT_EQ(kindsToObserve(loaded.resources, Prune::No),
            (std::vector<Kind>{kinds::VolumeGroup, kinds::LogicalVolume}));
  EXPECT_EQ(kindsToObserve(loaded.resources, Prune::Yes).size(), 10u);

  Host host;
  host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
)");
  EXPECT_EQ(host.net->observeCalls(), 1u);
  EXPECT_EQ(host.storage->observeCalls(), 0u);
}

TEST(Planner, LedgerKindsTakeTheirOwnerFromTheLedger) {
  testing::TempDir dir;
  auto ledger = Ledger::open(dir.path());
  ASSERT_TRUE(ledger.has_value());
  Host host;
  host.storage->ledgerKinds = {kinds::StoragePool};
  host.world->put(fake::makePool("mine"), "");
  host.world->put(fake::makePool("theirs"), "");
  ASSERT_TRUE(ledger->record(fake::makePool("mine").id, "default").has_value());
  auto observed = observe(*host.providers, {kinds::StoragePool}, &*ledger);
  ASSERT_TRUE(observed.has_value());
  PlanOptions options;
  options.prune = Prune::Yes;
  options.dataLoss = DataLoss::Allow;
  Plan plan = computePlan({}, std::move(*observed), *host.providers, options);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].id.str(), "StoragePool/mine");
  EXPECT_EQ(plan.actions[0].op, Op::Delete);
}

TEST(Planner, JsonPlanHasTheSpecShape) {
  Host host;
  host.world->put(fake::makeVg("vg0", {"/dev/vdb"}), "default");
  host.world->put(fake::makeLv("vg0", "data", 5 * GiB), "default");
  Plan plan = host.plan(kStorage);
  EXPECT_EQ(renderJson(plan), R"({
  "actions": [
    {
      "changes": [
        {
          "class": "live",
          "field": "size",
          "from": "5GiB",
          "to": "10GiB"
        }
      ],
      "dataLoss": null,
      "id": "LogicalVolume/vg0/data",
      "kind": "LogicalVolume",
      "op": "update",
      "reason": "differs from the manifests",
      "restart": false
    }
  ],
  "external": [],
  "summary": {
    "changes": true,
    "create": 0,
    "delete": 0,
    "orphan": 0,
    "refused": 0,
    "replace": 0,
    "update": 1
  },
  "warnings": []
}
)");
}

TEST(Planner, AnObjectADeclaredResourceReferencesIsExternalAndNeverPruned) {
  // The bridge and the base volume are ours but no longer declared; a declared
  // VM uses the bridge, and a declared VM disk is an overlay on the base
  // (external itself, so what it stands on is kept too).
  Host host;
  host.world->put(fake::makeBridge("br-old"), "default");
  host.world->put(fake::makePool("p"), "default");
  Resource base = fake::makeVolume("p", "base", 1 * GiB);
  Resource overlay = fake::makeVolume("p", "vm.qcow2", 2 * GiB);
  overlay.as<VolumeSpec>().backingVolume = VolumeRef{"p", "base"};
  host.world->put(base, "default");
  host.world->put(overlay, "default");
  host.world->put(fake::makeBridge("br-gone"), "default");  // referenced by nothing: pruned
  PlanOptions options;
  options.prune = Prune::Yes;
  options.dataLoss = DataLoss::Allow;
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: web1}
spec:
  memory: 1GiB
  disks: [{volume: {pool: p, name: vm.qcow2}}]
  interfaces: [{bridge: br-old}]
)",
                        options);
  ASSERT_FALSE(plan.diagnostics.hasErrors());
  std::vector<std::string> deleted, external;
  for (const Action& a : plan.actions)
    if (a.op == Op::Delete || a.op == Op::Orphan) deleted.push_back(a.id.str());
  for (const ResourceId& id : plan.external) external.push_back(id.str());
  EXPECT_EQ(deleted, (std::vector<std::string>{"Bridge/br-gone"}));
  EXPECT_EQ(external, (std::vector<std::string>{"Bridge/br-old", "StoragePool/p", "Volume/p/base", "Volume/p/vm.qcow2"}));
  // JSON lists each object once: in "actions" or in "external", never both.
  const auto doc = nlohmann::json::parse(renderJson(plan));
  std::set<std::string> seen;
  for (const auto& a : doc["actions"]) EXPECT_TRUE(seen.insert(a["id"].get<std::string>()).second) << a["id"];
  for (const auto& id : doc["external"]) EXPECT_TRUE(seen.insert(id.get<std::string>()).second) << id;
}

TEST(Planner, ACreateListsEveryValueItSets) {
  Host host;
  Plan plan = host.plan(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {mtu: 9000, addresses: [10.1.0.1/24]}
)");
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(renderText(plan),
            "+ Bridge/br0                    create: state (none) -> up, mtu (none) -> 9000, stp.enabled (none) -> "
            "false, stp.priority (none) -> 32768, stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, "
            "stp.maxAge (none) -> 20s, ports (none) -> [], addresses (none) -> [10.1.0.1/24]\n"
            "Plan: 1 to create, 0 to change, 0 to delete.\n");
  const auto doc = nlohmann::json::parse(renderJson(plan));
  const auto& changes = doc["actions"][0]["changes"];
  ASSERT_EQ(changes.size(), 9u);
  EXPECT_EQ(changes[1], (nlohmann::json{{"field", "mtu"}, {"from", nullptr}, {"to", "9000"}, {"class", "live"}}));
  for (const auto& c : changes) EXPECT_TRUE(c["from"].is_null()) << c;
}

}  // namespace
}  // namespace hostform
