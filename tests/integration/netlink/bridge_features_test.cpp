// The Bridge's VLAN, per-port and FDB features in the provider's pure parts,
// without a kernel: VLAN normalisation, and the plan (rows, problems, delta)
// on a HostState built by hand.

#include <any>

#include <gtest/gtest.h>

#include "providers/netlink/normalize.h"
#include "providers/netlink/observe.h"
#include "providers/netlink/plan.h"

namespace hostform::netlink {
namespace {

BridgeVlan vlan(std::uint16_t first, std::uint16_t last, bool pvid = false, bool untagged = false) {
  return BridgeVlan{first, last, pvid, untagged};
}

TEST(BridgeVlans, CompressMergesRunsWithTheSameFlagsAndKeepsThePvidAlone) {
  const auto c = compressVlans(expandVlans({vlan(1, 1, true, true), vlan(2, 2, false, true), vlan(3, 5), vlan(6, 6),
                                            vlan(8, 9)}));
  EXPECT_EQ(showVlans(c), "[1 pvid untagged, 2 untagged, 3-6, 8-9]");
  // The same VLANs written differently compress alike.
  EXPECT_EQ(compressVlans(expandVlans({vlan(10, 10), vlan(11, 11), vlan(12, 12)})),
            compressVlans(expandVlans({vlan(10, 12)})));
  // A pvid inside a run splits it.
  EXPECT_EQ(showVlans(compressVlans(expandVlans({vlan(10, 12), vlan(11, 11, true)}))), "[10, 11 pvid, 12]");
}

/// br0 (#10, owned) with ports eth1 (#1) and eth2 (#2), both reporting every
/// port option at the kernel's defaults; eth3 (#3) free.
HostState host() {
  HostState h;
  Link br0;
  br0.index = 10;
  br0.name = "br0";
  br0.kind = "bridge";
  br0.up = true;
  br0.mtu = 1500;
  br0.alias = "hostform:owner=me";
  br0.bridge = BridgeAttrs{};
  br0.bridge->defaultPvid = 1;
  auto port = [](int index, std::string name, int master) {
    Link l;
    l.index = index;
    l.name = std::move(name);
    l.kind = "veth";
    l.master = master;
    l.up = true;
    l.mtu = 1500;
    if (master) l.port = PortAttrs{2, 32, false, false, true};
    return l;
  };
  h.links = {br0, port(1, "eth1", 10), port(2, "eth2", 10), port(3, "eth3", 0)};
  h.index();
  return h;
}

Resource bridge(BridgeSpec spec) {
  Resource r;
  r.id = identityOf(kinds::Bridge, "br0", spec);
  r.spec = std::move(spec);
  return r;
}

Diff diffOf(const Resource& desired, const HostState& h, const PlanOptions& options = {}, bool exists = true) {
  PlanContext ctx;
  ctx.desired.emplace(desired.id, &desired);
  auto live = observedBridges(h);
  const Observed* self = exists && !live.empty() ? &live[0] : nullptr;
  return planBridge(desired, self, h, ctx, options);
}

BridgeDelta deltaOf(const Diff& d) { return std::any_cast<BridgeDelta>(d.delta); }

BridgeSpec plain() {
  BridgeSpec s;
  s.ports = {"eth1", "eth2"};
  return s;
}

std::vector<std::string> rows(const Diff& d) {
  std::vector<std::string> out;
  for (const FieldChange& c : d.changes) out.push_back(c.field + ": " + c.from.value_or("-") + " -> " + c.to.value_or("-"));
  return out;
}

TEST(BridgePortOptions, ObservedPortsCarryTheKernelsOptions) {
  auto seen = observedBridges(host());
  const auto& s = seen.at(0).resource.as<BridgeSpec>();
  ASSERT_TRUE(s.portOptions.contains("eth1"));
  EXPECT_EQ(s.portOptions.at("eth1").cost, 2u);
  EXPECT_EQ(s.portOptions.at("eth1").learning, true);
}

TEST(BridgePortOptions, UnsetOptionsAreNotCompared) {
  Diff d = diffOf(bridge(plain()), host());
  EXPECT_TRUE(d.problems.empty());
  EXPECT_TRUE(d.changes.empty());
  EXPECT_EQ(deltaOf(d), BridgeDelta{});
}

TEST(BridgePortOptions, SetOptionsThatDifferAreRowsAndOneFixPerPort) {
  BridgeSpec s = plain();
  s.portOptions["eth1"] = {.cost = 100, .priority = 32, .hairpin = true, .isolated = true, .learning = false};
  s.portOptions["eth2"] = {.cost = 2};  // as it is
  Diff d = diffOf(bridge(s), host());
  EXPECT_TRUE(d.problems.empty());
  EXPECT_EQ(rows(d), (std::vector<std::string>{"ports[eth1].cost: 2 -> 100", "ports[eth1].hairpin: false -> true",
                                               "ports[eth1].isolated: false -> true",
                                               "ports[eth1].learning: true -> false"}));
  BridgeDelta want;
  want.portOptions = {{"eth1", 100u, std::nullopt, true, true, false}};
  EXPECT_EQ(deltaOf(d), want);
}

TEST(BridgePortOptions, APortToEnslaveGetsEveryOptionSet) {
  BridgeSpec s = plain();
  s.ports.push_back("eth3");
  s.portOptions["eth3"] = {.priority = 10};
  Diff d = diffOf(bridge(s), host());
  EXPECT_EQ(rows(d), (std::vector<std::string>{"ports: [eth1, eth2] -> [eth1, eth2, eth3]",
                                               "ports[eth3].priority: (none) -> 10"}));
  const BridgeDelta delta = deltaOf(d);
  EXPECT_EQ(delta.enslave, std::vector<std::string>{"eth3"});
  ASSERT_EQ(delta.portOptions.size(), 1u);
  EXPECT_EQ(delta.portOptions[0].priority, 10u);
}

TEST(BridgePortOptions, AnOptionTheKernelDoesNotReportIsRefused) {
  HostState h = host();
  for (Link& l : h.links)
    if (l.port) l.port->isolated.reset();  // a kernel before 4.18
  h.index();
  BridgeSpec s = plain();
  s.portOptions["eth1"] = {.cost = 5, .isolated = true};
  Diff d = diffOf(bridge(s), h);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0].field, "spec.ports[0].isolated");
  EXPECT_EQ(d.problems[0].message,
            "This kernel does not report IFLA_BRPORT_ISOLATED on bridge ports, so it cannot set isolated on a port; "
            "remove isolated from port eth1.");
}

TEST(BridgeVlanFiltering, RefusedWhereTheKernelLacksIt) {
  BridgeSpec s = plain();
  s.vlanFiltering = true;
  PlanOptions no;
  no.vlanFiltering = Support::No;
  Diff d = diffOf(bridge(s), host(), no);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0].field, "spec.vlanFiltering");
  EXPECT_EQ(d.problems[0].message, kNoVlanFiltering);
  PlanOptions unknown;
  unknown.vlanFiltering = Support::Unknown;
  EXPECT_EQ(diffOf(bridge(s), host(), unknown).problems.at(0).message, kVlanFilteringUnknown);
  // Declared off, nothing is asked of the kernel.
  EXPECT_TRUE(diffOf(bridge(plain()), host(), no).problems.empty());
}

TEST(BridgeVlanFiltering, TurnedOnWithADefaultPvidAndPortVlans) {
  BridgeSpec s = plain();
  s.vlanFiltering = true;
  s.defaultPvid = 5;
  s.portOptions["eth1"] = {.vlans = std::vector<BridgeVlan>{vlan(10, 10, true, true), vlan(20, 30)}};
  PortVlans vlans{{1, {vlan(1, 1, true, true)}}, {2, {vlan(1, 1, true, true)}}};
  PlanOptions options;
  options.vlans = &vlans;
  Diff d = diffOf(bridge(s), host(), options);
  EXPECT_TRUE(d.problems.empty());
  EXPECT_EQ(rows(d), (std::vector<std::string>{"vlanFiltering: false -> true", "defaultPvid: 1 -> 5",
                                               "ports[eth1].vlans: [1 pvid untagged] -> [10 pvid untagged, 20-30]"}));
  BridgeDelta want;
  want.vlanFiltering = true;
  want.defaultPvid = 5;
  want.portVlans = {{"eth1", {vlan(10, 10, true, true), vlan(20, 30)}}};
  EXPECT_EQ(deltaOf(d), want);
}

TEST(BridgeVlanFiltering, ConvergedVlansAreQuietHoweverWritten) {
  HostState h = host();
  h.links[0].bridge->vlanFiltering = true;
  h.index();
  BridgeSpec s = plain();
  s.vlanFiltering = true;
  s.portOptions["eth1"] = {.vlans = std::vector<BridgeVlan>{vlan(20, 20), vlan(21, 22), vlan(1, 1, true, true)}};
  PortVlans vlans{{1, {vlan(1, 1, true, true), vlan(20, 22)}}};
  PlanOptions options;
  options.vlans = &vlans;
  Diff d = diffOf(bridge(s), h, options);
  EXPECT_TRUE(d.changes.empty()) << rows(d).at(0);
  EXPECT_EQ(deltaOf(d), BridgeDelta{});
}

TEST(BridgeVlanFiltering, ANewDefaultPvidSendsEveryDeclaredPortsVlansAgain) {
  HostState h = host();
  h.links[0].bridge->vlanFiltering = true;
  h.index();
  BridgeSpec s = plain();
  s.vlanFiltering = true;
  s.defaultPvid = 7;
  s.portOptions["eth1"] = {.vlans = std::vector<BridgeVlan>{vlan(1, 1, true, true)}};
  PortVlans vlans{{1, {vlan(1, 1, true, true)}}};
  PlanOptions options;
  options.vlans = &vlans;
  Diff d = diffOf(bridge(s), h, options);
  EXPECT_EQ(rows(d), std::vector<std::string>{"defaultPvid: 1 -> 7"});
  EXPECT_EQ(deltaOf(d).portVlans, (std::vector<PortVlansFix>{{"eth1", {vlan(1, 1, true, true)}}}));
}

TEST(BridgeFdb, StaticEntriesOfThisBridgeAreAuthoritativeByMacAndVlan) {
  BridgeSpec s = plain();
  s.fdb = std::vector<FdbEntry>{{"52:54:00:00:00:01", "eth1", std::nullopt},   // as it is
                                {"52:54:00:00:00:02", "eth1", std::nullopt},   // moves from eth2
                                {"52:54:00:00:00:03", "eth2", std::nullopt}};  // new
  std::vector<FdbRecord> live{{1, "52:54:00:00:00:01", std::nullopt},
                              {2, "52:54:00:00:00:02", std::nullopt},
                              {2, "52:54:00:00:00:09", std::nullopt},   // not declared: removed
                              {3, "52:54:00:00:00:0a", std::nullopt}};  // eth3 is not a port: ignored
  PlanOptions options;
  options.fdb = &live;
  Diff d = diffOf(bridge(s), host(), options);
  EXPECT_EQ(rows(d), std::vector<std::string>{
                         "fdb: [52:54:00:00:00:01 on eth1, 52:54:00:00:00:02 on eth2, 52:54:00:00:00:09 on eth2] -> "
                         "[52:54:00:00:00:01 on eth1, 52:54:00:00:00:02 on eth1, 52:54:00:00:00:03 on eth2]"});
  const BridgeDelta delta = deltaOf(d);
  EXPECT_EQ(delta.removeFdb, (std::vector<FdbEntry>{{"52:54:00:00:00:09", "eth2", std::nullopt}}));
  EXPECT_EQ(delta.addFdb, (std::vector<FdbEntry>{{"52:54:00:00:00:02", "eth1", std::nullopt},
                                                 {"52:54:00:00:00:03", "eth2", std::nullopt}}));
}

TEST(BridgeFdb, OnABridgeThatDoesNotFilterTheKernelsPerVlanCopiesAreOneEntry) {
  // A kernel with bridge VLAN support copies an entry added without a VLAN
  // to every VLAN of the port, filtering or not.
  BridgeSpec s = plain();
  s.fdb = std::vector<FdbEntry>{{"52:54:00:00:00:01", "eth1", std::nullopt}};
  std::vector<FdbRecord> live{{1, "52:54:00:00:00:01", std::nullopt}, {1, "52:54:00:00:00:01", 1}};
  PlanOptions options;
  options.fdb = &live;
  Diff d = diffOf(bridge(s), host(), options);
  EXPECT_TRUE(d.changes.empty()) << rows(d).at(0);
  EXPECT_EQ(deltaOf(d), BridgeDelta{});
}

TEST(BridgeFdb, LeftOutTheStaticEntriesAreNotManaged) {
  std::vector<FdbRecord> live{{1, "52:54:00:00:00:01", std::nullopt}};
  PlanOptions options;
  options.fdb = &live;
  Diff d = diffOf(bridge(plain()), host(), options);
  EXPECT_TRUE(d.changes.empty());
  EXPECT_EQ(deltaOf(d), BridgeDelta{});
  // An empty list removes them.
  BridgeSpec s = plain();
  s.fdb = std::vector<FdbEntry>{};
  EXPECT_EQ(deltaOf(diffOf(bridge(s), host(), options)).removeFdb,
            (std::vector<FdbEntry>{{"52:54:00:00:00:01", "eth1", std::nullopt}}));
}

TEST(BridgeFdb, ACreateCarriesEveryEntryAndNoRows) {
  BridgeSpec s;
  s.ports = {"eth3"};
  s.portOptions["eth3"] = {.cost = 7};
  s.fdb = std::vector<FdbEntry>{{"52:54:00:00:00:01", "eth3", std::nullopt}};
  Resource r = bridge(s);
  r.id.name = "br9";
  std::vector<FdbRecord> none;
  PlanOptions options;
  options.fdb = &none;
  Diff d = diffOf(r, host(), options, false);
  EXPECT_TRUE(d.problems.empty());
  EXPECT_TRUE(d.changes.empty());
  const BridgeDelta delta = deltaOf(d);
  EXPECT_EQ(delta.enslave, std::vector<std::string>{"eth3"});
  EXPECT_EQ(delta.portOptions.at(0).cost, 7u);
  EXPECT_EQ(delta.addFdb.size(), 1u);
}

}  // namespace
}  // namespace hostform::netlink
