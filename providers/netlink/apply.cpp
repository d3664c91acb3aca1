#include "providers/netlink/apply.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>

#include "providers/netlink/host_state.h"
#include "providers/netlink/normalize.h"
#include "providers/netlink/plan.h"
#include "providers/netlink/session.h"

namespace hostform::netlink {

namespace {

constexpr const char* kOutOfMemory = "cannot build a netlink request: out of memory.";

/// RTM_NEWLINK for the link `index`, or, when 0, the link named `name`.
MessagePtr linkMessage(int flags, int index, const std::string& name) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_NEWLINK, flags));
  if (!msg) return msg;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) return nullptr;
  if (index == 0 && nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0) return nullptr;
  return msg;
}

void setAdminState(nl_msg* msg, AdminState state) {
  auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(nlmsg_hdr(msg)));
  // ifi_change must name IFF_UP: zero would mean "every flag" to the kernel.
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = state == AdminState::Up ? IFF_UP : 0;
}

/// Every STP attribute of `stp`: what a create sends.
StpDelta allOf(const StpSpec& stp) {
  return {stp.enabled, stp.priority, stp.forwardDelay, stp.helloTime, stp.maxAge};
}

/// IFLA_LINKINFO { kind "bridge", IFLA_INFO_DATA { IFLA_BR_* } } with the
/// attributes `stp` sets, timers in centiseconds. Timers come before STP
/// state, as the kernel applies them in attribute-type order anyway.
bool putBridgeData(nl_msg* msg, const StpDelta& stp) {
  nlattr* info = nla_nest_start(msg, IFLA_LINKINFO);
  if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0) return false;
  nlattr* data = nla_nest_start(msg, IFLA_INFO_DATA);
  if (!data) return false;
  if ((stp.forwardDelay && nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, toCentis(*stp.forwardDelay)) < 0) ||
      (stp.helloTime && nla_put_u32(msg, IFLA_BR_HELLO_TIME, toCentis(*stp.helloTime)) < 0) ||
      (stp.maxAge && nla_put_u32(msg, IFLA_BR_MAX_AGE, toCentis(*stp.maxAge)) < 0) ||
      (stp.enabled && nla_put_u32(msg, IFLA_BR_STP_STATE, *stp.enabled ? 1 : 0) < 0) ||
      (stp.priority && nla_put_u16(msg, IFLA_BR_PRIORITY, static_cast<std::uint16_t>(*stp.priority)) < 0))
    return false;
  nla_nest_end(msg, data);
  nla_nest_end(msg, info);
  return true;
}

bool putMac(nl_msg* msg, const std::string& mac) {
  auto bytes = parseMac(mac);
  return bytes && nla_put(msg, IFLA_ADDRESS, static_cast<int>(bytes->size()), bytes->data()) >= 0;
}

bool putAlias(nl_msg* msg, const std::string& owner) {
  return nla_put_string(msg, IFLA_IFALIAS, ownerMark(owner).c_str()) >= 0;
}

Result<int> bridgeIndex(nl_sock* sock, const std::string& name) {
  auto link = readLink(sock, name);
  if (!link) return hostform::unexpected(link.error());
  if (!*link) return fail("bridge " + name + " is not on the host any more.");
  if (!(*link)->isBridge()) return fail("interface " + name + " is not a bridge.");
  return (*link)->index;
}

Result<void> setMaster(nl_sock* sock, const std::string& port, int master, const std::string& bridge) {
  MessagePtr msg = linkMessage(0, 0, port);
  if (!msg || nla_put_u32(msg.get(), IFLA_MASTER, static_cast<std::uint32_t>(master)) < 0) return fail(kOutOfMemory);
  return request(sock, msg.get(),
                 master ? "cannot add port " + port + " to bridge " + bridge
                        : "cannot release port " + port + " from bridge " + bridge);
}

Result<void> setMtu(nl_sock* sock, int index, std::uint32_t mtu, const std::string& bridge) {
  MessagePtr msg = linkMessage(0, index, {});
  if (!msg || nla_put_u32(msg.get(), IFLA_MTU, mtu) < 0) return fail(kOutOfMemory);
  return request(sock, msg.get(), "cannot set the MTU of bridge " + bridge + " to " + std::to_string(mtu));
}

enum class AddrOp { Add, Remove };

Result<void> changeAddress(nl_sock* sock, int index, const std::string& cidrText, AddrOp op,
                           const std::string& bridge) {
  const std::string what = op == AddrOp::Add ? "cannot add address " + cidrText + " to bridge " + bridge
                                             : "cannot remove address " + cidrText + " from bridge " + bridge;
  auto cidr = parseCidr(cidrText);
  if (!cidr) return fail(what + ": it is not an address with a prefix length.");
  AddrPtr addr(rtnl_addr_alloc());
  if (!addr) return fail(kOutOfMemory);
  nl_addr* raw = nullptr;
  int err = nl_addr_parse(cidr->str().c_str(), cidr->family, &raw);
  NlAddrPtr local(raw);
  if (err < 0) return fail(what + ": " + errorText(err) + ".");
  rtnl_addr_set_ifindex(addr.get(), index);
  if ((err = rtnl_addr_set_local(addr.get(), local.get())) < 0) return fail(what + ": " + errorText(err) + ".");
  rtnl_addr_set_prefixlen(addr.get(), cidr->prefix);
  rtnl_addr_set_scope(addr.get(), RT_SCOPE_UNIVERSE);
  err = op == AddrOp::Add ? rtnl_addr_add(sock, addr.get(), 0) : rtnl_addr_delete(sock, addr.get(), 0);
  // Already as wanted (a retry after a crash, or a change made meanwhile) is success.
  if (op == AddrOp::Add && err == -NLE_EXIST) return {};
  if (op == AddrOp::Remove && (err == -NLE_NOADDR || err == -NLE_OBJ_NOTFOUND)) return {};
  if (err < 0) return fail(what + ": " + errorText(err) + ".");
  return {};
}

/// The port fixes the plan showed (plan.cpp portChanges): each port's MTU
/// raised to the bridge's, then the port brought up. Each port is read now,
/// so a retry or a change made meanwhile is no error.
Result<void> fixPorts(nl_sock* sock, const std::string& bridge, const std::vector<PortFix>& fixes) {
  for (const PortFix& fix : fixes) {
    auto link = readLink(sock, fix.name);
    if (!link) return hostform::unexpected(link.error());
    if (!*link) continue;  // gone since the plan: enslaving it reports that
    if (fix.raiseMtuTo && (*link)->mtu < *fix.raiseMtuTo) {
      MessagePtr msg = linkMessage(0, (*link)->index, {});
      if (!msg || nla_put_u32(msg.get(), IFLA_MTU, *fix.raiseMtuTo) < 0) return fail(kOutOfMemory);
      if (auto r = request(sock, msg.get(),
                           "cannot raise the MTU of port " + fix.name + " to bridge " + bridge + "'s " +
                               std::to_string(*fix.raiseMtuTo));
          !r)
        return r;
    }
    if (fix.bringUp && !(*link)->up) {
      MessagePtr msg = linkMessage(0, (*link)->index, {});
      if (!msg) return fail(kOutOfMemory);
      setAdminState(msg.get(), AdminState::Up);
      if (auto r = request(sock, msg.get(), "cannot bring up port " + fix.name + " of bridge " + bridge); !r)
        return r;
    }
  }
  return {};
}

/// The members part of `delta`, in its order: port fixes, releases,
/// enslavements, the MTU pinned again, address removals, then additions.
Result<void> changeMembers(nl_sock* sock, int index, const std::string& bridge, const BridgeDelta& delta) {
  if (auto r = fixPorts(sock, bridge, delta.portFixes); !r) return r;
  for (const std::string& port : delta.release) {
    // IFLA_MASTER 0 detaches from whatever the master is now: check it is still us.
    auto now = readLink(sock, port);
    if (!now) return hostform::unexpected(now.error());
    if (!*now || (*now)->master != index) continue;
    if (auto r = setMaster(sock, port, 0, bridge); !r) return r;
  }
  for (const std::string& port : delta.enslave)
    if (auto r = setMaster(sock, port, index, bridge); !r) return r;
  if (delta.mtuAfterPorts)
    if (auto r = setMtu(sock, index, *delta.mtuAfterPorts, bridge); !r) return r;
  for (const std::string& a : delta.removeAddresses)
    if (auto r = changeAddress(sock, index, a, AddrOp::Remove, bridge); !r) return r;
  for (const std::string& a : delta.addAddresses)
    if (auto r = changeAddress(sock, index, a, AddrOp::Add, bridge); !r) return r;
  return {};
}

}  // namespace

Result<void> createBridge(nl_sock* sock, const Resource& desired, const BridgeDelta& delta, const std::string& owner) {
  const std::string& name = desired.id.name;
  const auto& spec = desired.as<BridgeSpec>();

  MessagePtr create = linkMessage(NLM_F_CREATE | NLM_F_EXCL, 0, name);
  if (!create || !putBridgeData(create.get(), allOf(spec.stp))) return fail(kOutOfMemory);
  setAdminState(create.get(), spec.state);
  if (auto r = request(sock, create.get(), "cannot create bridge " + name); !r) return r;

  auto index = bridgeIndex(sock, name);
  if (!index) return hostform::unexpected(index.error());
  // The mark first and on its own, so a bad MTU or MAC cannot leave an unowned bridge.
  MessagePtr mark = linkMessage(0, *index, {});
  if (!mark || !putAlias(mark.get(), owner)) return fail(kOutOfMemory);
  if (auto r = request(sock, mark.get(), "bridge " + name + " was created, but writing its owner mark failed"); !r)
    return r;
  if (spec.mtu || spec.macAddress) {
    MessagePtr link = linkMessage(0, *index, {});
    if (!link || (spec.mtu && nla_put_u32(link.get(), IFLA_MTU, *spec.mtu) < 0) ||
        (spec.macAddress && !putMac(link.get(), *spec.macAddress)))
      return fail(kOutOfMemory);
    if (auto r = request(sock, link.get(), "cannot set the MTU and MAC address of bridge " + name); !r) return r;
  }
  return changeMembers(sock, *index, name, delta);
}

Result<void> updateBridge(nl_sock* sock, const std::string& name, const BridgeDelta& delta, Mark mark,
                          const std::string& owner) {
  auto index = bridgeIndex(sock, name);
  if (!index) return hostform::unexpected(index.error());

  const bool alias = mark == Mark::Write;
  if (delta.state || delta.mtu || delta.macAddress || alias || delta.stp.any()) {
    MessagePtr msg = linkMessage(0, *index, {});
    if (!msg || (delta.mtu && nla_put_u32(msg.get(), IFLA_MTU, *delta.mtu) < 0) ||
        (delta.macAddress && !putMac(msg.get(), *delta.macAddress)) || (alias && !putAlias(msg.get(), owner)) ||
        (delta.stp.any() && !putBridgeData(msg.get(), delta.stp)))
      return fail(kOutOfMemory);
    if (delta.state) setAdminState(msg.get(), *delta.state);
    if (auto r = request(sock, msg.get(), "cannot change bridge " + name); !r) return r;
  }
  return changeMembers(sock, *index, name, delta);
}

Result<void> deleteBridge(nl_sock* sock, const std::string& name) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_DELLINK, 0));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  if (!msg || nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0)
    return fail(kOutOfMemory);
  auto r = request(sock, msg.get(), "cannot delete bridge " + name);
  if (!r) {
    auto still = readLink(sock, name);
    if (still && !*still) return {};
  }
  return r;
}

}  // namespace hostform::netlink
