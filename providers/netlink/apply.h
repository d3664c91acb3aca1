#pragma once
/// Writes one Bridge action to the kernel over rtnetlink, as its plan decided
/// it (BridgeDelta). Each function takes the caller's socket; nothing here
/// keeps state between calls.

#include <optional>
#include <string>

#include "providers/netlink/plan.h"
#include "reconciler/plan.h"
#include "reconciler/result.h"

struct nl_sock;

namespace hostform::netlink {

/// Creates the bridge with its admin state and STP settings in one
/// RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL), then at once marks it
/// (`hostform:owner=<owner>` in ifalias) in a second request, the kernel
/// ignoring IFLA_IFALIAS when it creates a link. MTU and MAC follow in a third:
/// an MTU given at creation is not "set by the user", so the bridge would
/// follow its ports' MTU. Then the members part of `delta`, as for an update.
Result<void> createBridge(nl_sock* sock, const Resource& desired, const BridgeDelta& delta, const std::string& owner);

/// Whether an update writes the ownership mark: only when it adopts an
/// unowned bridge (Action::adopt).
enum class Mark { Keep, Write };

/// Carries out `delta` on the live bridge `name`, in this order: the link
/// attributes it names (state, MTU, MAC, STP) and the owner mark in one
/// request, port fixes (MTU raised, brought up), ports (releases, then
/// enslavements, then the MTU pinned again), addresses (removals, then
/// additions, so a prefix change of one address works). A port is released
/// only while it is still a port of this bridge: another bridge of the same
/// apply may already have taken it. After the ports: their options
/// (RTM_SETLINK AF_BRIDGE, IFLA_PROTINFO), their VLANs (IFLA_AF_SPEC, read
/// again first), static FDB removals and additions (RTM_DELNEIGH,
/// RTM_NEWNEIGH with NLM_F_REPLACE). vlanFiltering is set with the link
/// attributes, before any VLAN.
Result<void> updateBridge(nl_sock* sock, const std::string& name, const BridgeDelta& delta, Mark mark,
                          const std::string& owner);

/// Whether the kernel can make a bridge that filters VLANs: a bridge with
/// vlan_filtering 1 is created in a network namespace made for the purpose
/// (unshare(CLONE_NEWNET) in a thread of its own) and vanishes with it, so
/// nothing of the host changes. nullopt when it cannot tell (no
/// CAP_SYS_ADMIN, or another error than EOPNOTSUPP).
std::optional<bool> probeVlanFiltering();

/// Deletes the bridge (the kernel releases its ports). Already gone is success.
Result<void> deleteBridge(nl_sock* sock, const std::string& name);

}  // namespace hostform::netlink
