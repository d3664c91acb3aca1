// `hostform status` of bridges against the kernel of the test's private
// network namespace: the operational state and carrier the kernel reports,
// and each port with its carrier.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "providers/netlink/neighbours.h"
#include "tests/integration/netlink/fixture.h"

namespace hostform::nltest {
namespace {

using nlohmann::json;

class Status : public NetnsTest {
 protected:
  Outcome status(const std::vector<std::string>& docs, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"status", "-f", manifest(docs, "status.yaml"), "--state-dir", state_, "--owner",
                                  owner_};
    args.insert(args.end(), extra.begin(), extra.end());
    return hostform(args);
  }
};

TEST_F(Status, BridgeWithPortsShowsOperStateCarrierAndEachPortsCarrier) {
  addVeth("p1");
  addVeth("p2");
  ip({"link", "set", "p2b", "down"});  // p2a's peer is down: p2a has no carrier
  const std::string br0 = bridgeDoc("br0", {{"state", "up"}, {"ports", "[p1a, p2a]"}});
  const std::string br1 = bridgeDoc("br1", {{"state", "up"}});
  Outcome a = apply({br0});
  ASSERT_EQ(a.code, 0) << a.out << a.err;

  // The kernel turns a bridge's carrier on once a port forwards (no STP: at
  // once); linkwatch publishes the operational state within about a second.
  const json expected = json::parse(R"({"resources": [
    {"kind": "Bridge", "name": "br0", "present": true,
     "facts": {"state": "up", "carrier": true,
               "ports": [{"name": "p1a", "carrier": true}, {"name": "p2a", "carrier": false}]}},
    {"kind": "Bridge", "name": "br1", "present": false, "facts": {"state": "absent"}}]})");
  Outcome r;
  json got;
  for (int i = 0; i < 50; ++i) {
    r = status({br0, br1}, {"-o", "json"});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    got = json::parse(r.out);
    if (got == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(got, expected) << r.out;
  EXPECT_EQ(r.err, "");

  Outcome text = status({br0, br1});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out,
            "Bridge/br0\n"
            "  state    up\n"
            "  carrier  yes\n"
            "  ports    p1a (carrier), p2a (no carrier)\n"
            "Bridge/br1\n"
            "  state  absent\n");

  // The port's peer comes up: its carrier follows.
  ip({"link", "set", "p2b", "up"});
  for (int i = 0; i < 50; ++i) {
    got = json::parse(status({br0}, {"-o", "json"}).out);
    if (got["resources"][0]["facts"]["ports"][1]["carrier"] == true) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(got["resources"][0]["facts"]["ports"][1], json::parse(R"({"name": "p2a", "carrier": true})"));
}

TEST_F(Status, BridgeWithoutPortsHasNoCarrier) {
  const std::string br0 = bridgeDoc("br0", {{"state", "up"}});
  ASSERT_EQ(apply({br0}).code, 0);
  Outcome r = status({br0});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Bridge/br0\n"
            "  state    down\n"
            "  carrier  no\n"
            "  ports    none\n");
}

TEST_F(Status, BadManifestIsRefusedWithItsPosition) {
  Outcome r = status({bridgeDoc("br0", {{"mtu", "huge"}})});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, dir_.path() + "/status.yaml:5:8: error: spec.mtu: expected an integer, found a string \"huge\"\n1 error(s).\n");
}

TEST_F(Status, NeighbourTableIsReadThroughNetlink) {
  // What the kvm provider's status uses for a guest's addresses without an agent.
  addVeth("p1");
  ip({"addr", "add", "10.0.0.1/24", "dev", "p1a"});
  ip({"neigh", "add", "10.0.0.5", "lladdr", "52:54:00:12:34:56", "dev", "p1a", "nud", "reachable"});
  ip({"neigh", "add", "10.0.0.6", "lladdr", "52:54:00:65:43:21", "dev", "p1a", "nud", "permanent"});
  ip({"neigh", "add", "fd00::5", "lladdr", "52:54:00:12:34:56", "dev", "p1a", "nud", "stale"});
  auto table = netlink::readNeighbours();
  ASSERT_TRUE(table) << table.error().message;
  std::vector<std::string> found;
  for (const auto& n : netlink::neighboursOf(*table, {"52:54:00:12:34:56"})) found.push_back(n.ip + " " + n.mac);
  EXPECT_EQ(found, (std::vector<std::string>{"10.0.0.5 52:54:00:12:34:56", "fd00::5 52:54:00:12:34:56"}));
}

}  // namespace
}  // namespace hostform::nltest
