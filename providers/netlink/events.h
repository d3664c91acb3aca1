#pragma once
/// The netlink provider's event source for `watch` (docs/watch.md Events): a
/// route netlink socket subscribed to the link, IPv4/IPv6 address and
/// neighbour multicast groups. Of the neighbour messages only the static FDB
/// entries matter (AF_BRIDGE, NUD_NOARP, not NTF_SELF: what a bridge's `fdb`
/// declares); ARP/NDP and learnt FDB entries come and go with traffic and are
/// noise.

#include <linux/netlink.h>

#include <memory>

#include "reconciler/provider.h"

namespace hostform::netlink {

/// Whether one rtnetlink notification is about something this provider
/// observes: any link, an address that is not link-scope (the kernel's own
/// link-local addresses), a static FDB entry. Exposed for the fast tests.
bool relevantRouteMessage(const nlmsghdr* message);

/// Opens the subscribed socket (non-blocking).
Result<std::unique_ptr<EventSource>> openRouteEvents();

}  // namespace hostform::netlink
