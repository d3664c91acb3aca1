// The matching of the neighbour table against a VM's MACs (neighbours.h),
// on tables built in memory: which entries are a guest's addresses, in
// which order, each once.

#include <linux/neighbour.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "providers/netlink/neighbours.h"

namespace hostform::netlink {
namespace {

Neighbour entry(const std::string& ip, const std::string& mac, std::uint16_t state = NUD_REACHABLE, int ifindex = 3) {
  return {ip, mac, ip.find(':') == std::string::npos ? AF_INET : AF_INET6, ifindex, state};
}

std::vector<std::string> ips(const std::vector<Neighbour>& found) {
  std::vector<std::string> out;
  for (const auto& n : found) out.push_back(n.ip + " " + n.mac);
  return out;
}

TEST(Neighbours, KeepsResolvedEntriesOfTheGivenMacsInMacOrderIpv4First) {
  const std::vector<Neighbour> table{
      entry("fd00::5", "52:54:00:00:00:01"),
      entry("10.0.0.5", "52:54:00:00:00:01", NUD_STALE),
      entry("10.0.0.9", "52:54:00:00:00:02", NUD_DELAY),
      entry("10.0.0.7", "02:00:00:00:00:99"),  // another machine
      entry("10.0.0.6", "52:54:00:00:00:01", NUD_PERMANENT),
  };
  EXPECT_EQ(ips(neighboursOf(table, {"52:54:00:00:00:02", "52:54:00:00:00:01"})),
            (std::vector<std::string>{"10.0.0.9 52:54:00:00:00:02", "10.0.0.5 52:54:00:00:00:01",
                                      "10.0.0.6 52:54:00:00:00:01", "fd00::5 52:54:00:00:00:01"}));
}

TEST(Neighbours, LeavesOutUnresolvedFailedAndLinkLocalEntries) {
  const std::vector<Neighbour> table{
      entry("10.0.0.5", "52:54:00:00:00:01", NUD_INCOMPLETE),
      entry("10.0.0.6", "52:54:00:00:00:01", NUD_FAILED),
      entry("fe80::5054:ff:fe00:1", "52:54:00:00:00:01"),
      entry("10.0.0.8", "", NUD_NONE),
      entry("203.0.113.4", "52:54:00:00:00:01", NUD_REACHABLE),
  };
  EXPECT_EQ(ips(neighboursOf(table, {"52:54:00:00:00:01"})),
            (std::vector<std::string>{"203.0.113.4 52:54:00:00:00:01"}));
}

TEST(Neighbours, MatchesMacsInAnyCaseAndReportsEachAddressOnce) {
  const std::vector<Neighbour> table{
      entry("10.0.0.5", "52:54:00:AA:BB:CC", NUD_REACHABLE, 3),
      entry("10.0.0.5", "52:54:00:aa:bb:cc", NUD_STALE, 4),  // the same guest seen on a second link
  };
  EXPECT_EQ(ips(neighboursOf(table, {"52:54:00:Aa:bB:cc"})), (std::vector<std::string>{"10.0.0.5 52:54:00:aa:bb:cc"}));
  EXPECT_TRUE(neighboursOf(table, {}).empty());
}

}  // namespace
}  // namespace hostform::netlink
