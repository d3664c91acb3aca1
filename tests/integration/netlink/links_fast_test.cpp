// Bond, VlanInterface and VxlanInterface without a kernel: what the kernel can
// make (probed from files), observe, and the plan with its problems, change
// classes and the delta apply carries out, on a HostState built by hand.

#include <fstream>

#include <gtest/gtest.h>

#include "providers/netlink/links.h"
#include "providers/netlink/observe.h"
#include "providers/netlink/plan.h"
#include "tests/support/manifests.h"

namespace hostform::netlink {
namespace {

// ---- kernel features ------------------------------------------------------------------

void writeFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(LinkKernel, AModuleIsLoadedBuiltInOrInstalled) {
  testing::TempDir dir;
  const std::filesystem::path root = dir.path();
  EXPECT_FALSE(kernelHasModule("bonding", root, "6.1.0-1"));
  std::filesystem::create_directories(root / "sys/module/vxlan");
  EXPECT_TRUE(kernelHasModule("vxlan", root, "6.1.0-1"));
  writeFile(root / "lib/modules/6.1.0-1/modules.dep",
            "kernel/drivers/net/bonding_helper.ko: \n"
            "kernel/drivers/net/bonding/bonding.ko.xz: kernel/net/tls/tls.ko.xz\n");
  EXPECT_TRUE(kernelHasModule("bonding", root, "6.1.0-1"));
  EXPECT_FALSE(kernelHasModule("bonding", root, "6.2.0-1"));  // another kernel's modules
  EXPECT_FALSE(kernelHasModule("bonding_help", root, "6.1.0-1"));
  EXPECT_FALSE(kernelHasModule("8021q", root, "6.1.0-1"));
  writeFile(root / "lib/modules/6.1.0-1/modules.builtin", "kernel/net/8021q/8021q.ko\n");
  EXPECT_TRUE(kernelHasModule("8021q", root, "6.1.0-1"));
}

TEST(LinkKernel, TheRefusalNamesTheMissingFeature) {
  EXPECT_EQ(missingFeature(kinds::Bond),
            "The running kernel lacks bonding (bond devices): module bonding is neither loaded, built in, nor "
            "installed, so Bond cannot be made on this host.");
  EXPECT_EQ(missingFeature(kinds::VlanInterface),
            "The running kernel lacks 802.1Q VLAN support (VLAN devices): module 8021q is neither loaded, built in, "
            "nor installed, so VlanInterface cannot be made on this host.");
  EXPECT_EQ(missingFeature(kinds::VxlanInterface),
            "The running kernel lacks VXLAN support (vxlan devices): module vxlan is neither loaded, built in, nor "
            "installed, so VxlanInterface cannot be made on this host.");
}

// ---- a host -----------------------------------------------------------------------------

Link link(int index, std::string name, std::string kind, int master = 0) {
  Link l;
  l.index = index;
  l.name = std::move(name);
  l.kind = std::move(kind);
  l.master = master;
  l.up = true;
  l.mtu = 1500;
  return l;
}

/// bond0 (#10, 802.3ad, owned by "me") with members e1, e2; e3 free; e4 on
/// unmanaged bond "bondx" (#11); bond0.100 (#20) on bond0; vx1 (#30, vni 42 to
/// 10.0.0.2) on bridge br0 (#40); veth "taken".
HostState sampleHost() {
  HostState h;
  Link bond0 = link(10, "bond0", "bond");
  bond0.alias = "hostform:owner=me";
  bond0.mac = "02:00:00:00:00:10";
  bond0.bond = BondAttrs{.mode = 4, .miimon = 100, .lacpRate = 1, .xmitHashPolicy = 1};
  Link bondx = link(11, "bondx", "bond");
  bondx.bond = BondAttrs{.mode = 1, .miimon = 0};
  Link vlan = link(20, "bond0.100", "vlan");
  vlan.link = 10;
  vlan.vlan = VlanAttrs{.id = 100, .protocol = 0x8100};
  Link vx = link(30, "vx1", "vxlan", 40);
  vx.mtu = 1450;
  vx.vxlan = VxlanAttrs{.vni = 42, .local = "10.0.0.1", .group = "10.0.0.2", .port = 4789, .learning = true};
  Link br0 = link(40, "br0", "bridge");
  br0.bridge = BridgeAttrs{};
  h.links = {bond0, bondx, link(1, "e1", "veth", 10), link(2, "e2", "veth", 10), link(3, "e3", "veth"),
             link(4, "e4", "veth", 11), vlan, vx, br0, link(5, "taken", "veth")};
  h.index();
  return h;
}

constexpr KernelFeatures kAll{true, true, true};
constexpr KernelFeatures kNone{false, false, false};

template <class S>
Resource resource(Kind kind, const std::string& name, S spec) {
  Resource r;
  r.id = identityOf(kind, name, spec);
  r.spec = std::move(spec);
  return r;
}

/// The plan of desired[which] against `host`, the others declared beside it.
Diff diffOf(const std::vector<Resource>& desired, std::size_t which, const HostState& host,
            const KernelFeatures& kernel = kAll) {
  PlanContext ctx;
  for (const Resource& r : desired) ctx.desired.emplace(r.id, &r);
  std::vector<Observed> live = observedLinks(host);
  for (Observed& o : observedBridges(host)) live.push_back(std::move(o));
  const Observed* self = nullptr;
  for (const Observed& o : live)
    if (o.resource.id == desired[which].id) self = &o;
  const Resource& r = desired[which];
  if (r.kind() == kinds::Bond) return planBond(r, self, host, ctx, kernel);
  if (r.kind() == kinds::VlanInterface) return planVlan(r, self, host, ctx, kernel);
  if (r.kind() == kinds::VxlanInterface) return planVxlan(r, self, host, ctx, kernel);
  return planBridge(r, self, host, ctx);
}

std::vector<std::string> problemTexts(const Diff& d) {
  std::vector<std::string> out;
  for (const auto& p : d.problems) out.push_back(p.field + ": " + p.message);
  return out;
}

std::vector<std::string> rows(const Diff& d) {
  std::vector<std::string> out;
  for (const FieldChange& c : d.changes)
    out.push_back(c.field + " " + c.from.value_or("-") + " -> " + c.to.value_or("-") +
                  (c.cls == ChangeClass::Replace ? " (replace)" : ""));
  return out;
}

BondSpec converged() {
  BondSpec s;
  s.mode = BondMode::Lacp;
  s.lacpRate = LacpRate::Fast;
  s.xmitHashPolicy = XmitHashPolicy::Layer34;
  s.members = {"e2", "e1"};
  return s;
}

// ---- observe ----------------------------------------------------------------------------

TEST(LinkObserve, EveryBondVlanAndVxlanWithOwner) {
  auto seen = observedLinks(sampleHost());
  std::vector<std::string> ids;
  for (const Observed& o : seen) ids.push_back(o.resource.id.str() + (o.owner.empty() ? "" : " @" + o.owner));
  EXPECT_EQ(ids, (std::vector<std::string>{"Bond/bond0 @me", "Bond/bondx", "VlanInterface/bond0.100",
                                            "VxlanInterface/vx1"}));
  const auto& bond = seen[0].resource.as<BondSpec>();
  EXPECT_EQ(bond.members, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(bond.lacpRate, LacpRate::Fast);
  EXPECT_EQ(bond.xmitHashPolicy, XmitHashPolicy::Layer34);
  const auto& backup = seen[1].resource.as<BondSpec>();
  EXPECT_EQ(backup.mode, BondMode::ActiveBackup);
  EXPECT_FALSE(backup.lacpRate);        // meaningful with 802.3ad only
  EXPECT_FALSE(backup.xmitHashPolicy);  // active-backup does not hash
  const auto& vlan = seen[2].resource.as<VlanInterfaceSpec>();
  EXPECT_EQ(vlan.parent, "bond0");
  EXPECT_EQ(vlan.id, 100u);
  const auto& vx = seen[3].resource.as<VxlanInterfaceSpec>();
  EXPECT_EQ(vx.remote, "10.0.0.2");
  EXPECT_FALSE(vx.group);
  EXPECT_EQ(vx.local, "10.0.0.1");
}

TEST(LinkObserve, AMulticastPeerIsAGroup) {
  HostState h = sampleHost();
  for (Link& l : h.links)
    if (l.name == "vx1") l.vxlan->group = "239.1.1.1";
  h.index();
  const auto seen = observedLinks(h);
  EXPECT_EQ(seen[3].resource.as<VxlanInterfaceSpec>().group, "239.1.1.1");
  EXPECT_FALSE(seen[3].resource.as<VxlanInterfaceSpec>().remote);
}

// ---- bonds --------------------------------------------------------------------------------

TEST(BondPlan, AKernelWithoutBondingRefusesANewBondOnly) {
  Diff d = diffOf({resource(kinds::Bond, "bond1", BondSpec{})}, 0, sampleHost(), kNone);
  EXPECT_EQ(problemTexts(d), std::vector<std::string>{"kind: " + missingFeature(kinds::Bond)});
  // An existing bond shows the kernel has the driver.
  EXPECT_TRUE(diffOf({resource(kinds::Bond, "bond0", converged())}, 0, sampleHost(), kNone).problems.empty());
}

TEST(BondPlan, ConvergedHasNoChanges) {
  Diff d = diffOf({resource(kinds::Bond, "bond0", converged())}, 0, sampleHost());
  EXPECT_TRUE(d.problems.empty());
  EXPECT_EQ(rows(d), std::vector<std::string>{});
  EXPECT_EQ(std::any_cast<BondDelta>(d.delta), BondDelta{});
}

TEST(BondPlan, MemberSwapReleasesAndEnslaves) {
  BondSpec s = converged();
  s.members = {"e1", "e3"};
  s.miimon = Millis(200);
  s.mtu = 9000;
  Diff d = diffOf({resource(kinds::Bond, "bond0", s)}, 0, sampleHost());
  EXPECT_TRUE(d.problems.empty());
  EXPECT_EQ(rows(d), (std::vector<std::string>{"mtu 1500 -> 9000", "miimon 100ms -> 200ms",
                                               "members [e1, e2] -> [e1, e3]"}));
  BondDelta want;
  want.link.mtu = 9000;
  want.miimon = Millis(200);
  want.release = {"e2"};
  want.enslave = {"e3"};
  EXPECT_EQ(std::any_cast<BondDelta>(d.delta), want);
  EXPECT_TRUE(d.warnings.empty());
}

TEST(BondPlan, AModeChangeTakesEveryMemberOutAndBackWithAWarning) {
  BondSpec s;
  s.mode = BondMode::ActiveBackup;
  s.members = {"e1", "e2"};
  Diff d = diffOf({resource(kinds::Bond, "bond0", s)}, 0, sampleHost());
  EXPECT_EQ(rows(d), std::vector<std::string>{"mode 802.3ad -> active-backup"});
  EXPECT_EQ(d.changes[0].cls, ChangeClass::Live);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(d.warnings[0].field, "spec.mode");
  const auto delta = std::any_cast<BondDelta>(d.delta);
  EXPECT_EQ(delta.mode, BondMode::ActiveBackup);
  EXPECT_EQ(delta.release, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(delta.enslave, (std::vector<std::string>{"e1", "e2"}));
}

TEST(BondPlan, MemberProblemsNameTheirFields) {
  BondSpec s;
  s.members = {"e3", "missing0", "br0", "bondx", "e4", "vlanlater"};
  VlanInterfaceSpec later;
  later.parent = "e3";
  later.id = 5;
  Diff d = diffOf({resource(kinds::Bond, "bond1", s), resource(kinds::VlanInterface, "vlanlater", later)}, 0,
                  sampleHost());
  EXPECT_EQ(problemTexts(d),
            (std::vector<std::string>{
                "spec.members[1]: Interface missing0 does not exist on the host; create it first or remove it from "
                "the members.",
                "spec.members[2]: Interface br0 is a bridge; a bridge cannot be a member of a bond.",
                "spec.members[3]: Interface bondx is a bond; a bond cannot be a member of another bond.",
                "spec.members[4]: Interface e4 is already attached to bondx, which these manifests do not declare as "
                "a bond; release it from bondx first."}));
}

TEST(BondPlan, AMemberOfTwoDeclaredBondsAndAMoveBetweenThem) {
  BondSpec a = converged(), b;
  b.members = {"e1"};
  Diff d = diffOf({resource(kinds::Bond, "bond0", a), resource(kinds::Bond, "bond1", b)}, 1, sampleHost());
  EXPECT_EQ(problemTexts(d), std::vector<std::string>{"spec.members[0]: Interface e1 is also declared as a member "
                                                      "of Bond/bond0; an interface can be a member of one bond only."});
  a.members = {"e2"};  // bond0 gives e1 up: moving it is fine
  EXPECT_TRUE(diffOf({resource(kinds::Bond, "bond0", a), resource(kinds::Bond, "bond1", b)}, 1, sampleHost())
                  .problems.empty());
}

TEST(BondPlan, ANameTakenByAnotherKindOfLinkOrDeclaredTwice) {
  Diff d = diffOf({resource(kinds::Bond, "taken", BondSpec{})}, 0, sampleHost());
  EXPECT_EQ(problemTexts(d), std::vector<std::string>{"metadata.name: An interface named taken already exists on the "
                                                      "host as a veth device, not a bond; hostform will not replace "
                                                      "it."});
  VxlanInterfaceSpec vx;
  vx.vni = 7;
  d = diffOf({resource(kinds::Bond, "twice", BondSpec{}), resource(kinds::VxlanInterface, "twice", vx)}, 0,
             sampleHost());
  EXPECT_EQ(problemTexts(d), std::vector<std::string>{"metadata.name: Interface twice is also declared as "
                                                      "VxlanInterface/twice; one interface cannot be two kinds of "
                                                      "link."});
}

// ---- VLANs ----------------------------------------------------------------------------------

VlanInterfaceSpec vlan(std::string parent, std::uint32_t id) {
  VlanInterfaceSpec s;
  s.parent = std::move(parent);
  s.id = id;
  return s;
}

TEST(VlanPlan, IdParentAndProtocolAreReplaceMtuIsLive) {
  Diff same = diffOf({resource(kinds::VlanInterface, "bond0.100", vlan("bond0", 100))}, 0, sampleHost());
  EXPECT_EQ(rows(same), std::vector<std::string>{});
  VlanInterfaceSpec s = vlan("e3", 200);
  s.protocol = VlanProtocol::Dot1AD;
  s.mtu = 1400;
  Diff d = diffOf({resource(kinds::VlanInterface, "bond0.100", s)}, 0, sampleHost());
  EXPECT_TRUE(d.problems.empty());
  EXPECT_EQ(rows(d), (std::vector<std::string>{"parent bond0 -> e3 (replace)", "id 100 -> 200 (replace)",
                                               "protocol 802.1Q -> 802.1ad (replace)", "mtu 1500 -> 1400"}));
  s = vlan("bond0", 100);
  s.mtu = 1400;
  s.state = AdminState::Down;
  TunnelDelta live;
  live.link.state = AdminState::Down;
  live.link.mtu = 1400;
  EXPECT_EQ(std::any_cast<TunnelDelta>(diffOf({resource(kinds::VlanInterface, "bond0.100", s)}, 0, sampleHost()).delta),
            live);
}

TEST(VlanPlan, ParentMissingMtuAboveTheParentsAndNoKernelSupport) {
  VlanInterfaceSpec s = vlan("nothere", 5);
  Diff d = diffOf({resource(kinds::VlanInterface, "v5", s)}, 0, sampleHost(), kNone);
  EXPECT_EQ(problemTexts(d),
            (std::vector<std::string>{"kind: " + missingFeature(kinds::VlanInterface),
                                      "spec.parent: Interface nothere does not exist on the host and is not "
                                      "declared; create it first or name another interface."}));
  s = vlan("e3", 5);
  s.mtu = 9000;
  d = diffOf({resource(kinds::VlanInterface, "v5", s)}, 0, sampleHost());
  EXPECT_EQ(problemTexts(d), std::vector<std::string>{"spec.mtu: A VLAN interface's MTU cannot exceed its parent's: "
                                                      "e3 has MTU 1500, below 9000."});
  // A parent declared as a bond to be made first is no problem.
  d = diffOf({resource(kinds::VlanInterface, "v5", vlan("bond9", 5)), resource(kinds::Bond, "bond9", BondSpec{})}, 0,
             sampleHost());
  EXPECT_TRUE(d.problems.empty());
}

// ---- VXLAN ----------------------------------------------------------------------------------

VxlanInterfaceSpec vxlan() {
  VxlanInterfaceSpec s;
  s.vni = 42;
  s.local = "10.0.0.1";
  s.remote = "10.0.0.2";
  return s;
}

TEST(VxlanPlan, VniIsReplaceAndTheBridgeThatListsItTakesItBack) {
  VxlanInterfaceSpec s = vxlan();
  s.vni = 43;
  BridgeSpec br;
  br.ports = {"vx1"};
  Diff d = diffOf({resource(kinds::VxlanInterface, "vx1", s), resource(kinds::Bridge, "br0", br)}, 0, sampleHost());
  EXPECT_EQ(rows(d), std::vector<std::string>{"vni 42 -> 43 (replace)"});
  EXPECT_EQ(std::any_cast<TunnelDelta>(d.delta).reattachTo, "br0");
  // Without the bridge declaring it, nothing is taken back.
  d = diffOf({resource(kinds::VxlanInterface, "vx1", s)}, 0, sampleHost());
  EXPECT_FALSE(std::any_cast<TunnelDelta>(d.delta).reattachTo);
}

TEST(VxlanPlan, LearningAndMtuAreLive) {
  VxlanInterfaceSpec s = vxlan();
  s.learning = false;
  s.mtu = 1400;
  Diff d = diffOf({resource(kinds::VxlanInterface, "vx1", s)}, 0, sampleHost());
  EXPECT_EQ(rows(d), (std::vector<std::string>{"mtu 1450 -> 1400", "learning true -> false"}));
  TunnelDelta want;
  want.link.mtu = 1400;
  want.learning = false;
  EXPECT_EQ(std::any_cast<TunnelDelta>(d.delta), want);
}

TEST(VxlanPlan, DeviceMissingAndNameTaken) {
  VxlanInterfaceSpec s = vxlan();
  s.device = "nothere";
  Diff d = diffOf({resource(kinds::VxlanInterface, "taken", s)}, 0, sampleHost());
  EXPECT_EQ(problemTexts(d),
            (std::vector<std::string>{"metadata.name: An interface named taken already exists on the host as a veth "
                                      "device, not a VXLAN interface; hostform will not replace it.",
                                      "spec.device: Interface nothere does not exist on the host and is not "
                                      "declared; create it first or name another interface."}));
}

// ---- bridges with these ports ---------------------------------------------------------------

TEST(BridgeWithLinkPorts, APortDeclaredAsABondIsMadeFirstSoIsNoProblem) {
  BridgeSpec br;
  br.ports = {"bond7"};
  Diff d = diffOf({resource(kinds::Bridge, "br7", br), resource(kinds::Bond, "bond7", BondSpec{})}, 0, sampleHost());
  EXPECT_TRUE(d.problems.empty());
  d = diffOf({resource(kinds::Bridge, "br7", br)}, 0, sampleHost());
  EXPECT_EQ(d.problems.size(), 1u);  // not declared and not on the host
}

}  // namespace
}  // namespace hostform::netlink
