// A kind added without touching any core file (issue 13): tests/kind/route_kind.*
// defines Route, its schema and its provider; these tests load, validate,
// plan, apply, export and render it through the engine as it is.

#include <gtest/gtest.h>

#include "reconciler/executor.h"
#include "reconciler/manifest_writer.h"
#include "reconciler/planner.h"
#include "reconciler/render.h"
#include "tests/kind/route_kind.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform::example {
namespace {

using testing::loadYaml;
using testing::messages;

const char* kRoute = R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
---
apiVersion: hostform/v1
kind: Route
metadata: {name: r1}
spec: {destination: 10.1.0.0/16, via: 10.0.0.1, bridge: br0}
)";

/// Bridges in a fake provider, routes in RouteProvider.
struct Host {
  std::shared_ptr<fake::FakeWorld> world = std::make_shared<fake::FakeWorld>();
  RouteTable routes;
  std::unique_ptr<ProviderSet> providers;

  Host() {
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::make_unique<fake::FakeProvider>("net", std::vector<Kind>{kinds::Bridge}, world));
    list.push_back(std::make_unique<RouteProvider>(routes));
    providers = std::make_unique<ProviderSet>(std::move(list));
  }

  Plan plan(const std::string& yaml) {
    LoadResult loaded = loadYaml(yaml);
    EXPECT_FALSE(loaded.diagnostics.hasErrors()) << messages(loaded)[0];
    auto observed = observe(*providers, kindsToObserve(loaded.resources, Prune::No), nullptr);
    EXPECT_TRUE(observed.has_value());
    return computePlan(std::move(loaded.resources), std::move(*observed), *providers, {});
  }

  ApplyReport apply(const Plan& plan) { return execute(plan, {}); }
};

TEST(NewKind, IsRegisteredAfterTheBuiltInKinds) {
  std::vector<std::string> names;
  for (Kind k : allKinds()) names.emplace_back(k.name());
  EXPECT_EQ(names, (std::vector<std::string>{"Bond", "VlanInterface", "VxlanInterface", "Bridge", "VolumeGroup",
                                             "LogicalVolume", "StoragePool", "Volume", "VirtualMachine", "Snapshot",
                                             "Route"}));
  EXPECT_EQ(parseKind("Route"), Route);
}

TEST(NewKind, LoadsWithItsSchemaAndItsOwnCheck) {
  LoadResult ok = loadYaml(kRoute);
  ASSERT_EQ(ok.resources.size(), 2u) << messages(ok)[0];
  EXPECT_EQ(ok.resources[1].id.str(), "Route/r1");
  EXPECT_EQ(ok.resources[1].as<RouteSpec>(), (RouteSpec{"10.1.0.0/16", "10.0.0.1", "br0", 100}));

  LoadResult bad = loadYaml(R"(apiVersion: hostform/v1
kind: Route
metadata: {name: r2}
spec: {destination: 10.2.0.0/16, via: 10.2.0.0, bridge: br0, metric: 70000}
---
apiVersion: hostform/v1
kind: Route
metadata: {name: r3}
spec: {destination: 10.3.0.0/16, via: 10.3.0.0, bridge: br0}
)");
  EXPECT_TRUE(bad.resources.empty());
  EXPECT_EQ(messages(bad), (std::vector<std::string>{
                               "test.yaml:4:70: error: spec.metric: expected an integer from 0 to 65535, found 70000",
                               "test.yaml:9:39: error: spec.via: expected a gateway outside the destination, "
                               "found 10.3.0.0"}));
}

TEST(NewKind, AnUnknownKindNamesItAmongTheOthers) {
  LoadResult bad = loadYaml("apiVersion: hostform/v1\nkind: Rout\nmetadata: {name: r}\nspec: {}\n");
  EXPECT_EQ(messages(bad), (std::vector<std::string>{
                               "test.yaml:2:7: error: kind: unknown kind \"Rout\"; expected one of Bond, VlanInterface, "
                               "VxlanInterface, Bridge, VolumeGroup, LogicalVolume, StoragePool, Volume, VirtualMachine, Snapshot, Route (did you mean \"Route\"?)"}));
}

TEST(NewKind, ItsReferenceIsResolvedAndOrdered) {
  LoadResult alone = loadYaml(R"(apiVersion: hostform/v1
kind: Route
metadata: {name: r1}
spec: {destination: 10.1.0.0/16, via: 10.0.0.1, bridge: br9}
)");
  EXPECT_EQ(messages(alone), (std::vector<std::string>{
                                 "test.yaml:4:57: warning: spec.bridge: references Bridge/br9, which these manifests "
                                 "do not declare; plan requires it on the host"}));

  Host host;
  Plan plan = host.plan(kRoute);
  ASSERT_EQ(plan.actions.size(), 2u) << messages(plan.diagnostics)[0];
  EXPECT_EQ(plan.actions[1].id.str(), "Route/r1");
  EXPECT_EQ(plan.actions[1].after, (std::vector<std::size_t>{0}));
}

TEST(NewKind, PlansAppliesAndConvergesThroughItsProvider) {
  Host host;
  Plan plan = host.plan(kRoute);
  EXPECT_EQ(renderText(plan),
            "+ Bridge/br0                    create: state (none) -> up, stp.enabled (none) -> false, stp.priority "
            "(none) -> 32768, stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, "
            "ports (none) -> [], addresses (none) -> []\n"
            "+ Route/r1                      create: destination (none) -> 10.1.0.0/16, via (none) -> 10.0.0.1, "
            "bridge (none) -> br0, metric (none) -> 100\n"
            "Plan: 2 to create, 0 to change, 0 to delete.\n");
  EXPECT_NE(renderJson(plan).find("\"kind\": \"Route\""), std::string::npos);
  ApplyReport report = host.apply(plan);
  ASSERT_EQ(report.done(), 2u);
  const auto routes = host.routes.read();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes.at("r1").spec, (RouteSpec{"10.1.0.0/16", "10.0.0.1", "br0", 100}));
  EXPECT_EQ(routes.at("r1").owner, "default");

  EXPECT_EQ(renderText(host.plan(kRoute)), "No changes. Host matches the manifests.\n");
}

TEST(NewKind, AnUpdateCarriesItsTypedDeltaToApplyAndAdoptionIsAFlag) {
  Host host;
  host.world->put({fake::makeBridge("br0"), "default"});
  host.routes.write("r1", {RouteSpec{"10.1.0.0/16", "10.0.0.1", "br0", 50}, ""});
  Plan plan = host.plan(kRoute);
  ASSERT_EQ(plan.actions.size(), 1u) << renderText(plan);
  const Action& update = plan.actions[0];
  EXPECT_EQ(update.op, Op::Update);
  EXPECT_TRUE(update.adopt);
  EXPECT_EQ(std::any_cast<const RouteDelta&>(update.delta), RouteDelta{100});
  EXPECT_EQ(renderText(plan), "~ Route/r1                      metric 50 -> 100, owner (none) -> default\n"
                              "Plan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(host.apply(plan).done(), 1u);
  EXPECT_EQ(host.routes.read().at("r1").spec.metric, 100u);
  EXPECT_EQ(host.routes.read().at("r1").owner, "default");
}

TEST(NewKind, AReplaceIsCarriedOutAsItsDeleteThenItsCreate) {
  Host host;
  host.world->put({fake::makeBridge("br0"), "default"});
  host.routes.write("r1", {RouteSpec{"10.1.0.0/16", "10.0.0.9", "br0", 100}, "default"});
  Plan plan = host.plan(kRoute);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].op, Op::Replace);
  EXPECT_EQ(renderText(plan), "± Route/r1                      replace: via 10.0.0.9 -> 10.0.0.1 (replace)\n"
                              "Plan: 0 to create, 0 to change, 1 to replace, 0 to delete.\n");
  ASSERT_EQ(host.apply(plan).done(), 1u);
  EXPECT_EQ(host.routes.read().at("r1").spec.via, "10.0.0.1");
}

TEST(NewKind, ExportsAsAManifestThatLoadsBackTheSame) {
  Host host;
  host.routes.write("r1", {RouteSpec{"10.1.0.0/16", "10.0.0.1", "br0", 7}, "default"});
  auto seen = host.providers->forKind(Route)->exportResources();
  ASSERT_TRUE(seen);
  const std::string text = writeManifests(*seen);
  EXPECT_EQ(text, "---\napiVersion: hostform/v1\nkind: Route\nmetadata:\n  name: r1\nspec:\n  destination: "
                  "10.1.0.0/16\n  via: 10.0.0.1\n  bridge: br0\n  metric: 7\n");
  LoadResult back = loadYaml(text);
  ASSERT_EQ(back.resources.size(), 1u);
  EXPECT_EQ(back.resources[0].spec, (*seen)[0].spec);
}

}  // namespace
}  // namespace hostform::example
