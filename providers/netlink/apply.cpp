#include "providers/netlink/apply.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>

#include "providers/netlink/host_state.h"
#include "providers/netlink/normalize.h"
#include "providers/netlink/session.h"

namespace hostform::netlink {

namespace {

constexpr const char* kOutOfMemory = "cannot build a netlink request: out of memory.";

/// Which STP attributes a request carries.
struct StpFields {
  bool enabled = false, priority = false, forwardDelay = false, helloTime = false, maxAge = false;
  bool any() const { return enabled || priority || forwardDelay || helloTime || maxAge; }
  static StpFields all() { return {true, true, true, true, true}; }
};

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

/// IFLA_LINKINFO { kind "bridge", IFLA_INFO_DATA { IFLA_BR_* } }, timers in
/// centiseconds. Timers come before STP state, as the kernel applies them in
/// attribute-type order anyway.
bool putBridgeData(nl_msg* msg, const StpSpec& stp, StpFields which) {
  nlattr* info = nla_nest_start(msg, IFLA_LINKINFO);
  if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0) return false;
  nlattr* data = nla_nest_start(msg, IFLA_INFO_DATA);
  if (!data) return false;
  if ((which.forwardDelay && nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, toCentis(stp.forwardDelay)) < 0) ||
      (which.helloTime && nla_put_u32(msg, IFLA_BR_HELLO_TIME, toCentis(stp.helloTime)) < 0) ||
      (which.maxAge && nla_put_u32(msg, IFLA_BR_MAX_AGE, toCentis(stp.maxAge)) < 0) ||
      (which.enabled && nla_put_u32(msg, IFLA_BR_STP_STATE, stp.enabled ? 1 : 0) < 0) ||
      (which.priority && nla_put_u16(msg, IFLA_BR_PRIORITY, static_cast<std::uint16_t>(stp.priority)) < 0))
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

std::vector<std::string> minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const std::string& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

/// Each declared port as the plan promised (plan.cpp portChanges): its MTU
/// raised to the bridge's declared one, then brought up. Read now, so a
/// retry or a change made meanwhile is no error.
Result<void> preparePorts(nl_sock* sock, const std::string& bridge, const BridgeSpec& want) {
  if (want.state != AdminState::Up) return {};
  for (const std::string& port : want.ports) {
    auto link = readLink(sock, port);
    if (!link) return hostform::unexpected(link.error());
    if (!*link) continue;  // gone since the plan: enslaving it reports that
    if (want.mtu && (*link)->mtu < *want.mtu) {
      MessagePtr msg = linkMessage(0, (*link)->index, {});
      if (!msg || nla_put_u32(msg.get(), IFLA_MTU, *want.mtu) < 0) return fail(kOutOfMemory);
      if (auto r = request(sock, msg.get(),
                           "cannot raise the MTU of port " + port + " to bridge " + bridge + "'s " +
                               std::to_string(*want.mtu));
          !r)
        return r;
    }
    if (!(*link)->up) {
      MessagePtr msg = linkMessage(0, (*link)->index, {});
      if (!msg) return fail(kOutOfMemory);
      setAdminState(msg.get(), AdminState::Up);
      if (auto r = request(sock, msg.get(), "cannot bring up port " + port + " of bridge " + bridge); !r) return r;
    }
  }
  return {};
}

/// Ports and addresses from `have` to `want`; `mtu` re-applied after port
/// changes, because enslaving lowers a bridge's MTU the user did not set.
Result<void> convergeMembers(nl_sock* sock, int index, const std::string& bridge, const BridgeSpec& have,
                             const BridgeSpec& want) {
  if (auto r = preparePorts(sock, bridge, want); !r) return r;
  const auto released = minus(have.ports, want.ports);
  const auto added = minus(want.ports, have.ports);
  for (const std::string& port : released) {
    // IFLA_MASTER 0 detaches from whatever the master is now: check it is still us.
    auto now = readLink(sock, port);
    if (!now) return hostform::unexpected(now.error());
    if (!*now || (*now)->master != index) continue;
    if (auto r = setMaster(sock, port, 0, bridge); !r) return r;
  }
  for (const std::string& port : added)
    if (auto r = setMaster(sock, port, index, bridge); !r) return r;
  if (want.mtu && (!released.empty() || !added.empty()))
    if (auto r = setMtu(sock, index, *want.mtu, bridge); !r) return r;

  const auto haveAddrs = canonicalAddresses(have.addresses);
  const auto wantAddrs = canonicalAddresses(want.addresses);
  for (const std::string& a : minus(haveAddrs, wantAddrs))
    if (auto r = changeAddress(sock, index, a, AddrOp::Remove, bridge); !r) return r;
  for (const std::string& a : minus(wantAddrs, haveAddrs))
    if (auto r = changeAddress(sock, index, a, AddrOp::Add, bridge); !r) return r;
  return {};
}

}  // namespace

Result<void> createBridge(nl_sock* sock, const Resource& desired, const std::string& owner) {
  const std::string& name = desired.id.name;
  const auto& spec = desired.as<BridgeSpec>();

  MessagePtr create = linkMessage(NLM_F_CREATE | NLM_F_EXCL, 0, name);
  if (!create || !putBridgeData(create.get(), spec.stp, StpFields::all())) return fail(kOutOfMemory);
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
  return convergeMembers(sock, *index, name, BridgeSpec{}, spec);
}

Result<void> updateBridge(nl_sock* sock, const Action& action, const std::string& owner) {
  const std::string& name = action.id.name;
  if (!action.desired || !action.live) return fail("cannot update bridge " + name + ": the plan lacks its states.");
  const auto& want = action.desired->as<BridgeSpec>();
  const auto& have = action.live->resource.as<BridgeSpec>();
  std::set<std::string> changed;
  for (const FieldChange& c : action.changes) changed.insert(c.field);

  auto index = bridgeIndex(sock, name);
  if (!index) return hostform::unexpected(index.error());

  StpFields stp{changed.contains("stp.enabled"), changed.contains("stp.priority"),
                changed.contains("stp.forwardDelay"), changed.contains("stp.helloTime"),
                changed.contains("stp.maxAge")};
  const bool state = changed.contains("state");
  const bool mtu = changed.contains("mtu") && want.mtu;
  const bool mac = changed.contains("macAddress") && want.macAddress;
  const bool mark = changed.contains("owner");
  if (state || mtu || mac || mark || stp.any()) {
    MessagePtr msg = linkMessage(0, *index, {});
    if (!msg || (mtu && nla_put_u32(msg.get(), IFLA_MTU, *want.mtu) < 0) || (mac && !putMac(msg.get(), *want.macAddress)) ||
        (mark && !putAlias(msg.get(), owner)) || (stp.any() && !putBridgeData(msg.get(), want.stp, stp)))
      return fail(kOutOfMemory);
    if (state) setAdminState(msg.get(), want.state);
    if (auto r = request(sock, msg.get(), "cannot change bridge " + name); !r) return r;
  }
  const bool portsPrepared = std::ranges::any_of(changed, [](const std::string& f) { return f.starts_with("ports["); });
  if (!changed.contains("ports") && !changed.contains("addresses") && !portsPrepared) return {};
  BridgeSpec from = have, to = want;
  if (!changed.contains("ports")) to.ports = from.ports;
  if (!changed.contains("addresses")) to.addresses = from.addresses;
  return convergeMembers(sock, *index, name, from, to);
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
