// The Bridge's per-port options, static FDB and VLAN filtering end to end:
// the hostform binary against the kernel of the test's private namespace,
// the kernel's state read back with `ip -j -d link show`, `bridge -j fdb show`
// and `bridge -j vlan show`.
//
// VLAN filtering depends on the kernel (CONFIG_BRIDGE_VLAN_FILTERING). Each
// VLAN test asks the kernel first (kernelFiltersVlans) and then asserts either
// the plan's exact refusal or the real result. With HOSTFORM_NETLINK_VM=1 (the
// test VM, Debian's stock kernel: ctest vm_netlink_suite) the kernel must
// have it, so a kernel that lost it fails instead of asserting the refusal.

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/netlink/fixture.h"

namespace hostform::nltest {
namespace {

using nlohmann::json;

const json& slaveData(const std::string& port) {
  static json last;
  auto l = link(port);
  last = l ? (*l)["linkinfo"]["info_slave_data"] : json();
  return last;
}

json runJson(const std::vector<std::string>& args) {
  Outcome r = run("/usr/sbin/bridge", args);
  EXPECT_EQ(r.code, 0) << r.err;
  return r.code == 0 && !r.out.empty() ? json::parse(r.out) : json::array();
}

/// Static entries of bridge `br`, as "mac port[ vlan]", sorted, each once.
/// Without `perVlan` the VLAN is left out: a kernel with bridge VLAN support
/// copies an entry added without a VLAN to every VLAN of the port (vlan 1),
/// also on a bridge that does not filter.
std::vector<std::string> staticFdb(const std::string& br, bool perVlan = false) {
  std::vector<std::string> out;
  for (const json& e : runJson({"-j", "fdb", "show", "br", br})) {
    if (!e.contains("state") || e["state"] != "static") continue;
    std::string line = e["mac"].get<std::string>() + " " + e["ifname"].get<std::string>();
    if (perVlan && e.contains("vlan")) line += " " + std::to_string(e["vlan"].get<int>());
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// VLANs of `port`, as "id[-end][ pvid][ untagged]": consecutive VLANs
/// with the same flags (never the pvid) as one range, whether or not this
/// iproute2 compresses them itself.
std::vector<std::string> vlansOf(const std::string& port) {
  struct Run {
    int first, last;
    std::string flags;
  };
  std::vector<Run> runs;
  for (const json& dev : runJson({"-j", "vlan", "show", "dev", port}))
    for (const json& v : dev["vlans"]) {
      std::string flags;
      for (const json& f : v.value("flags", json::array())) {
        if (f == "PVID") flags += " pvid";
        if (f == "Egress Untagged") flags += " untagged";
      }
      const int first = v["vlan"].get<int>(), last = v.value("vlanEnd", first);
      if (!runs.empty() && runs.back().last + 1 == first && runs.back().flags == flags &&
          flags.find("pvid") == std::string::npos)
        runs.back().last = last;
      else
        runs.push_back({first, last, flags});
    }
  std::vector<std::string> out;
  for (const Run& r : runs)
    out.push_back(std::to_string(r.first) + (r.last != r.first ? "-" + std::to_string(r.last) : "") + r.flags);
  return out;
}

std::string noChanges() { return "No changes. Host matches the manifests.\n"; }

class BridgeFeatures : public NetnsTest {};

// ---- per-port options ----------------------------------------------------------------

TEST_F(BridgeFeatures, PortOptionsAreSetComparedWhereDeclaredAndKeptWhereNot) {
  addVeth("p1");
  addVeth("p2");
  const auto docs = [](const std::string& p1) {
    return std::vector<std::string>{bridgeDoc("br0", {{"ports", "[" + p1 + ", p2a]"}})};
  };
  Outcome r = apply(docs("{name: p1a, cost: 100, priority: 10, hairpin: true, isolated: true, learning: false}"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ports (none) -> [p1a, p2a], ports[p1a].cost (none) -> 100, ports[p1a].priority (none) -> "
                       "10, ports[p1a].hairpin (none) -> true, ports[p1a].isolated (none) -> true, "
                       "ports[p1a].learning (none) -> false"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(slaveData("p1a")["cost"], 100);
  EXPECT_EQ(slaveData("p1a")["priority"], 10);
  EXPECT_EQ(slaveData("p1a")["hairpin"], true);
  EXPECT_EQ(slaveData("p1a")["isolated"], true);
  EXPECT_EQ(slaveData("p1a")["learning"], false);
  // The port declared as a string keeps the kernel's defaults.
  EXPECT_EQ(slaveData("p2a")["priority"], 32);
  EXPECT_EQ(slaveData("p2a")["learning"], true);
  EXPECT_EQ(plan(docs("{name: p1a, cost: 100, priority: 10, hairpin: true, isolated: true, learning: false}"),
                 {"--detailed-exitcode"})
                .out,
            noChanges());

  // One option changed: one row, the kernel follows; the others stay.
  const auto changed = docs("{name: p1a, cost: 200, priority: 10, hairpin: true, isolated: true, learning: false}");
  Outcome p = plan(changed, {"--detailed-exitcode"});
  EXPECT_EQ(p.code, 2);
  EXPECT_EQ(p.out, "~ Bridge/br0                    ports[p1a].cost 100 -> 200\n"
                   "Plan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(apply(changed).code, 0);
  EXPECT_EQ(slaveData("p1a")["cost"], 200);
  EXPECT_EQ(slaveData("p1a")["isolated"], true);

  // The string form again: unset options are not compared, the kernel keeps them.
  Outcome plainPlan = plan(docs("p1a"), {"--detailed-exitcode"});
  EXPECT_EQ(plainPlan.code, 0) << plainPlan.out;
  EXPECT_EQ(slaveData("p1a")["cost"], 200);
}

TEST_F(BridgeFeatures, OptionsOfAPortAddedLaterAreSetAfterItIsEnslaved) {
  addVeth("p1");
  addVeth("p2");
  ASSERT_EQ(apply({bridgeDoc("br0", {{"ports", "[p1a]"}})}).code, 0);
  const std::vector<std::string> docs{bridgeDoc("br0", {{"ports", "[p1a, {name: p2a, priority: 7}]"}})};
  Outcome p = plan(docs);
  EXPECT_EQ(p.out, "~ Bridge/br0                    ports [p1a] -> [p1a, p2a], ports[p2a].priority (none) "
                   "-> 7\nPlan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(apply(docs).code, 0);
  EXPECT_EQ(masterOf("p2a"), "br0");
  EXPECT_EQ(slaveData("p2a")["priority"], 7);
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
}

// ---- static FDB ----------------------------------------------------------------------

TEST_F(BridgeFeatures, StaticFdbIsAddedMovedAndRemoved) {
  addVeth("p1");
  addVeth("p2");
  const auto docs = [](const std::string& fdb) {
    return std::vector<std::string>{bridgeDoc("br0", {{"ports", "[p1a, p2a]"}, {"fdb", fdb}})};
  };
  const auto first = docs(
      "[{mac: \"52:54:00:00:00:01\", port: p1a}, {mac: \"52:54:00:00:00:02\", port: p2a}]");
  Outcome r = apply(first);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(staticFdb("br0"), (std::vector<std::string>{"52:54:00:00:00:01 p1a", "52:54:00:00:00:02 p2a"}));
  EXPECT_EQ(plan(first, {"--detailed-exitcode"}).out, noChanges());

  // An entry added by hand on a port of the bridge is not declared: removed.
  ASSERT_EQ(run("/usr/sbin/bridge", {"fdb", "add", "52:54:00:00:00:09", "dev", "p1a", "master", "static"}).code, 0);
  const auto second = docs(
      "[{mac: \"52:54:00:00:00:01\", port: p2a}, {mac: \"52:54:00:00:00:03\", port: p1a}]");
  Outcome p = plan(second, {"--detailed-exitcode"});
  EXPECT_EQ(p.code, 2);
  EXPECT_EQ(p.out, "~ Bridge/br0                    fdb [52:54:00:00:00:01 on p1a, 52:54:00:00:00:02 on "
                   "p2a, 52:54:00:00:00:09 on p1a] -> [52:54:00:00:00:01 on p2a, 52:54:00:00:00:03 on p1a]\n"
                   "Plan: 0 to create, 1 to change, 0 to delete.\n");
  r = apply(second);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(staticFdb("br0"), (std::vector<std::string>{"52:54:00:00:00:01 p2a", "52:54:00:00:00:03 p1a"}));
  EXPECT_EQ(plan(second, {"--detailed-exitcode"}).out, noChanges());

  // Left out, the static entries are not managed; an empty list removes them.
  EXPECT_EQ(plan({bridgeDoc("br0", {{"ports", "[p1a, p2a]"}})}, {"--detailed-exitcode"}).code, 0);
  ASSERT_EQ(apply(docs("[]")).code, 0);
  EXPECT_EQ(staticFdb("br0"), std::vector<std::string>{});
  // The bridge's own permanent entries are never touched.
  bool permanent = false;
  for (const json& e : runJson({"-j", "fdb", "show", "br", "br0"}))
    if (e.value("state", "") == "permanent") permanent = true;
  EXPECT_TRUE(permanent);
}

TEST_F(BridgeFeatures, AnFdbEntryOnAPortEnslavedInTheSameApply) {
  addVeth("p1");
  const std::vector<std::string> docs{
      bridgeDoc("br0", {{"ports", "[p1a]"}, {"fdb", "[{mac: \"02:00:00:00:00:aa\", port: p1a}]"}})};
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("fdb (none) -> [02:00:00:00:00:aa on p1a]"), std::string::npos) << r.out;
  EXPECT_EQ(staticFdb("br0"), std::vector<std::string>{"02:00:00:00:00:aa p1a"});
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
}

// ---- export ----------------------------------------------------------------------------

TEST_F(BridgeFeatures, ExportWritesPortOptionsAndFdbAndRebuildsThem) {
  addVeth("p1");
  addVeth("p2");
  ip({"link", "add", "lan", "type", "bridge"});
  ip({"link", "set", "p1a", "master", "lan"});
  ip({"link", "set", "p2a", "master", "lan"});
  ip({"link", "set", "p1a", "type", "bridge_slave", "cost", "250", "priority", "12", "hairpin", "on", "learning",
      "off", "isolated", "on"});
  ASSERT_EQ(run("/usr/sbin/bridge", {"fdb", "add", "52:54:00:00:00:05", "dev", "p2a", "master", "static"}).code, 0);

  Outcome exported = hostform({"export", "--kind", "Bridge"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  // p2a has no options: the string form.
  EXPECT_NE(exported.out.find("  ports:\n    - name: p1a\n      cost: 250\n      priority: 12\n      hairpin: true\n"
                              "      isolated: true\n      learning: false\n    - p2a\n"),
            std::string::npos)
      << exported.out;
  EXPECT_NE(exported.out.find("  fdb:\n    - mac: 52:54:00:00:00:05\n      port: p2a\n"), std::string::npos)
      << exported.out;

  ip({"link", "del", "lan"});
  const std::string file = dir_.write("export.yaml", exported.out);
  Outcome r = hostform({"apply", "-f", file, "--state-dir", state_, "--owner", owner_});
  ASSERT_EQ(r.code, 0) << exported.out << r.out << r.err;
  EXPECT_EQ(slaveData("p1a")["cost"], 250);
  EXPECT_EQ(slaveData("p1a")["priority"], 12);
  EXPECT_EQ(slaveData("p1a")["hairpin"], true);
  EXPECT_EQ(slaveData("p1a")["isolated"], true);
  EXPECT_EQ(slaveData("p1a")["learning"], false);
  EXPECT_EQ(staticFdb("lan"), std::vector<std::string>{"52:54:00:00:00:05 p2a"});
  EXPECT_EQ(hostform({"plan", "-f", file, "--detailed-exitcode", "--owner", owner_}).code, 0);
}

// ---- VLAN filtering --------------------------------------------------------------------

/// Whether this kernel makes a VLAN-filtering bridge (asked with ip, not with
/// hostform's own probe). In the test VM it must.
bool kernelFiltersVlans() {
  Outcome r = run(IP_BINARY, {"link", "add", "vfprobe", "type", "bridge", "vlan_filtering", "1"});
  if (r.code == 0) ip({"link", "del", "vfprobe"});
  const bool inVm = std::getenv("HOSTFORM_NETLINK_VM") != nullptr;
  EXPECT_TRUE(r.code == 0 || !inVm) << "the test VM's kernel must filter VLANs on bridges: " << r.err;
  if (r.code != 0) {
    EXPECT_NE(r.err.find("Operation not supported"), std::string::npos) << r.err;
  }
  return r.code == 0;
}

const char* const kRefusal =
    "error: spec.vlanFiltering: This kernel cannot filter VLANs on a bridge (it was built without "
    "CONFIG_BRIDGE_VLAN_FILTERING), so vlanFiltering, defaultPvid, per-port vlans and FDB entries with a vlan "
    "cannot be applied on this host.";

TEST_F(BridgeFeatures, VlanFilteringIsRefusedOrAppliedAsTheKernelAllows) {
  addVeth("p1");
  addVeth("p2");
  const std::vector<std::string> docs{bridgeDoc(
      "br0", {{"vlanFiltering", "true"},
              {"defaultPvid", "1"},
              {"ports", "[{name: p1a, vlans: [{id: 10, pvid: true, untagged: true}, {range: 20-30}]}, "
                        "{name: p2a, vlans: [{id: 10}, {id: 40, untagged: true}]}]"},
              {"fdb", "[{mac: \"52:54:00:00:00:01\", port: p2a, vlan: 10}]"}})};
  if (!kernelFiltersVlans()) {
    // Both with no bridge on the host (the probe) and with one (its attributes).
    for (bool withBridge : {false, true}) {
      if (withBridge) ip({"link", "add", "other", "type", "bridge"});
      Outcome p = plan(docs);
      EXPECT_EQ(p.code, 1) << p.out << p.err;
      EXPECT_NE(p.err.find(":5:18: " + std::string(kRefusal)), std::string::npos) << p.err;
      Outcome a = apply(docs);
      EXPECT_NE(a.code, 0);
      EXPECT_FALSE(link("br0")) << "a refused plan changed nothing";
      EXPECT_EQ(masterOf("p1a"), "");
    }
    return;
  }
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto br = link("br0");
  ASSERT_TRUE(br);
  EXPECT_EQ((*br)["linkinfo"]["info_data"]["vlan_filtering"], 1);
  EXPECT_EQ((*br)["linkinfo"]["info_data"]["vlan_default_pvid"], 1);
  EXPECT_EQ(vlansOf("p1a"), (std::vector<std::string>{"10 pvid untagged", "20-30"}));
  EXPECT_EQ(vlansOf("p2a"), (std::vector<std::string>{"10", "40 untagged"}));
  EXPECT_EQ(staticFdb("br0", true), std::vector<std::string>{"52:54:00:00:00:01 p2a 10"});
  Outcome again = plan(docs, {"--detailed-exitcode"});
  EXPECT_EQ(again.code, 0) << again.out << again.err;

  // A change of VLANs and of the default PVID, and a removal.
  const std::vector<std::string> changed{bridgeDoc(
      "br0", {{"vlanFiltering", "true"},
              {"defaultPvid", "5"},
              {"ports", "[{name: p1a, vlans: [{id: 10, untagged: true}, {range: 20-25}, {id: 99, pvid: true}]}, "
                        "{name: p2a, vlans: [{id: 10}]}]"},
              {"fdb", "[]"}})};
  Outcome p = plan(changed, {"--detailed-exitcode"});
  EXPECT_EQ(p.code, 2) << p.out << p.err;
  EXPECT_EQ(p.out, "~ Bridge/br0                    defaultPvid 1 -> 5, ports[p1a].vlans [10 pvid untagged, "
                   "20-30] -> [10 untagged, 20-25, 99 pvid], ports[p2a].vlans [10, 40 untagged] -> [10], fdb "
                   "[52:54:00:00:00:01 on p2a vlan 10] -> []\n"
                   "Plan: 0 to create, 1 to change, 0 to delete.\n");
  r = apply(changed);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ((*link("br0"))["linkinfo"]["info_data"]["vlan_default_pvid"], 5);
  EXPECT_EQ(vlansOf("p1a"), (std::vector<std::string>{"10 untagged", "20-25", "99 pvid"}));
  EXPECT_EQ(vlansOf("p2a"), std::vector<std::string>{"10"});
  EXPECT_EQ(staticFdb("br0", true), std::vector<std::string>{});
  again = plan(changed, {"--detailed-exitcode"});
  EXPECT_EQ(again.code, 0) << again.out << again.err;

  // Filtering off: the VLAN lists go with it (a load rule), the kernel stops filtering.
  const std::vector<std::string> off{bridgeDoc("br0", {{"ports", "[p1a, p2a]"}})};
  ASSERT_EQ(apply(off).code, 0);
  EXPECT_EQ((*link("br0"))["linkinfo"]["info_data"]["vlan_filtering"], 0);
  EXPECT_EQ(plan(off, {"--detailed-exitcode"}).code, 0);
}

TEST_F(BridgeFeatures, VlanAwareExportRoundTrips) {
  addVeth("p1");
  if (!kernelFiltersVlans()) {
    // Nothing filters VLANs here, so export has no VLANs to write: a plain bridge.
    ip({"link", "add", "lan", "type", "bridge"});
    ip({"link", "set", "p1a", "master", "lan"});
    Outcome exported = hostform({"export", "--kind", "Bridge"});
    ASSERT_EQ(exported.code, 0) << exported.err;
    EXPECT_EQ(exported.out.find("vlan"), std::string::npos) << exported.out;
    EXPECT_NE(exported.out.find("  ports:\n    - p1a\n"), std::string::npos) << exported.out;
    return;
  }
  ip({"link", "add", "lan", "type", "bridge", "vlan_filtering", "1", "vlan_default_pvid", "3"});
  ip({"link", "set", "p1a", "master", "lan"});
  ASSERT_EQ(run("/usr/sbin/bridge", {"vlan", "add", "vid", "100", "dev", "p1a"}).code, 0);
  Outcome exported = hostform({"export", "--kind", "Bridge"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_NE(exported.out.find("  vlanFiltering: true\n  defaultPvid: 3\n"), std::string::npos) << exported.out;
  ip({"link", "del", "lan"});
  const std::string file = dir_.write("export.yaml", exported.out);
  Outcome r = hostform({"apply", "-f", file, "--state-dir", state_, "--owner", owner_});
  ASSERT_EQ(r.code, 0) << exported.out << r.out << r.err;
  EXPECT_EQ(vlansOf("p1a"), (std::vector<std::string>{"3 pvid untagged", "100"}));
  EXPECT_EQ(hostform({"plan", "-f", file, "--detailed-exitcode", "--owner", owner_}).code, 0);
}

}  // namespace
}  // namespace hostform::nltest
