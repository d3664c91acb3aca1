#include "providers/netlink/links_apply.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>

#include <netlink/attr.h>
#include <netlink/errno.h>

#include "providers/netlink/host_state.h"
#include "providers/netlink/link_message.h"
#include "providers/netlink/normalize.h"
#include "providers/netlink/session.h"

namespace hostform::netlink {

namespace {

Result<Link> linkOf(nl_sock* sock, const std::string& name, const char* kind, const std::string& what) {
  auto link = readLink(sock, name);
  if (!link) return hostform::unexpected(link.error());
  if (!*link) return fail(what + " " + name + " is not on the host any more.");
  if ((*link)->kind != kind) return fail("interface " + name + " is not a " + kind + " device.");
  return **link;
}

Result<void> setState(nl_sock* sock, int index, AdminState state, const std::string& what) {
  MessagePtr msg = linkMessage(0, index, {});
  if (!msg) return fail(kOutOfMemory);
  setAdminState(msg.get(), state);
  return request(sock, msg.get(), "cannot bring " + what + (state == AdminState::Up ? " up" : " down"));
}

/// Mark, MTU, MAC and state in one request (what is set of them).
Result<void> setAttrs(nl_sock* sock, int index, const LinkAttrs& attrs, bool mark, const std::string& owner,
                      const std::string& what) {
  if (!attrs.any() && !mark) return {};
  MessagePtr msg = linkMessage(0, index, {});
  if (!msg || (attrs.mtu && nla_put_u32(msg.get(), IFLA_MTU, *attrs.mtu) < 0) ||
      (attrs.macAddress && !putMac(msg.get(), *attrs.macAddress)) ||
      (mark && nla_put_string(msg.get(), IFLA_IFALIAS, ownerMark(owner).c_str()) < 0))
    return fail(kOutOfMemory);
  if (attrs.state) setAdminState(msg.get(), *attrs.state);
  return request(sock, msg.get(), "cannot change " + what);
}

/// The owner mark alone, right after a create, so nothing later can leave an unowned link.
Result<void> markCreated(nl_sock* sock, int index, const std::string& owner, const std::string& what) {
  MessagePtr msg = linkMessage(0, index, {});
  if (!msg || nla_put_string(msg.get(), IFLA_IFALIAS, ownerMark(owner).c_str()) < 0) return fail(kOutOfMemory);
  return request(sock, msg.get(), what + " was created, but writing its owner mark failed");
}

// ---- bonds ------------------------------------------------------------------------

/// IFLA_LINKINFO { kind "bond", IFLA_INFO_DATA { IFLA_BOND_* } } with what is set.
bool putBondData(nl_msg* msg, std::optional<BondMode> mode, std::optional<Millis> miimon,
                 std::optional<LacpRate> lacp, std::optional<XmitHashPolicy> hash) {
  nlattr* info = nla_nest_start(msg, IFLA_LINKINFO);
  if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bond") < 0) return false;
  nlattr* data = nla_nest_start(msg, IFLA_INFO_DATA);
  if (!data) return false;
  if ((mode && nla_put_u8(msg, IFLA_BOND_MODE, static_cast<std::uint8_t>(*mode)) < 0) ||
      (miimon && nla_put_u32(msg, IFLA_BOND_MIIMON, static_cast<std::uint32_t>(miimon->count())) < 0) ||
      (lacp && nla_put_u8(msg, IFLA_BOND_AD_LACP_RATE, *lacp == LacpRate::Fast ? 1 : 0) < 0) ||
      (hash && nla_put_u8(msg, IFLA_BOND_XMIT_HASH_POLICY, static_cast<std::uint8_t>(*hash)) < 0))
    return false;
  nla_nest_end(msg, data);
  nla_nest_end(msg, info);
  return true;
}

Result<void> setBondOptions(nl_sock* sock, int index, std::optional<BondMode> mode, std::optional<Millis> miimon,
                            std::optional<LacpRate> lacp, std::optional<XmitHashPolicy> hash,
                            const std::string& name) {
  if (!mode && !miimon && !lacp && !hash) return {};
  MessagePtr msg = linkMessage(0, index, {});
  if (!msg || !putBondData(msg.get(), mode, miimon, lacp, hash)) return fail(kOutOfMemory);
  return request(sock, msg.get(), "cannot change the options of bond " + name);
}

/// Enslaves `member` to the bond: down first (the kernel enslaves only a
/// member that is down, then opens it itself).
Result<void> enslave(nl_sock* sock, const std::string& member, int bond, const std::string& name) {
  auto link = readLink(sock, member);
  if (!link) return hostform::unexpected(link.error());
  if (!*link) return fail("cannot add member " + member + " to bond " + name + ": it is not on the host.");
  if ((*link)->master == bond) return {};
  if ((*link)->up)
    if (auto r = setState(sock, (*link)->index, AdminState::Down, "member " + member + " of bond " + name); !r)
      return r;
  MessagePtr msg = linkMessage(0, (*link)->index, {});
  if (!msg || nla_put_u32(msg.get(), IFLA_MASTER, static_cast<std::uint32_t>(bond)) < 0) return fail(kOutOfMemory);
  return request(sock, msg.get(), "cannot add member " + member + " to bond " + name);
}

/// Releases `member` while it is still a member of this bond (another bond
/// of the same apply may already have taken it).
Result<void> release(nl_sock* sock, const std::string& member, int bond, const std::string& name) {
  auto link = readLink(sock, member);
  if (!link) return hostform::unexpected(link.error());
  if (!*link || (*link)->master != bond) return {};
  MessagePtr msg = linkMessage(0, (*link)->index, {});
  if (!msg || nla_put_u32(msg.get(), IFLA_MASTER, 0) < 0) return fail(kOutOfMemory);
  return request(sock, msg.get(), "cannot release member " + member + " from bond " + name);
}

Result<std::vector<std::string>> membersOf(nl_sock* sock, int bond) {
  auto state = readHostState(sock);
  if (!state) return hostform::unexpected(state.error());
  std::vector<std::string> out;
  for (const Link& l : state->links)
    if (l.master == bond) out.push_back(l.name);
  return out;
}

// ---- VLAN and VXLAN -----------------------------------------------------------------

bool putIp(nl_msg* msg, int v4, int v6, const std::string& ip) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, ip.c_str(), bytes.data()) == 1) return nla_put(msg, v4, 4, bytes.data()) >= 0;
  if (inet_pton(AF_INET6, ip.c_str(), bytes.data()) == 1) return nla_put(msg, v6, 16, bytes.data()) >= 0;
  return false;
}

/// The create request of a VLAN or VXLAN interface; an error message when a
/// lower device is missing.
Result<MessagePtr> tunnelCreate(nl_sock* sock, const Resource& desired) {
  MessagePtr msg = linkMessage(NLM_F_CREATE | NLM_F_EXCL, 0, desired.id.name);
  if (!msg) return fail(kOutOfMemory);
  auto lower = [&](const std::string& name) -> Result<int> {
    auto link = readLink(sock, name);
    if (!link) return hostform::unexpected(link.error());
    if (!*link) return fail("cannot create " + desired.id.str() + ": interface " + name + " is not on the host.");
    return (*link)->index;
  };
  nlattr* info = nla_nest_start(msg.get(), IFLA_LINKINFO);
  if (!info) return fail(kOutOfMemory);
  if (desired.kind() == kinds::VlanInterface) {
    const auto& s = desired.as<VlanInterfaceSpec>();
    auto parent = lower(s.parent);
    if (!parent) return hostform::unexpected(parent.error());
    if (nla_put_string(msg.get(), IFLA_INFO_KIND, "vlan") < 0) return fail(kOutOfMemory);
    nlattr* data = nla_nest_start(msg.get(), IFLA_INFO_DATA);
    if (!data || nla_put_u16(msg.get(), IFLA_VLAN_ID, static_cast<std::uint16_t>(s.id)) < 0 ||
        nla_put_u16(msg.get(), IFLA_VLAN_PROTOCOL,
                    htons(s.protocol == VlanProtocol::Dot1AD ? ETH_P_8021AD : ETH_P_8021Q)) < 0)
      return fail(kOutOfMemory);
    nla_nest_end(msg.get(), data);
    nla_nest_end(msg.get(), info);
    if (nla_put_u32(msg.get(), IFLA_LINK, static_cast<std::uint32_t>(*parent)) < 0) return fail(kOutOfMemory);
    return msg;
  }
  const auto& s = desired.as<VxlanInterfaceSpec>();
  int device = 0;
  if (s.device) {
    auto d = lower(*s.device);
    if (!d) return hostform::unexpected(d.error());
    device = *d;
  }
  if (nla_put_string(msg.get(), IFLA_INFO_KIND, "vxlan") < 0) return fail(kOutOfMemory);
  nlattr* data = nla_nest_start(msg.get(), IFLA_INFO_DATA);
  const auto peer = s.remote ? s.remote : s.group;
  if (!data || nla_put_u32(msg.get(), IFLA_VXLAN_ID, s.vni) < 0 ||
      nla_put_u16(msg.get(), IFLA_VXLAN_PORT, htons(static_cast<std::uint16_t>(s.dstport))) < 0 ||
      nla_put_u8(msg.get(), IFLA_VXLAN_LEARNING, s.learning ? 1 : 0) < 0 ||
      (s.local && !putIp(msg.get(), IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, *s.local)) ||
      (peer && !putIp(msg.get(), IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, *peer)) ||
      (device && nla_put_u32(msg.get(), IFLA_VXLAN_LINK, static_cast<std::uint32_t>(device)) < 0))
    return fail(kOutOfMemory);
  nla_nest_end(msg.get(), data);
  nla_nest_end(msg.get(), info);
  return msg;
}

const char* kernelKindOf(const Resource& r) { return r.kind() == kinds::VlanInterface ? "vlan" : "vxlan"; }
AdminState declaredState(const Resource& r) {
  return r.kind() == kinds::VlanInterface ? r.as<VlanInterfaceSpec>().state : r.as<VxlanInterfaceSpec>().state;
}
std::optional<std::uint32_t> declaredMtu(const Resource& r) {
  return r.kind() == kinds::VlanInterface ? r.as<VlanInterfaceSpec>().mtu : r.as<VxlanInterfaceSpec>().mtu;
}

}  // namespace

Result<void> createBond(nl_sock* sock, const Resource& desired, const BondDelta& delta, const std::string& owner) {
  const std::string& name = desired.id.name;
  const auto& spec = desired.as<BondSpec>();
  MessagePtr create = linkMessage(NLM_F_CREATE | NLM_F_EXCL, 0, name);
  if (!create || !putBondData(create.get(), spec.mode, spec.miimon, spec.lacpRate, spec.xmitHashPolicy))
    return fail(kOutOfMemory);
  if (auto r = request(sock, create.get(), "cannot create bond " + name); !r) return r;
  auto bond = linkOf(sock, name, "bond", "bond");
  if (!bond) return hostform::unexpected(bond.error());
  if (auto r = markCreated(sock, bond->index, owner, "bond " + name); !r) return r;
  if (auto r = setAttrs(sock, bond->index, {.mtu = spec.mtu, .macAddress = spec.macAddress}, false, owner,
                        "the MTU and MAC address of bond " + name);
      !r)
    return r;
  for (const std::string& m : delta.enslave)
    if (auto r = enslave(sock, m, bond->index, name); !r) return r;
  // Enslaving gives the bond its first member's MAC: the declared one again.
  if (spec.macAddress && !delta.enslave.empty())
    if (auto r = setAttrs(sock, bond->index, {.macAddress = spec.macAddress}, false, owner, "the MAC of bond " + name);
        !r)
      return r;
  return setState(sock, bond->index, spec.state, "bond " + name);
}

Result<void> updateBond(nl_sock* sock, const Resource& desired, const BondDelta& delta, Mark mark,
                        const std::string& owner) {
  const std::string& name = desired.id.name;
  const auto& spec = desired.as<BondSpec>();
  auto bond = linkOf(sock, name, "bond", "bond");
  if (!bond) return hostform::unexpected(bond.error());
  const int index = bond->index;
  const std::string what = "bond " + name;
  if (delta.mode || delta.lacpRate) {
    if (auto r = setState(sock, index, AdminState::Down, what); !r) return r;
    if (delta.mode) {
      // Every member, not only the ones the plan saw: the kernel refuses a mode change to a bond with any.
      auto members = membersOf(sock, index);
      if (!members) return hostform::unexpected(members.error());
      for (const std::string& m : *members)
        if (auto r = release(sock, m, index, name); !r) return r;
    }
    if (auto r = setBondOptions(sock, index, delta.mode, std::nullopt, delta.lacpRate, std::nullopt, name); !r)
      return r;
  } else {
    for (const std::string& m : delta.release)
      if (auto r = release(sock, m, index, name); !r) return r;
  }
  if (auto r = setBondOptions(sock, index, std::nullopt, delta.miimon, std::nullopt, delta.xmitHashPolicy, name); !r)
    return r;
  for (const std::string& m : delta.enslave)
    if (auto r = enslave(sock, m, index, name); !r) return r;
  LinkAttrs attrs = delta.link;
  if ((delta.mode || delta.lacpRate) && !attrs.state) attrs.state = spec.state;  // back up after the change
  if (spec.macAddress && !delta.enslave.empty()) attrs.macAddress = spec.macAddress;
  return setAttrs(sock, index, attrs, mark == Mark::Write, owner, what);
}

Result<void> deleteBond(nl_sock* sock, const std::string& name) {
  auto link = readLink(sock, name);
  if (!link) return hostform::unexpected(link.error());
  if (!*link) return {};
  auto members = membersOf(sock, (*link)->index);
  if (!members) return hostform::unexpected(members.error());
  for (const std::string& m : *members)
    if (auto r = release(sock, m, (*link)->index, name); !r) return r;
  return deleteLink(sock, name, "bond");
}

Result<void> createTunnel(nl_sock* sock, const Resource& desired, const TunnelDelta& delta, const std::string& owner) {
  const std::string what = (desired.kind() == kinds::VlanInterface ? "VLAN interface " : "VXLAN interface ") +
                           desired.id.name;
  auto msg = tunnelCreate(sock, desired);
  if (!msg) return hostform::unexpected(msg.error());
  if (auto r = request(sock, msg->get(), "cannot create " + what); !r) return r;
  auto link = linkOf(sock, desired.id.name, kernelKindOf(desired), what);
  if (!link) return hostform::unexpected(link.error());
  if (auto r = markCreated(sock, link->index, owner, what); !r) return r;
  if (auto r = setAttrs(sock, link->index, {.mtu = declaredMtu(desired)}, false, owner, "the MTU of " + what); !r)
    return r;
  if (delta.reattachTo) {
    auto bridge = readLink(sock, *delta.reattachTo);
    if (!bridge) return hostform::unexpected(bridge.error());
    if (*bridge) {
      MessagePtr m = linkMessage(0, link->index, {});
      if (!m || nla_put_u32(m.get(), IFLA_MASTER, static_cast<std::uint32_t>((*bridge)->index)) < 0)
        return fail(kOutOfMemory);
      if (auto r = request(sock, m.get(), "cannot put " + what + " back on bridge " + *delta.reattachTo); !r) return r;
    }
  }
  return setState(sock, link->index, declaredState(desired), what);
}

Result<void> updateTunnel(nl_sock* sock, const Resource& desired, const TunnelDelta& delta, Mark mark,
                          const std::string& owner) {
  const std::string what = (desired.kind() == kinds::VlanInterface ? "VLAN interface " : "VXLAN interface ") +
                           desired.id.name;
  auto link = linkOf(sock, desired.id.name, kernelKindOf(desired), what);
  if (!link) return hostform::unexpected(link.error());
  if (delta.learning) {
    MessagePtr msg = linkMessage(0, link->index, {});
    if (!msg) return fail(kOutOfMemory);
    nlattr* info = nla_nest_start(msg.get(), IFLA_LINKINFO);
    if (!info || nla_put_string(msg.get(), IFLA_INFO_KIND, "vxlan") < 0) return fail(kOutOfMemory);
    nlattr* data = nla_nest_start(msg.get(), IFLA_INFO_DATA);
    if (!data || nla_put_u8(msg.get(), IFLA_VXLAN_LEARNING, *delta.learning ? 1 : 0) < 0) return fail(kOutOfMemory);
    nla_nest_end(msg.get(), data);
    nla_nest_end(msg.get(), info);
    if (auto r = request(sock, msg.get(), "cannot change learning of " + what); !r) return r;
  }
  return setAttrs(sock, link->index, delta.link, mark == Mark::Write, owner, what);
}

Result<void> deleteLink(nl_sock* sock, const std::string& name, const std::string& what) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_DELLINK, 0));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  if (!msg || nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0)
    return fail(kOutOfMemory);
  auto r = request(sock, msg.get(), "cannot delete " + what + " " + name);
  if (!r) {
    auto still = readLink(sock, name);
    if (still && !*still) return {};
  }
  return r;
}

}  // namespace hostform::netlink
