#pragma once
/// RTM_NEWLINK requests and the attributes every link kind sets, shared by
/// the bridge's apply (apply.cpp) and the other links' (links_apply.cpp).

#include <string>

#include "providers/netlink/session.h"
#include "reconciler/kinds/bridge.h"

namespace hostform::netlink {

inline constexpr const char* kOutOfMemory = "cannot build a netlink request: out of memory.";

/// RTM_NEWLINK for the link `index`, or, when 0, the link named `name`; null
/// when out of memory.
MessagePtr linkMessage(int flags, int index, const std::string& name);

/// Sets IFF_UP, or clears it, and nothing else of the link's flags.
void setAdminState(nl_msg* msg, AdminState state);

/// IFLA_ADDRESS from a MAC in text; false when it is not one or out of memory.
bool putMac(nl_msg* msg, const std::string& mac);

/// IFLA_IFALIAS with the ownership mark of `owner`.
bool putAlias(nl_msg* msg, const std::string& owner);

}  // namespace hostform::netlink
