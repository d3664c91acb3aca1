#pragma once
/// The host's neighbour table (ARP for IPv4, NDP for IPv6), read through
/// rtnetlink: which IP addresses answered from which MAC addresses. A small
/// library of its own (hostform_netlink_neighbours), not part of the netlink
/// provider: the kvm provider links it to find a guest's addresses from its
/// NICs' MACs when no guest agent answers (`hostform status`).

#include <cstdint>
#include <string>
#include <vector>

#include "reconciler/result.h"

namespace hostform::netlink {

/// One entry of the table.
struct Neighbour {
  std::string ip;       ///< canonical (inet_ntop), without a prefix length
  std::string mac;      ///< lower case, colon-separated; empty when the kernel has none yet
  int family = 0;       ///< AF_INET or AF_INET6
  int ifindex = 0;      ///< the link the neighbour was seen on
  std::uint16_t state = 0;  ///< NUD_* bits
};

/// Every entry of the current network namespace's table (one RTM_GETNEIGH
/// dump), IPv4 and IPv6.
Result<std::vector<Neighbour>> readNeighbours();

/// The entries of `table` whose MAC is one of `macs` (any case) and that
/// name a usable address: the kernel has resolved it (not INCOMPLETE or
/// FAILED) and it is not an IPv6 link-local address (fe80::/10, useless
/// without its link). Ordered by the position of their MAC in `macs`, then
/// IPv4 before IPv6, then by address; each address once.
std::vector<Neighbour> neighboursOf(const std::vector<Neighbour>& table, const std::vector<std::string>& macs);

}  // namespace hostform::netlink
