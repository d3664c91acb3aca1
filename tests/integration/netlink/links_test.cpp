// Bond, VlanInterface and VxlanInterface end to end: the hostform binary
// against the kernel of the test's private network namespace, state read
// back with `ip -j -d`. The same binary runs on this host and in the test VM
// (tests/vm, ctest vm_netlink_suite): each test first asks the kernel itself
// whether it can make the kind (`ip link add` of a probe link in the private
// namespace) and then asserts either the real result or hostform's exact
// plan-time refusal. Nothing is skipped.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/netlink/fixture.h"

namespace hostform::nltest {
namespace {

using nlohmann::json;

/// One document of any kind; spec keys in order.
std::string doc(const std::string& kind, const std::string& name, const SpecLines& spec) {
  std::string out = "apiVersion: hostform/v1\nkind: " + kind + "\nmetadata: {name: " + name + "}\n";
  if (spec.empty()) return out + "spec: {}\n";
  out += "spec:\n";
  for (const auto& [key, value] : spec) out += "  " + key + ": " + value + "\n";
  return out;
}

const json& data(const json& l) { return l["linkinfo"]["info_data"]; }

/// Whether the kernel makes a link of this `ip link add … type` (the probe is
/// deleted at once; the namespace is the test's own).
bool kernelMakes(const std::vector<std::string>& typeArgs) {
  std::vector<std::string> args{"link", "add", "hfprobe0"};
  args.insert(args.end(), typeArgs.begin(), typeArgs.end());
  const bool made = run(IP_BINARY, args).code == 0;
  if (made) run(IP_BINARY, {"link", "del", "hfprobe0"});
  // In the test VM (ctest vm_netlink_suite) Debian's kernel has every link
  // kind: a refusal there is a broken VM, never the other outcome.
  if (std::getenv("HOSTFORM_NETLINK_VM")) {
    EXPECT_TRUE(made) << "HOSTFORM_NETLINK_VM is set, but this kernel cannot make a " << typeArgs.back();
  }
  // In the log, so a run shows which of its two outcomes each test asserted.
  std::printf("  kernel %s ip link add … %s\n", made ? "makes" : "refuses", typeArgs.back().c_str());
  std::fflush(stdout);  // before the next fork, or each child prints it again
  return made;
}

/// Lines of `text` that start with one of `prefixes`, in order.
std::vector<std::string> linesStarting(const std::string& text, const std::vector<std::string>& prefixes) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    for (const auto& p : prefixes)
      if (line.starts_with(p)) out.push_back(line);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class Links : public NetnsTest {
 protected:
  /// A bridge that stays declared, so a prune has a non-empty desired state.
  const std::string keep_ = bridgeDoc("hfkeep0", {});
};

// ---- VXLAN ------------------------------------------------------------------------------

const SpecLines kVx{{"vni", "42"},       {"local", "10.0.0.1"}, {"remote", "10.0.0.2"},
                    {"dstport", "4789"}, {"learning", "true"},  {"mtu", "1400"}};

TEST_F(Links, VxlanIsCreatedChangedLiveReplacedExportedAndPruned) {
  if (!kernelMakes({"type", "vxlan", "id", "1", "dstport", "4789"})) {
    Outcome p = plan({doc("VxlanInterface", "vx42", kVx)});
    EXPECT_EQ(p.code, 1) << p.out;
    EXPECT_TRUE(contains(p.err, "The running kernel lacks VXLAN support (vxlan devices): module vxlan is neither "
                                "loaded, built in, nor installed, so VxlanInterface cannot be made on this host."))
        << p.err;
    EXPECT_FALSE(link("vx42"));
    return;
  }
  Outcome r = apply({doc("VxlanInterface", "vx42", kVx)});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "VxlanInterface/vx42: created\n")) << r.out;
  auto l = link("vx42");
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)["linkinfo"]["info_kind"], "vxlan");
  EXPECT_EQ(data(*l)["id"], 42);
  EXPECT_EQ(data(*l)["local"], "10.0.0.1");
  EXPECT_EQ(data(*l)["remote"], "10.0.0.2");
  EXPECT_EQ(data(*l)["port"], 4789);
  EXPECT_EQ(data(*l)["learning"], true);
  EXPECT_EQ((*l)["mtu"], 1400);
  EXPECT_EQ((*l)["ifalias"], "hostform:owner=" + owner_);
  EXPECT_EQ(plan({doc("VxlanInterface", "vx42", kVx)}, {"--detailed-exitcode"}).code, 0);
  const int index = (*l)["ifindex"];

  // learning and mtu change in place: the same device.
  const std::vector<std::string> live{
      doc("VxlanInterface", "vx42", with(with(kVx, "learning", "false"), "mtu", "1300"))};
  Outcome p = plan(live);
  EXPECT_TRUE(contains(p.out, "~ VxlanInterface/vx42")) << p.out;
  EXPECT_TRUE(contains(p.out, "mtu 1400 -> 1300, learning true -> false")) << p.out;
  ASSERT_EQ(apply(live).code, 0);
  l = link("vx42");
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)["ifindex"], index);
  EXPECT_EQ(data(*l)["learning"], false);
  EXPECT_EQ((*l)["mtu"], 1300);

  // The VNI is Replace: a new device, with the new id.
  const std::vector<std::string> vni{doc("VxlanInterface", "vx42", with(kVx, "vni", "43"))};
  p = plan(vni);
  EXPECT_TRUE(contains(p.out, "vni 42 -> 43 (replace)")) << p.out;
  r = apply(vni);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  l = link("vx42");
  ASSERT_TRUE(l);
  EXPECT_NE((*l)["ifindex"], index);
  EXPECT_EQ(data(*l)["id"], 43);
  EXPECT_EQ(data(*l)["learning"], true);
  EXPECT_EQ(plan(vni, {"--detailed-exitcode"}).code, 0);

  // Export writes what apply makes again.
  Outcome exported = hostform({"export", "--kind", "VxlanInterface"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_TRUE(contains(exported.out, "kind: VxlanInterface\nmetadata:\n  name: vx42\nspec:\n  vni: 43\n  local: "
                                     "10.0.0.1\n  remote: 10.0.0.2\n  mtu: 1400\n"))
      << exported.out;
  const std::string file = dir_.write("export.yaml", exported.out);
  EXPECT_EQ(hostform({"plan", "-f", file, "--detailed-exitcode", "--owner", owner_}).code, 0);

  // Prune: owned and undeclared, so deleted.
  r = apply({keep_}, {"--prune"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "- VxlanInterface/vx42")) << r.out;
  EXPECT_FALSE(link("vx42"));
}

TEST_F(Links, ABridgeWithAVxlanPortIsMadeAfterItAndRemovedBeforeIt) {
  const std::vector<std::string> docs{bridgeDoc("brvx", {{"ports", "[vx7]"}}),
                                      doc("VxlanInterface", "vx7", {{"vni", "7"}, {"remote", "10.0.0.2"}})};
  if (!kernelMakes({"type", "vxlan", "id", "1", "dstport", "4789"})) {
    Outcome p = plan(docs);
    EXPECT_EQ(p.code, 1);
    EXPECT_TRUE(contains(p.err, "so VxlanInterface cannot be made on this host.")) << p.err;
    return;
  }
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // The bridge comes first in the file; the port is made first all the same.
  EXPECT_EQ(linesStarting(r.out, {"Bridge/", "VxlanInterface/"}),
            (std::vector<std::string>{"VxlanInterface/vx7: created", "Bridge/brvx: created"}));
  EXPECT_EQ(masterOf("vx7"), "brvx");
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);

  // A replace of the port keeps it on its bridge.
  const std::vector<std::string> vni{docs[0], doc("VxlanInterface", "vx7", {{"vni", "8"}, {"remote", "10.0.0.2"}})};
  ASSERT_EQ(apply(vni).code, 0);
  EXPECT_EQ(data(*link("vx7"))["id"], 8);
  EXPECT_EQ(masterOf("vx7"), "brvx");
  EXPECT_EQ(plan(vni, {"--detailed-exitcode"}).code, 0);

  r = apply({keep_}, {"--prune"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(linesStarting(r.out, {"Bridge/brvx", "VxlanInterface/"}),
            (std::vector<std::string>{"Bridge/brvx: deleted", "VxlanInterface/vx7: deleted"}));
  EXPECT_FALSE(link("vx7"));
  EXPECT_FALSE(link("brvx"));
}

TEST_F(Links, AMulticastVxlanJoinsItsGroupThroughItsDevice) {
  addVeth("g1");
  const std::vector<std::string> docs{
      doc("VxlanInterface", "vxg", {{"vni", "9"}, {"group", "239.1.1.1"}, {"device", "g1a"}, {"dstport", "8472"}})};
  if (!kernelMakes({"type", "vxlan", "id", "1", "dstport", "4789"})) {
    EXPECT_TRUE(contains(plan(docs).err, "so VxlanInterface cannot be made"));
    return;
  }
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto l = link("vxg");
  ASSERT_TRUE(l);
  EXPECT_EQ(data(*l)["group"], "239.1.1.1");
  EXPECT_EQ(data(*l)["link"], "g1a");
  EXPECT_EQ(data(*l)["port"], 8472);
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
  // Another device is Replace.
  addVeth("g2");
  Outcome p = plan({doc("VxlanInterface", "vxg", {{"vni", "9"}, {"group", "239.1.1.1"}, {"device", "g2a"},
                                                   {"dstport", "8472"}})});
  EXPECT_TRUE(contains(p.out, "device g1a -> g2a (replace)")) << p.out;
}

TEST_F(Links, AnUnownedVxlanIsAdoptedAndDriftIsCorrected) {
  if (!kernelMakes({"type", "vxlan", "id", "1", "dstport", "4789"})) {
    EXPECT_TRUE(contains(plan({doc("VxlanInterface", "vxh", {{"vni", "5"}})}).err, "so VxlanInterface cannot be made"));
    return;
  }
  ip({"link", "add", "vxh", "type", "vxlan", "id", "5", "dstport", "4789"});
  ip({"link", "set", "vxh", "up"});
  const std::vector<std::string> docs{doc("VxlanInterface", "vxh", {{"vni", "5"}})};
  Outcome p = plan(docs);
  EXPECT_EQ(p.out, "~ VxlanInterface/vxh            owner (none) -> " + owner_ +
                       "\nPlan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(apply(docs).code, 0);
  EXPECT_EQ((*link("vxh"))["ifalias"], "hostform:owner=" + owner_);
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);

  // Changed behind hostform's back: planned and put back in place.
  ip({"link", "set", "vxh", "type", "vxlan", "nolearning"});
  ip({"link", "set", "vxh", "down"});
  p = plan(docs);
  EXPECT_TRUE(contains(p.out, "~ VxlanInterface/vxh            state down -> up, learning false -> true\n"))
      << p.out;
  ASSERT_EQ(apply(docs).code, 0);
  EXPECT_EQ(data(*link("vxh"))["learning"], true);
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
}

TEST_F(Links, ANameTakenByAnotherKindIsAPlanError) {
  addVeth("t1");
  Outcome p = plan({doc("VxlanInterface", "t1a", {{"vni", "9"}})});
  EXPECT_EQ(p.code, 1);
  EXPECT_TRUE(contains(p.err, "An interface named t1a already exists on the host as a veth device, not a VXLAN "
                              "interface; hostform will not replace it."))
      << p.err;
  p = plan({doc("VxlanInterface", "same0", {{"vni", "9"}}), bridgeDoc("same0", {})});
  EXPECT_EQ(p.code, 1);
  EXPECT_TRUE(contains(p.err, "Interface same0 is also declared as Bridge/same0; one interface cannot be two kinds of "
                              "link."))
      << p.err;
}

// ---- bonds and VLANs ------------------------------------------------------------------------

TEST_F(Links, BondVlanAndBridgeAreMadeChangedAndPrunedInOrder) {
  addVeth("m1");
  addVeth("m2");
  addVeth("m3");
  const bool bonding = kernelMakes({"type", "bond"});
  const bool vlans = kernelMakes({"link", "m1b", "type", "vlan", "id", "5"});
  const std::string bond = doc("Bond", "bond0", {{"mode", "active-backup"}, {"members", "[m1a, m2a]"}});
  const std::string vlan = doc("VlanInterface", "bond0.100", {{"parent", "bond0"}, {"id", "100"}});
  const std::string bridge = bridgeDoc("br100", {{"ports", "[bond0.100]"}});
  if (!bonding || !vlans) {
    Outcome p = plan({bridge, vlan, bond});
    EXPECT_EQ(p.code, 1) << p.out;
    EXPECT_EQ(contains(p.err, "The running kernel lacks bonding (bond devices): module bonding is neither loaded, "
                              "built in, nor installed, so Bond cannot be made on this host."),
              !bonding)
        << p.err;
    EXPECT_EQ(contains(p.err, "The running kernel lacks 802.1Q VLAN support (VLAN devices): module 8021q is neither "
                              "loaded, built in, nor installed, so VlanInterface cannot be made on this host."),
              !vlans)
        << p.err;
    Outcome a = apply({bridge, vlan, bond});
    EXPECT_NE(a.code, 0);
    EXPECT_FALSE(link("bond0"));
    EXPECT_FALSE(link("br100"));
    EXPECT_EQ(masterOf("m1a"), "");
    return;
  }
  Outcome r = apply({bridge, vlan, bond});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(linesStarting(r.out, {"Bond/", "VlanInterface/", "Bridge/"}),
            (std::vector<std::string>{"Bond/bond0: created", "VlanInterface/bond0.100: created",
                                      "Bridge/br100: created"}));
  auto b = link("bond0");
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["linkinfo"]["info_kind"], "bond");
  EXPECT_EQ(data(*b)["mode"], "active-backup");
  EXPECT_EQ(data(*b)["miimon"], 100);
  EXPECT_EQ((*b)["ifalias"], "hostform:owner=" + owner_);
  EXPECT_EQ(masterOf("m1a"), "bond0");
  EXPECT_EQ(masterOf("m2a"), "bond0");
  auto v = link("bond0.100");
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["link"], "bond0");
  EXPECT_EQ(data(*v)["id"], 100);
  EXPECT_EQ(data(*v)["protocol"], "802.1Q");
  EXPECT_EQ((*v)["ifalias"], "hostform:owner=" + owner_);
  EXPECT_EQ(masterOf("bond0.100"), "br100");
  EXPECT_EQ(plan({bridge, vlan, bond}, {"--detailed-exitcode"}).code, 0);
  const int bondIndex = (*b)["ifindex"];
  const int vlanIndex = (*v)["ifindex"];

  // Member swap, mode change (the bond is kept: its VLAN survives), MTU.
  const std::string changed = doc(
      "Bond", "bond0",
      {{"mode", "balance-xor"}, {"xmitHashPolicy", "layer3+4"}, {"members", "[m1a, m3a]"}, {"mtu", "9000"}});
  Outcome p = plan({bridge, vlan, changed});
  EXPECT_TRUE(contains(p.out, "mode active-backup -> balance-xor")) << p.out;
  EXPECT_TRUE(contains(p.out, "members [m1a, m2a] -> [m1a, m3a]")) << p.out;
  EXPECT_TRUE(contains(p.out + p.err, "takes it down and releases its members for a moment")) << p.out << p.err;
  r = apply({bridge, vlan, changed});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  b = link("bond0");
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)["ifindex"], bondIndex);
  EXPECT_EQ(data(*b)["mode"], "balance-xor");
  EXPECT_EQ(data(*b)["xmit_hash_policy"], "layer3+4");
  EXPECT_EQ((*b)["mtu"], 9000);
  EXPECT_EQ(masterOf("m1a"), "bond0");
  EXPECT_EQ(masterOf("m2a"), "");
  EXPECT_EQ(masterOf("m3a"), "bond0");
  EXPECT_EQ((*link("m3a"))["mtu"], 9000);
  v = link("bond0.100");
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["ifindex"], vlanIndex);
  EXPECT_EQ(masterOf("bond0.100"), "br100");
  EXPECT_EQ(plan({bridge, vlan, changed}, {"--detailed-exitcode"}).code, 0);

  // A VLAN id change is Replace; the bridge gets the new interface back.
  const std::string vlan200 = doc("VlanInterface", "bond0.100", {{"parent", "bond0"}, {"id", "200"}});
  p = plan({bridge, vlan200, changed});
  EXPECT_TRUE(contains(p.out, "id 100 -> 200 (replace)")) << p.out;
  ASSERT_EQ(apply({bridge, vlan200, changed}).code, 0);
  EXPECT_EQ(data(*link("bond0.100"))["id"], 200);
  EXPECT_EQ(masterOf("bond0.100"), "br100");

  // Export, then prune in reverse order: bridge, VLAN, bond; members released, kept.
  Outcome exported = hostform({"export", "--kind", "Bond", "--kind", "VlanInterface"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_TRUE(contains(exported.out, "kind: Bond\nmetadata:\n  name: bond0\nspec:\n  mode: balance-xor\n  "
                                     "xmitHashPolicy: layer3+4\n  members:\n    - m1a\n    - m3a\n  mtu: 9000\n"))
      << exported.out;
  EXPECT_TRUE(contains(exported.out, "kind: VlanInterface\nmetadata:\n  name: bond0.100\nspec:\n  parent: bond0\n  "
                                     "id: 200\n"))
      << exported.out;
  r = apply({keep_}, {"--prune"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(linesStarting(r.out, {"Bond/", "VlanInterface/", "Bridge/br100"}),
            (std::vector<std::string>{"Bridge/br100: deleted", "VlanInterface/bond0.100: deleted",
                                      "Bond/bond0: deleted"}));
  EXPECT_FALSE(link("bond0"));
  EXPECT_FALSE(link("bond0.100"));
  EXPECT_FALSE(link("br100"));
  EXPECT_TRUE(link("m1a"));
  EXPECT_EQ(masterOf("m1a"), "");
  EXPECT_EQ(masterOf("m3a"), "");
}

TEST_F(Links, ABridgeOnABondIsMadeAfterItAndRemovedBeforeIt) {
  addVeth("m4");
  const std::vector<std::string> docs{bridgeDoc("brb", {{"ports", "[bond1]"}}),
                                      doc("Bond", "bond1", {{"members", "[m4a]"}})};
  if (!kernelMakes({"type", "bond"})) {
    Outcome p = plan(docs);
    EXPECT_EQ(p.code, 1);
    // The only problem: the bridge's port is declared, so it is no error of the bridge.
    EXPECT_EQ(p.err, dir_.path() + "/m.yaml:7:1: error: kind: The running kernel lacks bonding (bond devices): "
                                   "module bonding is neither loaded, built in, nor installed, so Bond cannot be made "
                                   "on this host.\n1 error(s); nothing was changed.\n");
    EXPECT_FALSE(link("bond1"));
    return;
  }
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(linesStarting(r.out, {"Bond/", "Bridge/"}),
            (std::vector<std::string>{"Bond/bond1: created", "Bridge/brb: created"}));
  EXPECT_EQ(masterOf("bond1"), "brb");
  EXPECT_EQ(masterOf("m4a"), "bond1");
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
  r = apply({keep_}, {"--prune"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(linesStarting(r.out, {"Bond/", "Bridge/brb"}),
            (std::vector<std::string>{"Bridge/brb: deleted", "Bond/bond1: deleted"}));
  EXPECT_FALSE(link("bond1"));
  EXPECT_EQ(masterOf("m4a"), "");
}

}  // namespace
}  // namespace hostform::nltest
