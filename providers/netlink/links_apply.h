#pragma once
/// Writes one Bond, VlanInterface or VxlanInterface action to the kernel over
/// rtnetlink, as its plan decided it (links.h). Each function takes the
/// caller's socket; nothing here keeps state between calls.

#include <string>

#include "providers/netlink/apply.h"  // Mark
#include "providers/netlink/links.h"

struct nl_sock;

namespace hostform::netlink {

/// Creates the bond with its mode, miimon, lacp rate and hash policy, down,
/// in one RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL); then marks it (ifalias, a
/// second request: the kernel ignores IFLA_IFALIAS at creation), sets MTU and
/// MAC, enslaves the members (each taken down first: the kernel enslaves only
/// a member that is down, and brings it up itself) and brings it to its
/// declared state.
Result<void> createBond(nl_sock* sock, const Resource& desired, const BondDelta& delta, const std::string& owner);
/// Carries out `delta` on the live bond: a mode or lacp rate change with the
/// bond down (and, for the mode, without members), releases, enslavements,
/// then the attributes and the declared state.
Result<void> updateBond(nl_sock* sock, const Resource& desired, const BondDelta& delta, Mark mark,
                        const std::string& owner);
/// Releases the bond's members, then deletes it. Already gone is success.
Result<void> deleteBond(nl_sock* sock, const std::string& name);

/// Creates the VLAN or VXLAN interface from its spec in one RTM_NEWLINK, marks
/// it, sets its MTU, puts it back on the bridge a replace took it from
/// (delta.reattachTo), then brings it to its declared state.
Result<void> createTunnel(nl_sock* sock, const Resource& desired, const TunnelDelta& delta, const std::string& owner);
/// State, MTU and (VXLAN) learning, with the owner mark when adopting.
Result<void> updateTunnel(nl_sock* sock, const Resource& desired, const TunnelDelta& delta, Mark mark,
                          const std::string& owner);
/// Deletes any link by name (`what`: "VLAN interface"). Already gone is success.
Result<void> deleteLink(nl_sock* sock, const std::string& name, const std::string& what);

}  // namespace hostform::netlink
