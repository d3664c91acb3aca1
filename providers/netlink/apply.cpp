#include "providers/netlink/apply.h"

#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <sched.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>

#include <map>
#include <thread>

#include "providers/netlink/host_state.h"
#include "providers/netlink/link_message.h"
#include "providers/netlink/links_apply.h"
#include "providers/netlink/normalize.h"
#include "providers/netlink/plan.h"
#include "providers/netlink/session.h"

namespace hostform::netlink {

namespace {

/// Every STP attribute of `stp`: what a create sends.
StpDelta allOf(const StpSpec& stp) {
  return {stp.enabled, stp.priority, stp.forwardDelay, stp.helloTime, stp.maxAge};
}

/// IFLA_LINKINFO { kind "bridge", IFLA_INFO_DATA { IFLA_BR_* } } with the
/// attributes `stp` sets, timers in centiseconds. Timers come before STP
/// state, as the kernel applies them in attribute-type order anyway.
/// IFLA_BR_* beyond STP: VLAN filtering first, so a default PVID applies to a filtering bridge.
struct VlanData {
  std::optional<bool> filtering;
  std::optional<std::uint16_t> defaultPvid;
};

bool putBridgeData(nl_msg* msg, const StpDelta& stp, const VlanData& vlan = {}) {
  nlattr* info = nla_nest_start(msg, IFLA_LINKINFO);
  if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0) return false;
  nlattr* data = nla_nest_start(msg, IFLA_INFO_DATA);
  if (!data) return false;
  if ((stp.forwardDelay && nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, toCentis(*stp.forwardDelay)) < 0) ||
      (stp.helloTime && nla_put_u32(msg, IFLA_BR_HELLO_TIME, toCentis(*stp.helloTime)) < 0) ||
      (stp.maxAge && nla_put_u32(msg, IFLA_BR_MAX_AGE, toCentis(*stp.maxAge)) < 0) ||
      (stp.enabled && nla_put_u32(msg, IFLA_BR_STP_STATE, *stp.enabled ? 1 : 0) < 0) ||
      (stp.priority && nla_put_u16(msg, IFLA_BR_PRIORITY, static_cast<std::uint16_t>(*stp.priority)) < 0) ||
      (vlan.filtering && nla_put_u8(msg, IFLA_BR_VLAN_FILTERING, *vlan.filtering ? 1 : 0) < 0) ||
      (vlan.defaultPvid && nla_put_u16(msg, IFLA_BR_VLAN_DEFAULT_PVID, *vlan.defaultPvid) < 0))
    return false;
  nla_nest_end(msg, data);
  nla_nest_end(msg, info);
  return true;
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

/// A nest with NLA_F_NESTED, which the bridge requires of IFLA_PROTINFO.
nlattr* nestStart(nl_msg* msg, int type) {
  nlattr* a = nla_nest_start(msg, type);
  if (a) a->nla_type |= NLA_F_NESTED;
  return a;
}

/// RTM_SETLINK or RTM_DELLINK of family AF_BRIDGE for a bridge port.
MessagePtr portMessage(int type, int index) {
  MessagePtr msg(nlmsg_alloc_size(64 * 1024));
  if (!msg) return msg;
  if (!nlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, type, 0, 0)) return nullptr;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) return nullptr;
  return msg;
}

Result<int> portIndex(nl_sock* sock, const std::string& port, int bridgeIndex, const std::string& bridge) {
  auto link = readLink(sock, port);
  if (!link) return hostform::unexpected(link.error());
  if (!*link || (*link)->master != bridgeIndex)
    return fail("interface " + port + " is not a port of bridge " + bridge + " any more.");
  return (*link)->index;
}

Result<void> setPortOptions(nl_sock* sock, int bridgeIndex, const std::string& bridge, const PortOptionsFix& fix) {
  auto index = portIndex(sock, fix.name, bridgeIndex, bridge);
  if (!index) return hostform::unexpected(index.error());
  MessagePtr msg = portMessage(RTM_SETLINK, *index);
  nlattr* info = msg ? nestStart(msg.get(), IFLA_PROTINFO) : nullptr;
  if (!info || (fix.cost && nla_put_u32(msg.get(), IFLA_BRPORT_COST, *fix.cost) < 0) ||
      (fix.priority && nla_put_u16(msg.get(), IFLA_BRPORT_PRIORITY, static_cast<std::uint16_t>(*fix.priority)) < 0) ||
      (fix.hairpin && nla_put_u8(msg.get(), IFLA_BRPORT_MODE, *fix.hairpin ? 1 : 0) < 0) ||
      (fix.isolated && nla_put_u8(msg.get(), IFLA_BRPORT_ISOLATED, *fix.isolated ? 1 : 0) < 0) ||
      (fix.learning && nla_put_u8(msg.get(), IFLA_BRPORT_LEARNING, *fix.learning ? 1 : 0) < 0))
    return fail(kOutOfMemory);
  nla_nest_end(msg.get(), info);
  return request(sock, msg.get(), "cannot set the options of port " + fix.name + " of bridge " + bridge);
}

/// IFLA_BRIDGE_VLAN_INFO entries for `vlans` (canonical: a pvid is never in a range).
bool putVlans(nl_msg* msg, const std::vector<BridgeVlan>& vlans) {
  nlattr* spec = nla_nest_start(msg, IFLA_AF_SPEC);
  if (!spec) return false;
  for (const BridgeVlan& v : vlans) {
    const std::uint16_t flags = static_cast<std::uint16_t>((v.pvid ? BRIDGE_VLAN_INFO_PVID : 0) |
                                                           (v.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0));
    bridge_vlan_info info{};
    if (v.first == v.last) {
      info.flags = flags;
      info.vid = v.first;
      if (nla_put(msg, IFLA_BRIDGE_VLAN_INFO, sizeof info, &info) < 0) return false;
      continue;
    }
    info.flags = static_cast<std::uint16_t>(flags | BRIDGE_VLAN_INFO_RANGE_BEGIN);
    info.vid = v.first;
    if (nla_put(msg, IFLA_BRIDGE_VLAN_INFO, sizeof info, &info) < 0) return false;
    info.flags = static_cast<std::uint16_t>(flags | BRIDGE_VLAN_INFO_RANGE_END);
    info.vid = v.last;
    if (nla_put(msg, IFLA_BRIDGE_VLAN_INFO, sizeof info, &info) < 0) return false;
  }
  nla_nest_end(msg, spec);
  return true;
}

/// Each port's VLANs as declared: read them now, remove those not declared,
/// then add those missing or with other flags (adding again updates them).
Result<void> setPortVlans(nl_sock* sock, int bridgeIndex, const std::string& bridge,
                          const std::vector<PortVlansFix>& fixes) {
  if (fixes.empty()) return {};
  auto now = readPortVlans(sock);
  if (!now) return hostform::unexpected(now.error());
  for (const PortVlansFix& fix : fixes) {
    auto index = portIndex(sock, fix.name, bridgeIndex, bridge);
    if (!index) return hostform::unexpected(index.error());
    auto it = now->find(*index);
    const VlanFlags have = it == now->end() ? VlanFlags{} : expandVlans(it->second);
    const VlanFlags want = expandVlans(fix.vlans);
    VlanFlags remove, add;
    for (const auto& [id, flags] : have)
      if (!want.contains(id)) remove[id] = 0;
    for (const auto& [id, flags] : want)
      if (auto h = have.find(id); h == have.end() || h->second != flags) add[id] = flags;
    const std::string what = "cannot set the VLANs of port " + fix.name + " of bridge " + bridge;
    if (!remove.empty()) {
      MessagePtr msg = portMessage(RTM_DELLINK, *index);
      if (!msg || !putVlans(msg.get(), compressVlans(remove))) return fail(kOutOfMemory);
      if (auto r = request(sock, msg.get(), what); !r) return r;
    }
    if (!add.empty()) {
      MessagePtr msg = portMessage(RTM_SETLINK, *index);
      if (!msg || !putVlans(msg.get(), compressVlans(add))) return fail(kOutOfMemory);
      if (auto r = request(sock, msg.get(), what); !r) return r;
    }
  }
  return {};
}

enum class FdbOp { Add, Remove };

Result<void> changeFdb(nl_sock* sock, int bridgeIndex, const std::string& bridge, const FdbEntry& e, FdbOp op) {
  const std::string what = op == FdbOp::Add ? "cannot add FDB entry " + showFdb(e) + " to bridge " + bridge
                                            : "cannot remove FDB entry " + showFdb(e) + " from bridge " + bridge;
  auto index = portIndex(sock, e.port, bridgeIndex, bridge);
  if (!index) {
    if (op == FdbOp::Remove) return {};  // the port left: its entries went with it
    return hostform::unexpected(index.error());
  }
  auto mac = parseMac(e.mac);
  if (!mac) return fail(what + ": it is not a MAC address.");
  MessagePtr msg(nlmsg_alloc_simple(op == FdbOp::Add ? RTM_NEWNEIGH : RTM_DELNEIGH,
                                    op == FdbOp::Add ? NLM_F_CREATE | NLM_F_REPLACE : 0));
  ndmsg ndm{};
  ndm.ndm_family = AF_BRIDGE;
  ndm.ndm_ifindex = *index;
  ndm.ndm_state = NUD_NOARP;  // static: not aged, not local
  ndm.ndm_flags = NTF_MASTER;
  if (!msg || nlmsg_append(msg.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), NDA_LLADDR, static_cast<int>(mac->size()), mac->data()) < 0 ||
      (e.vlan && nla_put_u16(msg.get(), NDA_VLAN, *e.vlan) < 0))
    return fail(kOutOfMemory);
  nlmsg_hdr(msg.get())->nlmsg_flags |= NLM_F_ACK;
  if (int err = nl_send_auto(sock, msg.get()); err < 0) return fail(what + ": " + errorText(err) + ".");
  const int err = nl_wait_for_ack(sock);
  if (op == FdbOp::Remove && err == -NLE_OBJ_NOTFOUND) return {};  // already gone
  if (err < 0) return fail(what + ": " + errorText(err) + ".");
  return {};
}

/// The members part of `delta`, in its order: port fixes, releases,
/// enslavements, the MTU pinned again, port options, port VLANs, FDB
/// removals and additions, address removals, then additions.
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
  for (const PortOptionsFix& fix : delta.portOptions)
    if (auto r = setPortOptions(sock, index, bridge, fix); !r) return r;
  if (auto r = setPortVlans(sock, index, bridge, delta.portVlans); !r) return r;
  for (const FdbEntry& e : delta.removeFdb)
    if (auto r = changeFdb(sock, index, bridge, e, FdbOp::Remove); !r) return r;
  for (const FdbEntry& e : delta.addFdb)
    if (auto r = changeFdb(sock, index, bridge, e, FdbOp::Add); !r) return r;
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
  VlanData vlan;
  if (spec.vlanFiltering) vlan = {true, spec.defaultPvid};
  if (!create || !putBridgeData(create.get(), allOf(spec.stp), vlan)) return fail(kOutOfMemory);
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
  const VlanData vlan{delta.vlanFiltering, delta.defaultPvid};
  const bool bridgeData = delta.stp.any() || vlan.filtering || vlan.defaultPvid;
  if (delta.state || delta.mtu || delta.macAddress || alias || bridgeData) {
    MessagePtr msg = linkMessage(0, *index, {});
    if (!msg || (delta.mtu && nla_put_u32(msg.get(), IFLA_MTU, *delta.mtu) < 0) ||
        (delta.macAddress && !putMac(msg.get(), *delta.macAddress)) || (alias && !putAlias(msg.get(), owner)) ||
        (bridgeData && !putBridgeData(msg.get(), delta.stp, vlan)))
      return fail(kOutOfMemory);
    if (delta.state) setAdminState(msg.get(), *delta.state);
    if (auto r = request(sock, msg.get(), "cannot change bridge " + name); !r) return r;
  }
  return changeMembers(sock, *index, name, delta);
}

Result<void> deleteBridge(nl_sock* sock, const std::string& name) { return deleteLink(sock, name, "bridge"); }

std::optional<bool> probeVlanFiltering() {
  std::optional<bool> result;
  // A thread of its own, so that only it enters the new namespace; the
  // namespace, and the bridge made in it, go away with the thread's socket.
  std::thread probe([&] {
    if (unshare(CLONE_NEWNET) != 0) return;
    auto sock = connectRoute();
    if (!sock) return;
    MessagePtr msg = linkMessage(NLM_F_CREATE | NLM_F_EXCL, 0, "hfprobe0");
    if (!msg || !putBridgeData(msg.get(), StpDelta{}, VlanData{true, std::nullopt})) return;
    nlmsg_hdr(msg.get())->nlmsg_flags |= NLM_F_ACK;
    if (nl_send_auto(sock->get(), msg.get()) < 0) return;
    const int err = nl_wait_for_ack(sock->get());
    if (err == 0) result = true;
    else if (err == -NLE_OPNOTSUPP) result = false;
  });
  probe.join();
  return result;
}

}  // namespace hostform::netlink
