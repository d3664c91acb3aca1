// The provider's pure parts, without a kernel: unit conversion, normalisation,
// libvirt tap recognition, and the plan with its plan-time problems and the
// delta apply carries out, on a HostState built by hand.

#include <sys/socket.h>

#include <any>
#include <ostream>

#include <gtest/gtest.h>

#include "providers/netlink/normalize.h"
#include "providers/netlink/observe.h"
#include "providers/netlink/plan.h"

namespace hostform::netlink {

// A delta as a line of its parts, so a failing EXPECT_EQ says what differs.
void PrintTo(const BridgeDelta& d, std::ostream* out) {
  *out << "{ ";
  auto list = [&](const char* name, const std::vector<std::string>& items) {
    if (items.empty()) return;
    *out << name << "=" << showList(items) << " ";
  };
  if (d.state) *out << "state=" << toString(*d.state) << " ";
  if (d.mtu) *out << "mtu=" << *d.mtu << " ";
  if (d.macAddress) *out << "macAddress=" << *d.macAddress << " ";
  if (d.stp.enabled) *out << "stp.enabled=" << *d.stp.enabled << " ";
  if (d.stp.priority) *out << "stp.priority=" << *d.stp.priority << " ";
  if (d.stp.forwardDelay) *out << "stp.forwardDelay=" << d.stp.forwardDelay->count() << "ms ";
  if (d.stp.helloTime) *out << "stp.helloTime=" << d.stp.helloTime->count() << "ms ";
  if (d.stp.maxAge) *out << "stp.maxAge=" << d.stp.maxAge->count() << "ms ";
  for (const PortFix& f : d.portFixes)
    *out << "fix " << f.name << (f.raiseMtuTo ? " mtu=" + std::to_string(*f.raiseMtuTo) : "")
         << (f.bringUp ? " up" : "") << " ";
  list("release", d.release);
  list("enslave", d.enslave);
  if (d.mtuAfterPorts) *out << "mtuAfterPorts=" << *d.mtuAfterPorts << " ";
  list("removeAddresses", d.removeAddresses);
  list("addAddresses", d.addAddresses);
  *out << "}";
}

namespace {

TEST(NetlinkNormalize, TimersAreCentisecondsAndOneBelowStillMatches) {
  EXPECT_EQ(toCentis(Millis(15'000)), 1500u);
  EXPECT_EQ(toCentis(Millis(1'234)), 123u);
  EXPECT_EQ(fromCentis(122), Millis(1'220));
  EXPECT_TRUE(timerMatches(Millis(1'234), 123));
  EXPECT_TRUE(timerMatches(Millis(1'234), 122));  // HZ=250 truncation
  EXPECT_FALSE(timerMatches(Millis(1'234), 121));
  EXPECT_FALSE(timerMatches(Millis(1'234), 124));
  EXPECT_TRUE(timerMatches(Millis(2'000), 200));
}

TEST(NetlinkNormalize, AddressesAreCanonical) {
  auto v6 = parseCidr("FD00:0::0001/64");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->str(), "fd00::1/64");
  auto v4 = parseCidr("10.0.0.1/24");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_FALSE(parseCidr("10.0.0.1"));
  EXPECT_FALSE(parseCidr("10.0.0.1/33"));
  EXPECT_FALSE(parseCidr("fd00::1/129"));
  EXPECT_FALSE(parseCidr("nonsense/8"));
  EXPECT_TRUE(isLinkLocal(*parseCidr("fe80::1/64")));
  EXPECT_TRUE(isLinkLocal(*parseCidr("febf::1/64")));
  EXPECT_FALSE(isLinkLocal(*parseCidr("fec0::1/64")));
  EXPECT_FALSE(isLinkLocal(*v4));
  EXPECT_EQ(canonicalAddresses({"fd00::0001/64", "10.0.0.1/24", "FD00::1/64"}),
            (std::vector<std::string>{"10.0.0.1/24", "fd00::1/64"}));
}

TEST(NetlinkNormalize, MacAndOwnerMark) {
  const unsigned char bytes[] = {0x02, 0xAB, 0, 0x10, 0xff, 1};
  EXPECT_EQ(formatMac(bytes, 6), "02:ab:00:10:ff:01");
  EXPECT_EQ(parseMac("02:AB:00:10:ff:01"), (std::vector<unsigned char>(bytes, bytes + 6)));
  EXPECT_FALSE(parseMac("02:ab:00:10:ff"));
  EXPECT_FALSE(parseMac("02:ab:00:10:ff:01:02"));
  EXPECT_EQ(ownerMark("team-a"), "hostform:owner=team-a");
  EXPECT_EQ(ownerFromAlias("hostform:owner=team-a"), "team-a");
  EXPECT_EQ(ownerFromAlias("uplink to the switch"), "");
  EXPECT_EQ(ownerFromAlias(""), "");
}

Link tap(std::string name, std::string mac) {
  Link l;
  l.name = std::move(name);
  l.kind = "tun";
  l.mac = std::move(mac);
  l.tun = TunAttrs{true};
  return l;
}

TEST(NetlinkObserve, LibvirtTapsAreVnetOrFeMacTaps) {
  EXPECT_TRUE(isLibvirtTap(tap("vnet0", "52:54:00:00:00:01")));
  EXPECT_TRUE(isLibvirtTap(tap("vnet123", "52:54:00:00:00:01")));
  EXPECT_TRUE(isLibvirtTap(tap("web1-nic0", "fe:54:00:00:00:01")));
  EXPECT_FALSE(isLibvirtTap(tap("tap0", "52:54:00:00:00:01")));
  EXPECT_FALSE(isLibvirtTap(tap("vnetx", "52:54:00:00:00:01")));
  Link tun = tap("vnet1", "");
  tun.tun->tap = false;
  EXPECT_FALSE(isLibvirtTap(tun));
  Link veth;
  veth.name = "vnet2";
  veth.kind = "veth";
  EXPECT_FALSE(isLibvirtTap(veth));
}

/// br0 (#10, owned by "me") with port eth1 and a libvirt tap; eth2 on
/// unmanaged bridge "other" (#11); eth3 free holding 10.9.0.1; veth "v0".
HostState sampleHost() {
  HostState h;
  Link br0;
  br0.index = 10;
  br0.name = "br0";
  br0.kind = "bridge";
  br0.up = true;
  br0.mtu = 1500;
  br0.mac = "02:00:00:00:00:01";
  br0.alias = "hostform:owner=me";
  br0.bridge = BridgeAttrs{};
  br0.bridge->helloTimeCs = 122;
  Link other = br0;
  other.index = 11;
  other.name = "other";
  other.alias = "";
  auto port = [](int index, std::string name, int master) {
    Link l;
    l.index = index;
    l.name = std::move(name);
    l.kind = "veth";
    l.master = master;
    l.up = true;
    l.mtu = 1500;
    return l;
  };
  Link vnet = tap("vnet0", "fe:00:00:00:00:01");
  vnet.index = 20;
  vnet.master = 10;
  Link v0 = port(21, "v0", 0);
  h.links = {br0, other, port(1, "eth1", 10), port(2, "eth2", 11), port(3, "eth3", 0), vnet, v0};
  h.addresses = {{10, "10.0.0.1/24", "10.0.0.1", true, true},
                 {10, "fe80::1/64", "fe80::1", false, true},
                 {10, "fd00::9/64", "fd00::9", true, false},  // SLAAC: not managed
                 {3, "10.9.0.1/24", "10.9.0.1", true, true}};
  h.index();
  return h;
}

TEST(NetlinkObserve, BridgesWithPortsAddressesAndOwner) {
  auto seen = observedBridges(sampleHost());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].resource.id.str(), "Bridge/br0");
  EXPECT_EQ(seen[0].owner, "me");
  EXPECT_EQ(seen[1].owner, "");
  const auto& s = seen[0].resource.as<BridgeSpec>();
  EXPECT_EQ(s.ports, std::vector<std::string>{"eth1"});
  EXPECT_EQ(s.addresses, std::vector<std::string>{"10.0.0.1/24"});
  EXPECT_EQ(s.mtu, 1500u);
  EXPECT_EQ(s.macAddress, "02:00:00:00:00:01");
  EXPECT_EQ(s.stp.helloTime, Millis(1'220));
}

struct Planned {
  std::vector<Resource> desired;
  PlanContext ctx;
};

Resource bridge(const std::string& name, BridgeSpec spec) {
  Resource r;
  r.id = identityOf(kinds::Bridge, name, spec);
  r.spec = std::move(spec);
  return r;
}

Diff diffOf(const std::vector<Resource>& desired, std::size_t which, const HostState& host) {
  PlanContext ctx;
  for (const Resource& r : desired) ctx.desired.emplace(r.id, &r);
  auto live = observedBridges(host);
  const Observed* self = nullptr;
  for (const Observed& o : live)
    if (o.resource.id == desired[which].id) self = &o;
  return planBridge(desired[which], self, host, ctx);
}

TEST(NetlinkDiff, ConvergedBridgeHasNoChangesAfterNormalisation) {
  BridgeSpec s;
  s.ports = {"eth1"};
  s.addresses = {"10.0.0.1/24"};
  s.stp.helloTime = Millis(1'230);  // the kernel shows 1.22s: one centisecond below
  Diff d = diffOf({bridge("br0", s)}, 0, sampleHost());
  EXPECT_TRUE(d.problems.empty());
  EXPECT_TRUE(d.changes.empty()) << d.changes[0].field;
}

TEST(NetlinkDiff, UnsetMtuAndMacAreNotCompared) {
  BridgeSpec s;
  s.ports = {"eth1"};
  s.addresses = {"10.0.0.1/24"};
  s.stp.helloTime = Millis(1'220);
  s.mtu = 9000;
  s.macAddress = "02:00:00:00:00:02";
  Diff d = diffOf({bridge("br0", s)}, 0, sampleHost());
  ASSERT_EQ(d.changes.size(), 3u);
  EXPECT_EQ(d.changes[0].field, "mtu");
  EXPECT_EQ(d.changes[1].field, "macAddress");
  // The port's 1500 is below the new 9000: it is raised with the bridge.
  EXPECT_EQ(d.changes[2].field, "ports[eth1].mtu");
  EXPECT_EQ(d.changes[2].from, "1500");
  EXPECT_EQ(d.changes[2].to, "9000");
}

TEST(NetlinkDiff, ABridgeDeclaredDownLeavesItsPortsAsTheyAre) {
  HostState host = sampleHost();
  for (Link& l : host.links)
    if (l.name == "eth1") l.up = false;
  host.index();
  BridgeSpec s;
  s.ports = {"eth1"};
  s.addresses = {"10.0.0.1/24"};
  s.stp.helloTime = Millis(1'220);
  EXPECT_EQ(diffOf({bridge("br0", s)}, 0, host).changes.at(0).field, "ports[eth1].state");
  s.state = AdminState::Down;
  for (const FieldChange& c : diffOf({bridge("br0", s)}, 0, host).changes) EXPECT_FALSE(c.field.starts_with("ports["));
}

TEST(NetlinkDiff, PortMovingBetweenDeclaredBridgesIsNoProblem) {
  BridgeSpec a, b;
  b.ports = {"eth2"};  // from "other", which is declared and no longer lists it
  std::vector<Resource> desired{bridge("other", a), bridge("br1", b)};
  EXPECT_TRUE(diffOf(desired, 1, sampleHost()).problems.empty());
  // …but from an undeclared bridge it is.
  Diff d = diffOf({bridge("br1", b)}, 0, sampleHost());
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0].field, "spec.ports[0]");
}

TEST(NetlinkDiff, ProblemsNameTheirFields) {
  BridgeSpec s;
  s.ports = {"eth1", "missing0", "vnet0", "other"};
  s.addresses = {"10.0.0.1/24", "10.9.0.1/16", "fe80::2/64"};
  Diff d = diffOf({bridge("br0", s)}, 0, sampleHost());
  std::vector<std::string> fields;
  for (const auto& p : d.problems) fields.push_back(p.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"spec.ports[1]", "spec.ports[2]", "spec.ports[3]", "spec.addresses[1]",
                                              "spec.addresses[2]"}));
  BridgeSpec clash;
  Diff name = diffOf({bridge("v0", clash)}, 0, sampleHost());
  ASSERT_EQ(name.problems.size(), 1u);
  EXPECT_EQ(name.problems[0].message,
            "An interface named v0 already exists on the host as a veth device, not a bridge; hostform will not "
            "replace it.");
}

// ---- the delta apply carries out --------------------------------------------------------

BridgeDelta deltaOf(const Diff& d) { return std::any_cast<BridgeDelta>(d.delta); }

/// br0 of sampleHost() as it is: its port, its address, its kernel-rounded hello time.
BridgeSpec br0AsItIs() {
  BridgeSpec s;
  s.ports = {"eth1"};
  s.addresses = {"10.0.0.1/24"};
  s.stp.helloTime = Millis(1'220);
  return s;
}

TEST(NetlinkDelta, AConvergedBridgeHasAnEmptyDelta) {
  Diff d = diffOf({bridge("br0", br0AsItIs())}, 0, sampleHost());
  EXPECT_TRUE(d.changes.empty());
  EXPECT_EQ(deltaOf(d), BridgeDelta{});
}

TEST(NetlinkDelta, AChangedStpPriorityNamesOnlyThatAttribute) {
  BridgeSpec s = br0AsItIs();
  s.stp.priority = 4096;
  Diff d = diffOf({bridge("br0", s)}, 0, sampleHost());
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].field, "stp.priority");
  BridgeDelta want;
  want.stp.priority = 4096u;
  EXPECT_EQ(deltaOf(d), want);
}

TEST(NetlinkDelta, LinkAttributesCarryTheDeclaredValues) {
  BridgeSpec s = br0AsItIs();
  s.state = AdminState::Down;
  s.mtu = 1400;  // below the port's 1500: nothing to raise
  s.macAddress = "02:00:00:00:00:02";
  s.stp.enabled = true;
  s.stp.forwardDelay = Millis(4'000);
  s.stp.helloTime = Millis(1'000);
  s.stp.maxAge = Millis(6'000);
  BridgeDelta want;
  want.state = AdminState::Down;
  want.mtu = 1400u;
  want.macAddress = "02:00:00:00:00:02";
  want.stp.enabled = true;
  want.stp.forwardDelay = Millis(4'000);
  want.stp.helloTime = Millis(1'000);
  want.stp.maxAge = Millis(6'000);
  EXPECT_EQ(deltaOf(diffOf({bridge("br0", s)}, 0, sampleHost())), want);
}

TEST(NetlinkDelta, AMovedPortIsReleasedByOneBridgeAndEnslavedByTheOther) {
  BridgeSpec other;
  other.stp.helloTime = Millis(1'220);
  BridgeSpec br0 = br0AsItIs();
  br0.ports = {"eth1", "eth2"};  // eth2 comes from "other"
  br0.mtu = 1500;                // as it is: no row, but pinned again after the port change
  std::vector<Resource> desired{bridge("other", other), bridge("br0", br0)};

  BridgeDelta released, enslaved;
  released.release = {"eth2"};
  enslaved.enslave = {"eth2"};
  enslaved.mtuAfterPorts = 1500u;
  // Each bridge shows one row, "ports", and its delta moves the port.
  for (auto [index, want] : {std::pair{0, released}, std::pair{1, enslaved}}) {
    Diff diff = diffOf(desired, index, sampleHost());
    ASSERT_TRUE(diff.problems.empty());
    ASSERT_EQ(diff.changes.size(), 1u);
    EXPECT_EQ(diff.changes[0].field, "ports");
    EXPECT_EQ(deltaOf(diff), want);
  }
}

TEST(NetlinkDelta, PortFixesAreTheOnesThePlanShows) {
  HostState host = sampleHost();
  for (Link& l : host.links)
    if (l.name == "eth1") l.up = false;
  host.index();
  BridgeSpec s = br0AsItIs();
  s.mtu = 9000;
  Diff d = diffOf({bridge("br0", s)}, 0, host);
  std::vector<std::string> fields;
  for (const FieldChange& c : d.changes) fields.push_back(c.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"mtu", "ports[eth1].mtu", "ports[eth1].state"}));
  BridgeDelta want;
  want.mtu = 9000u;
  want.portFixes = {PortFix{"eth1", 9000u, true}};
  EXPECT_EQ(deltaOf(d), want);

  // Declared down, the bridge leaves its ports as they are.
  s.state = AdminState::Down;
  EXPECT_EQ(deltaOf(diffOf({bridge("br0", s)}, 0, host)).portFixes, std::vector<PortFix>{});
}

TEST(NetlinkDelta, AddressesChangeAsCanonicalSets) {
  BridgeSpec s = br0AsItIs();
  s.addresses = {"10.0.0.1/16", "FD00:0::1/64"};  // a new prefix for 10.0.0.1, and a new address
  BridgeDelta want;
  want.removeAddresses = {"10.0.0.1/24"};
  want.addAddresses = {"10.0.0.1/16", "fd00::1/64"};
  EXPECT_EQ(deltaOf(diffOf({bridge("br0", s)}, 0, sampleHost())), want);
}

TEST(NetlinkDelta, ACreateCarriesItsMembersButNoLinkAttributes) {
  BridgeSpec s;
  s.mtu = 9000;
  s.stp.priority = 4096;
  s.ports = {"v0"};
  s.addresses = {"FD00::1/64", "10.1.0.1/24"};
  Diff d = diffOf({bridge("br1", s)}, 0, sampleHost());
  ASSERT_TRUE(d.problems.empty());
  BridgeDelta want;  // the link itself is made from the spec
  want.portFixes = {PortFix{"v0", 9000u, false}};
  want.enslave = {"v0"};
  want.mtuAfterPorts = 9000u;
  want.addAddresses = {"10.1.0.1/24", "fd00::1/64"};
  EXPECT_EQ(deltaOf(d), want);
}

}  // namespace
}  // namespace hostform::netlink
