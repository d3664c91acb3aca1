// Which rtnetlink notifications wake the watcher (providers/netlink/events.h):
// messages built in memory, as the kernel sends them.

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "providers/netlink/events.h"

namespace hostform::netlink {
namespace {

/// A notification of `type` whose body is `body`.
template <class Body>
std::vector<char> message(int type, const Body& body) {
  std::vector<char> buf(NLMSG_SPACE(sizeof(Body)));
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  h->nlmsg_len = NLMSG_LENGTH(sizeof(Body));
  h->nlmsg_type = static_cast<__u16>(type);
  std::memcpy(NLMSG_DATA(h), &body, sizeof(Body));
  return buf;
}

bool relevant(const std::vector<char>& m) { return relevantRouteMessage(reinterpret_cast<const nlmsghdr*>(m.data())); }

ndmsg neighbour(int family, int state, int flags = 0) {
  ndmsg n{};
  n.ndm_family = static_cast<__u8>(family);
  n.ndm_state = static_cast<__u16>(state);
  n.ndm_flags = static_cast<__u8>(flags);
  return n;
}

ifaddrmsg address(int scope) {
  ifaddrmsg a{};
  a.ifa_family = AF_INET6;
  a.ifa_scope = static_cast<__u8>(scope);
  return a;
}

TEST(NetlinkEvents, EveryLinkChangeMatters) {
  EXPECT_TRUE(relevant(message(RTM_NEWLINK, ifinfomsg{})));
  EXPECT_TRUE(relevant(message(RTM_DELLINK, ifinfomsg{})));
}

TEST(NetlinkEvents, AddressesMatterButNotTheKernelsLinkLocalOnes) {
  EXPECT_TRUE(relevant(message(RTM_NEWADDR, address(RT_SCOPE_UNIVERSE))));
  EXPECT_TRUE(relevant(message(RTM_DELADDR, address(RT_SCOPE_UNIVERSE))));
  EXPECT_FALSE(relevant(message(RTM_NEWADDR, address(RT_SCOPE_LINK))));  // fe80::/10, after every link up
  EXPECT_FALSE(relevant(message(RTM_NEWADDR, address(RT_SCOPE_HOST))));
}

TEST(NetlinkEvents, OfTheNeighboursOnlyStaticFdbEntriesMatter) {
  EXPECT_TRUE(relevant(message(RTM_NEWNEIGH, neighbour(AF_BRIDGE, NUD_NOARP, NTF_MASTER))));
  EXPECT_TRUE(relevant(message(RTM_DELNEIGH, neighbour(AF_BRIDGE, NUD_NOARP, NTF_MASTER))));
  // Learnt and local FDB entries, the bridge's own entries, ARP and NDP: traffic, not configuration.
  EXPECT_FALSE(relevant(message(RTM_NEWNEIGH, neighbour(AF_BRIDGE, NUD_REACHABLE, NTF_MASTER))));
  EXPECT_FALSE(relevant(message(RTM_DELNEIGH, neighbour(AF_BRIDGE, NUD_STALE, NTF_MASTER))));
  EXPECT_FALSE(relevant(message(RTM_NEWNEIGH, neighbour(AF_BRIDGE, NUD_PERMANENT, NTF_MASTER))));
  EXPECT_FALSE(relevant(message(RTM_NEWNEIGH, neighbour(AF_BRIDGE, NUD_NOARP, NTF_SELF))));
  EXPECT_FALSE(relevant(message(RTM_NEWNEIGH, neighbour(AF_INET, NUD_REACHABLE))));
  EXPECT_FALSE(relevant(message(RTM_NEWNEIGH, neighbour(AF_INET6, NUD_NOARP))));
}

TEST(NetlinkEvents, OtherMessagesAndTruncatedOnesDoNot) {
  EXPECT_FALSE(relevant(message(RTM_NEWROUTE, rtmsg{})));
  std::vector<char> truncated = message(RTM_NEWNEIGH, neighbour(AF_BRIDGE, NUD_NOARP));
  reinterpret_cast<nlmsghdr*>(truncated.data())->nlmsg_len = NLMSG_LENGTH(0);
  EXPECT_FALSE(relevant(truncated));
}

}  // namespace
}  // namespace hostform::netlink
