#pragma once
/// The provider's session with the kernel: a route netlink socket, RAII
/// ownership of libnl handles, and the two ways this provider talks to the
/// kernel: a request answered by an acknowledgement, and a dump.
///
/// Every handle is a unique_ptr with its libnl free function, wrapped on the
/// line after the call that returns it, so no error path leaks one.

#include <functional>
#include <memory>
#include <string>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include "reconciler/handle.h"
#include "reconciler/result.h"

namespace hostform::netlink {

using SocketPtr = Handle<nl_sock, nl_socket_free>;
using MessagePtr = Handle<nl_msg, nlmsg_free>;
using CachePtr = Handle<nl_cache, nl_cache_free>;
using AddrPtr = Handle<rtnl_addr, rtnl_addr_put>;
using NlAddrPtr = Handle<nl_addr, nl_addr_put>;

/// A socket connected to NETLINK_ROUTE. One per observe() or apply(): libnl
/// sockets are not thread-safe and are cheap to open.
Result<SocketPtr> connectRoute();

/// libnl's sentence for a libnl error code (negative NLE_* value).
std::string errorText(int nlError);

/// Sends `msg` with NLM_F_ACK and waits for the kernel's answer. On failure
/// the error is "<what>: <kernel's reason>." (e.g. "cannot create bridge br0:
/// Object exists.").
Result<void> request(nl_sock* sock, nl_msg* msg, const std::string& what);

/// Sends `msg` as it is (a dump when built with NLM_F_DUMP) and calls
/// `onMessage` for each answer until the kernel is done. Returns 0 or a
/// negative libnl error code (NLE_OBJ_NOTFOUND when the kernel says ENODEV).
int exchange(nl_sock* sock, nl_msg* msg, const std::function<void(nlmsghdr*)>& onMessage);

/// exchange() with the error as a sentence: "<what>: <reason>.".
Result<void> dump(nl_sock* sock, nl_msg* msg, const std::function<void(nlmsghdr*)>& onMessage,
                  const std::string& what);

}  // namespace hostform::netlink
