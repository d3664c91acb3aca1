// The Bridge kind end to end: the hostform binary against the kernel of the
// test's private network namespace, with kernel state read back by `ip -j`.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/netlink/fixture.h"

namespace hostform::nltest {
namespace {

using nlohmann::json;

const SpecLines kFull{
    {"state", "up"},
    {"mtu", "1500"},
    {"macAddress", "02:00:00:00:00:01"},
    {"stp", "{enabled: false, priority: 32768, forwardDelay: 15s, helloTime: 2s, maxAge: 20s}"},
    {"ports", "[p1a]"},
    {"addresses", "[10.0.0.1/24, fd00::1/64]"},
};

const json& brData(const json& l) { return l["linkinfo"]["info_data"]; }

bool isUp(const json& l) {
  for (const auto& f : l["flags"])
    if (f == "UP") return true;
  return false;
}

std::string noChanges() { return "No changes. Host matches the manifests.\n"; }

class Bridge : public NetnsTest {};

TEST_F(Bridge, CreatesFromEmptyThenSecondRunIsANoOp) {
  addVeth("p1");
  const std::vector<std::string> docs{bridgeDoc(
      "br0", {{"mtu", "9000"},
              {"macAddress", "02:AA:bb:cc:dd:ee"},
              {"stp", "{enabled: true, priority: 4096, forwardDelay: 4s, helloTime: 1s, maxAge: 12s}"},
              {"ports", "[p1a]"},
              {"addresses", "[10.1.0.1/24, \"FD00:0::0001/64\"]"}})};
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // A create lists every value it sets, and what it does to the port.
  EXPECT_EQ(r.out, "+ Bridge/br0                    create: state (none) -> up, mtu (none) -> 9000, macAddress "
                   "(none) -> 02:aa:bb:cc:dd:ee, stp.enabled (none) -> true, stp.priority (none) -> 4096, "
                   "stp.forwardDelay (none) -> 4s, stp.helloTime (none) -> 1s, stp.maxAge (none) -> 12s, ports "
                   "(none) -> [p1a], addresses (none) -> [10.1.0.1/24, FD00:0::0001/64], ports[p1a].mtu 1500 -> 9000\n"
                   "Plan: 1 to create, 0 to change, 0 to delete.\n"
                   "Bridge/br0: created\nApply complete: 1 done.\n");

  auto l = link("br0");
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)["linkinfo"]["info_kind"], "bridge");
  EXPECT_TRUE(isUp(*l));
  EXPECT_EQ((*l)["mtu"], 9000);
  EXPECT_EQ((*l)["address"], "02:aa:bb:cc:dd:ee");
  EXPECT_EQ((*l)["ifalias"], "hostform:owner=" + owner_);
  EXPECT_EQ(brData(*l)["stp_state"], 1);
  EXPECT_EQ(brData(*l)["priority"], 4096);
  EXPECT_EQ(brData(*l)["forward_delay"], 400);
  EXPECT_EQ(brData(*l)["hello_time"], 100);
  EXPECT_EQ(brData(*l)["max_age"], 1200);
  EXPECT_EQ(masterOf("p1a"), "br0");
  EXPECT_EQ(globalAddresses("br0"), (std::vector<std::string>{"10.1.0.1/24", "fd00::1/64"}));

  Outcome again = plan(docs, {"--detailed-exitcode"});
  EXPECT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_EQ(again.out, noChanges());
  Outcome reapply = apply(docs);
  EXPECT_EQ(reapply.code, 0);
  EXPECT_EQ(reapply.out, noChanges());
}

TEST_F(Bridge, DefaultsConvergeAndTimersNormaliseToWhatTheKernelKeeps) {
  // 1.234s: the kernel keeps centiseconds (and jiffies below them), so it
  // reads back as 1.22s or 1.23s; either way the next plan is quiet.
  const std::vector<std::string> docs{bridgeDoc("br0", {{"stp", "{helloTime: 1234ms}"}}),
                                      bridgeDoc("br1", {})};
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto l = link("br1");
  ASSERT_TRUE(l);
  EXPECT_EQ(brData(*l)["stp_state"], 0);
  EXPECT_EQ(brData(*l)["priority"], 32768);
  EXPECT_EQ(brData(*l)["forward_delay"], 1500);
  EXPECT_EQ(brData(*l)["hello_time"], 200);
  EXPECT_EQ(brData(*l)["max_age"], 2000);
  Outcome again = plan(docs, {"--detailed-exitcode"});
  EXPECT_EQ(again.code, 0) << again.out << again.err;
}

// ---- each field alone -------------------------------------------------------------

struct FieldCase {
  std::string name;
  std::string key, value;  ///< the one spec line that changes
  std::string field, from, to;
  void (*check)(const json& link);
};

class OneField : public NetnsTest, public ::testing::WithParamInterface<FieldCase> {};

TEST_P(OneField, IsOneUpdateAndTheKernelShowsTheNewValue) {
  const FieldCase& c = GetParam();
  // The base bridge has an IPv6 address, which the kernel would drop when the
  // State case takes it down (bad_input_test covers that refusal).
  std::ofstream("/proc/sys/net/ipv6/conf/all/keep_addr_on_down") << "1\n";
  addVeth("p1");
  addVeth("p2");
  ASSERT_EQ(apply({bridgeDoc("br0", kFull)}).code, 0);

  const std::vector<std::string> changed{bridgeDoc("br0", with(kFull, c.key, c.value))};
  Outcome p = plan(changed, {"-o", "json", "--detailed-exitcode"});
  ASSERT_EQ(p.code, 2) << p.out << p.err;
  json planJson = json::parse(p.out);
  ASSERT_EQ(planJson["actions"].size(), 1u) << p.out;
  const json& action = planJson["actions"][0];
  EXPECT_EQ(action["op"], "update");
  EXPECT_EQ(action["id"], "Bridge/br0");
  ASSERT_EQ(action["changes"].size(), 1u) << p.out;
  EXPECT_EQ(action["changes"][0]["field"], c.field);
  EXPECT_EQ(action["changes"][0]["from"], c.from);
  EXPECT_EQ(action["changes"][0]["to"], c.to);
  EXPECT_EQ(action["changes"][0]["class"], "live");

  Outcome r = apply(changed);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(r.out.ends_with("Bridge/br0: updated\nApply complete: 1 done.\n")) << r.out;
  auto l = link("br0");
  ASSERT_TRUE(l);
  c.check(*l);
  EXPECT_EQ(plan(changed, {"--detailed-exitcode"}).code, 0);
}

const FieldCase kFieldCases[] = {
    {"State", "state", "down", "state", "up", "down", [](const json& l) { EXPECT_FALSE(isUp(l)); }},
    // Lowered: a raise also raises the ports' MTU (PortsAreUpAndCarryTheBridgesMtu).
    {"Mtu", "mtu", "1400", "mtu", "1500", "1400", [](const json& l) { EXPECT_EQ(l["mtu"], 1400); }},
    {"Mac", "macAddress", "02:00:00:00:00:2A", "macAddress", "02:00:00:00:00:01", "02:00:00:00:00:2a",
     [](const json& l) { EXPECT_EQ(l["address"], "02:00:00:00:00:2a"); }},
    {"StpEnabled", "stp", "{enabled: true, priority: 32768, forwardDelay: 15s, helloTime: 2s, maxAge: 20s}",
     "stp.enabled", "false", "true", [](const json& l) { EXPECT_EQ(brData(l)["stp_state"], 1); }},
    {"StpPriority", "stp", "{enabled: false, priority: 4096, forwardDelay: 15s, helloTime: 2s, maxAge: 20s}",
     "stp.priority", "32768", "4096", [](const json& l) { EXPECT_EQ(brData(l)["priority"], 4096); }},
    {"ForwardDelay", "stp", "{enabled: false, priority: 32768, forwardDelay: 10s, helloTime: 2s, maxAge: 20s}",
     "stp.forwardDelay", "15s", "10s", [](const json& l) { EXPECT_EQ(brData(l)["forward_delay"], 1000); }},
    {"HelloTime", "stp", "{enabled: false, priority: 32768, forwardDelay: 15s, helloTime: 5s, maxAge: 20s}",
     "stp.helloTime", "2s", "5s", [](const json& l) { EXPECT_EQ(brData(l)["hello_time"], 500); }},
    {"MaxAge", "stp", "{enabled: false, priority: 32768, forwardDelay: 15s, helloTime: 2s, maxAge: 30s}",
     "stp.maxAge", "20s", "30s", [](const json& l) { EXPECT_EQ(brData(l)["max_age"], 3000); }},
    {"PortAdded", "ports", "[p1a, p2a]", "ports", "[p1a]", "[p1a, p2a]",
     [](const json&) {
       EXPECT_EQ(masterOf("p1a"), "br0");
       EXPECT_EQ(masterOf("p2a"), "br0");
     }},
    {"PortReplaced", "ports", "[p2a]", "ports", "[p1a]", "[p2a]",
     [](const json&) {
       EXPECT_EQ(masterOf("p1a"), "");
       EXPECT_EQ(masterOf("p2a"), "br0");
     }},
    {"Ipv4Address", "addresses", "[10.0.0.2/24, fd00::1/64]", "addresses", "[10.0.0.1/24, fd00::1/64]",
     "[10.0.0.2/24, fd00::1/64]",
     [](const json&) {
       EXPECT_EQ(globalAddresses("br0"), (std::vector<std::string>{"10.0.0.2/24", "fd00::1/64"}));
     }},
    {"Ipv6Address", "addresses", "[10.0.0.1/24, fd00::2/64]", "addresses", "[10.0.0.1/24, fd00::1/64]",
     "[10.0.0.1/24, fd00::2/64]",
     [](const json&) {
       EXPECT_EQ(globalAddresses("br0"), (std::vector<std::string>{"10.0.0.1/24", "fd00::2/64"}));
     }},
};

INSTANTIATE_TEST_SUITE_P(Bridge, OneField, ::testing::ValuesIn(kFieldCases),
                         [](const ::testing::TestParamInfo<FieldCase>& param) { return param.param.name; });

// ---- ports and addresses ------------------------------------------------------------

TEST_F(Bridge, PortsSwapBetweenTwoBridgesInOneApply) {
  addVeth("p1");
  addVeth("p2");
  ASSERT_EQ(apply({bridgeDoc("br0", {{"ports", "[p1a]"}}), bridgeDoc("br1", {{"ports", "[p2a]"}})}).code, 0);
  ASSERT_EQ(masterOf("p1a"), "br0");
  const std::vector<std::string> swapped{bridgeDoc("br0", {{"ports", "[p2a]"}}), bridgeDoc("br1", {{"ports", "[p1a]"}})};
  Outcome r = apply(swapped, {"-j", "2"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(masterOf("p1a"), "br1");
  EXPECT_EQ(masterOf("p2a"), "br0");
  EXPECT_EQ(plan(swapped, {"--detailed-exitcode"}).code, 0);
}

TEST_F(Bridge, PortMovesToABridgeCreatedInTheSameApply) {
  addVeth("p1");
  ASSERT_EQ(apply({bridgeDoc("br0", {{"ports", "[p1a]"}})}).code, 0);
  const std::vector<std::string> moved{bridgeDoc("br0", {}), bridgeDoc("br1", {{"ports", "[p1a]"}})};
  Outcome r = apply(moved);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(masterOf("p1a"), "br1");
  EXPECT_EQ(plan(moved, {"--detailed-exitcode"}).code, 0);
}

TEST_F(Bridge, AddressesAreAddedAndRemovedForBothFamilies) {
  ASSERT_EQ(apply({bridgeDoc("br0", {})}).code, 0);
  EXPECT_EQ(globalAddresses("br0"), std::vector<std::string>{});
  const std::vector<std::string> four{
      bridgeDoc("br0", {{"addresses", "[192.168.7.1/24, 10.7.0.1/16, fd07::1/64, \"2001:db8::7/48\"]"}})};
  ASSERT_EQ(apply(four).code, 0);
  EXPECT_EQ(globalAddresses("br0"),
            (std::vector<std::string>{"10.7.0.1/16", "192.168.7.1/24", "2001:db8::7/48", "fd07::1/64"}));
  EXPECT_EQ(plan(four, {"--detailed-exitcode"}).code, 0);
  // A prefix change is a removal and an addition of the same address.
  const std::vector<std::string> two{bridgeDoc("br0", {{"addresses", "[10.7.0.1/24, \"2001:db8::7/64\"]"}})};
  Outcome r = apply(two);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(globalAddresses("br0"), (std::vector<std::string>{"10.7.0.1/24", "2001:db8::7/64"}));
  ASSERT_EQ(apply({bridgeDoc("br0", {{"addresses", "[]"}})}).code, 0);
  EXPECT_EQ(globalAddresses("br0"), std::vector<std::string>{});
}

TEST_F(Bridge, LinkLocalAddressesAreNotManaged) {
  ASSERT_EQ(apply({bridgeDoc("br0", {{"addresses", "[fd00::9/64]"}})}).code, 0);
  ip({"addr", "add", "fe80::1234/64", "dev", "br0"});
  EXPECT_EQ(plan({bridgeDoc("br0", {{"addresses", "[fd00::9/64]"}})}, {"--detailed-exitcode"}).code, 0);
}

TEST_F(Bridge, PortsAreUpAndCarryTheBridgesMtu) {
  // Two ports left down, one of them below the bridge's MTU: both are brought
  // up, the small one raised (never lowered), and the plan says so first.
  addVeth("p1");
  addVeth("p2");
  ip({"link", "set", "p1a", "down"});
  ip({"link", "set", "p2a", "down"});
  ip({"link", "set", "p2a", "mtu", "9100"});
  const std::vector<std::string> docs{bridgeDoc("br0", {{"mtu", "9000"}, {"ports", "[p1a, p2a]"}})};
  Outcome p = plan(docs);
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("ports (none) -> [p1a, p2a], addresses (none) -> [], ports[p1a].mtu 1500 -> 9000, "
                       "ports[p1a].state down -> up, "
                       "ports[p2a].state down -> up\n"),
            std::string::npos)
      << p.out;
  ASSERT_EQ(apply(docs).code, 0);
  for (const char* port : {"p1a", "p2a"}) {
    auto l = link(port);
    ASSERT_TRUE(l);
    EXPECT_TRUE(isUp(*l)) << port;
    EXPECT_EQ(masterOf(port), "br0");
  }
  EXPECT_EQ((*link("p1a"))["mtu"], 9000);
  EXPECT_EQ((*link("p2a"))["mtu"], 9100);
  EXPECT_EQ((*link("br0"))["mtu"], 9000);
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);

  // Taken down behind hostform's back: drift, brought up again in place.
  ip({"link", "set", "p1a", "down"});
  Outcome drift = plan(docs);
  EXPECT_EQ(drift.out, "~ Bridge/br0                    ports[p1a].state down -> up\n"
                       "Plan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(apply(docs).code, 0);
  EXPECT_TRUE(isUp(*link("p1a")));

  // A port that cannot take the bridge's MTU is refused at plan time, from
  // the largest MTU the kernel says it accepts (a tap's is 65521).
  ip({"tuntap", "add", "dev", "tn0", "mode", "tap"});
  Outcome big = plan({bridgeDoc("br0", {{"mtu", "65535"}, {"ports", "[p1a, p2a, tn0]"}})});
  EXPECT_EQ(big.code, 1);
  EXPECT_NE(big.err.find("error: spec.ports[2]: Interface tn0 accepts an MTU of at most 65521, below the bridge's "
                         "mtu 65535: frames larger than that would be dropped on it. Declare mtu 65521 or less, or "
                         "use another port."),
            std::string::npos)
      << big.err;
}

// ---- ownership and prune ------------------------------------------------------------------

TEST_F(Bridge, PruneDeletesOwnedBridgesButNeverUnownedOrOthers) {
  ASSERT_EQ(apply({bridgeDoc("br0", {}), bridgeDoc("br1", {})}).code, 0);
  ip({"link", "add", "handmade", "type", "bridge"});
  ip({"link", "add", "theirs", "type", "bridge"});
  ip({"link", "set", "theirs", "alias", "hostform:owner=someone-else"});

  const std::vector<std::string> onlyBr0{bridgeDoc("br0", {})};
  Outcome orphan = apply(onlyBr0);
  EXPECT_EQ(orphan.code, 0);
  EXPECT_EQ(orphan.out, "? Bridge/br1                    orphaned (not declared; --prune deletes it)\nPlan: 0 to create, 0 to change, 0 to delete, 1 orphaned.\n");
  EXPECT_TRUE(link("br1"));

  Outcome pruned = apply(onlyBr0, {"--prune"});
  ASSERT_EQ(pruned.code, 0) << pruned.out << pruned.err;
  EXPECT_TRUE(pruned.out.find("- Bridge/br1                    delete (prune)\n") != std::string::npos) << pruned.out;
  EXPECT_TRUE(pruned.out.find("Bridge/br1: deleted\n") != std::string::npos) << pruned.out;
  EXPECT_FALSE(link("br1"));
  EXPECT_TRUE(link("br0"));
  EXPECT_TRUE(link("handmade"));
  EXPECT_TRUE(link("theirs"));
  EXPECT_EQ(plan(onlyBr0, {"--prune", "--detailed-exitcode"}).code, 0);
}

TEST_F(Bridge, AnEmptyDesiredStateNeverPrunesUnlessAllowed) {
  ASSERT_EQ(apply({bridgeDoc("br0", {})}).code, 0);
  // A directory without manifests, and one whose only file holds no document:
  // far more often a wrong path than a wish to delete everything.
  const std::string none = dir_.path() + "/none", blank = dir_.path() + "/blank";
  std::filesystem::create_directories(none);
  std::filesystem::create_directories(blank);
  std::ofstream(blank + "/empty.yaml") << "# nothing yet\n---\n";
  for (const std::string& where : {none, blank})
    for (const char* command : {"apply", "plan"}) {
      Outcome r = hostform({command, "-f", where, "--prune", "--state-dir", state_, "--owner", owner_});
      EXPECT_EQ(r.code, 1) << command << " " << where;
      EXPECT_EQ(r.out, "");
      EXPECT_EQ(r.err, "error: no manifests found under " + where +
                           ": with --prune this would delete every object owned by " + owner_ +
                           "; pass --allow-empty if that is what you want\n");
    }
  EXPECT_TRUE(link("br0"));
  // Without --prune an empty state deletes nothing and says what it leaves.
  Outcome kept = hostform({"apply", "-f", none, "--state-dir", state_, "--owner", owner_});
  EXPECT_EQ(kept.code, 0) << kept.err;
  EXPECT_TRUE(link("br0"));
  // --allow-empty: the operator means it.
  Outcome pruned = hostform({"apply", "-f", blank, "--prune", "--allow-empty", "--state-dir", state_, "--owner", owner_});
  EXPECT_EQ(pruned.code, 0) << pruned.out << pruned.err;
  EXPECT_TRUE(pruned.out.find("- Bridge/br0                    delete (prune)\n") != std::string::npos) << pruned.out;
  EXPECT_FALSE(link("br0"));
}

TEST_F(Bridge, ExportWritesWhatItCanReadAndWarnsAboutTheRest) {
  ASSERT_EQ(apply({bridgeDoc("br0", {{"mtu", "1400"}})}).code, 0);
  const std::string uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock";
  Outcome r = hostform({"export", "--kind", "Bridge", "--kind", "VirtualMachine", "--libvirt-uri", uri});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string why = "kvm: cannot read the host's state (cannot connect to libvirt at " + uri;
  EXPECT_NE(r.err.find("warning: " + why), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("); not exported: VirtualMachine\n"), std::string::npos) << r.err;
  // The output says itself that it is partial, and holds what could be read.
  EXPECT_TRUE(r.out.starts_with("# partial export: " + why)) << r.out;
  EXPECT_NE(r.out.find("kind: Bridge\nmetadata:\n  name: br0\nspec:\n  mtu: 1400\n"), std::string::npos) << r.out;
  // Nothing readable at all is an error.
  Outcome none = hostform({"export", "--kind", "VirtualMachine", "--libvirt-uri", uri});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("error: nothing could be read; nothing was exported.\n"), std::string::npos) << none.err;
  EXPECT_EQ(none.out, "");
}

TEST_F(Bridge, DeclaringAnUnownedBridgeAdoptsItWithTheMark) {
  ip({"link", "add", "br0", "type", "bridge"});
  ip({"link", "set", "br0", "up"});
  const std::vector<std::string> docs{bridgeDoc("br0", {})};
  Outcome p = plan(docs);
  EXPECT_EQ(p.out, "~ Bridge/br0                    owner (none) -> " + owner_ +
                       "\nPlan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(apply(docs).code, 0);
  EXPECT_EQ((*link("br0"))["ifalias"], "hostform:owner=" + owner_);
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
}

// ---- drift ---------------------------------------------------------------------------

TEST_F(Bridge, DriftBehindHostformsBackIsPlannedAndCorrected) {
  addVeth("p1");
  addVeth("p2");
  const std::vector<std::string> docs{bridgeDoc("br0", kFull)};
  ASSERT_EQ(apply(docs).code, 0);
  ip({"link", "set", "br0", "mtu", "1400"});
  ip({"link", "set", "p2a", "master", "br0"});
  ip({"addr", "add", "10.0.0.99/24", "dev", "br0"});
  ip({"link", "set", "br0", "type", "bridge", "stp_state", "1"});

  Outcome p = plan(docs, {"--detailed-exitcode"});
  EXPECT_EQ(p.code, 2);
  EXPECT_EQ(p.out,
            "~ Bridge/br0                    mtu 1400 -> 1500, stp.enabled true -> false, ports [p1a, p2a] -> [p1a], "
            "addresses [10.0.0.1/24, 10.0.0.99/24, fd00::1/64] -> [10.0.0.1/24, fd00::1/64]\n"
            "Plan: 0 to create, 1 to change, 0 to delete.\n");
  Outcome r = apply(docs);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto l = link("br0");
  EXPECT_EQ((*l)["mtu"], 1500);
  EXPECT_EQ(brData(*l)["stp_state"], 0);
  EXPECT_EQ(masterOf("p2a"), "");
  EXPECT_EQ(globalAddresses("br0"), (std::vector<std::string>{"10.0.0.1/24", "fd00::1/64"}));
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
}

TEST_F(Bridge, LibvirtTapsOnTheBridgeAreNeverDriftButOtherTapsAre) {
  addVeth("p1");
  const std::vector<std::string> docs{bridgeDoc("br0", {{"ports", "[p1a]"}})};
  ASSERT_EQ(apply(docs).code, 0);
  ip({"tuntap", "add", "dev", "vnet0", "mode", "tap"});
  ip({"tuntap", "add", "dev", "guest7", "mode", "tap"});
  ip({"link", "set", "guest7", "address", "fe:54:00:12:34:56"});
  ip({"tuntap", "add", "dev", "tap9", "mode", "tap"});
  ip({"link", "set", "tap9", "address", "52:54:00:00:00:09"});
  for (const char* tap : {"vnet0", "guest7", "tap9"}) ip({"link", "set", tap, "master", "br0"});

  Outcome p = plan(docs);
  EXPECT_EQ(p.out, "~ Bridge/br0                    ports [p1a, tap9] -> [p1a]\n"
                   "Plan: 0 to create, 1 to change, 0 to delete.\n");
  ASSERT_EQ(apply(docs).code, 0);
  EXPECT_EQ(masterOf("vnet0"), "br0");
  EXPECT_EQ(masterOf("guest7"), "br0");
  EXPECT_EQ(masterOf("tap9"), "");
  EXPECT_EQ(plan(docs, {"--detailed-exitcode"}).code, 0);
}

// ---- export ------------------------------------------------------------------------------

TEST_F(Bridge, ExportThenApplyRebuildsTheSameBridges) {
  addVeth("p1");
  addVeth("p2");
  ip({"link", "add", "lan", "mtu", "9000", "address", "02:00:00:00:10:01", "type", "bridge", "stp_state", "1",
      "priority", "8192", "forward_delay", "500", "hello_time", "300", "max_age", "1500"});
  ip({"link", "set", "p1a", "master", "lan"});
  ip({"link", "set", "p2a", "master", "lan"});
  ip({"link", "set", "lan", "mtu", "9000"});
  ip({"link", "set", "lan", "up"});
  ip({"addr", "add", "198.51.100.1/24", "dev", "lan"});
  ip({"addr", "add", "2001:db8:1::1/64", "dev", "lan"});
  ip({"link", "add", "dmz", "type", "bridge"});

  Outcome exported = hostform({"export", "--kind", "Bridge"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  auto before = link("lan");
  ASSERT_TRUE(before);
  const std::string dmzMac = (*link("dmz"))["address"];
  ip({"link", "del", "lan"});
  ip({"link", "del", "dmz"});

  const std::string file = dir_.write("export.yaml", exported.out);
  Outcome r = hostform({"apply", "-f", file, "--state-dir", state_, "--owner", owner_});
  ASSERT_EQ(r.code, 0) << exported.out << r.out << r.err;
  auto after = link("lan");
  ASSERT_TRUE(after);
  for (const char* key : {"mtu", "address"}) EXPECT_EQ((*after)[key], (*before)[key]) << key;
  EXPECT_EQ(isUp(*after), isUp(*before));
  for (const char* key : {"stp_state", "priority", "forward_delay", "hello_time", "max_age"})
    EXPECT_EQ(brData(*after)[key], brData(*before)[key]) << key;
  EXPECT_EQ(masterOf("p1a"), "lan");
  EXPECT_EQ(masterOf("p2a"), "lan");
  EXPECT_EQ(globalAddresses("lan"), (std::vector<std::string>{"198.51.100.1/24", "2001:db8:1::1/64"}));
  EXPECT_EQ((*link("dmz"))["address"], dmzMac);
  EXPECT_EQ(hostform({"plan", "-f", file, "--detailed-exitcode", "--owner", owner_}).code, 0);
}

}  // namespace
}  // namespace hostform::nltest
