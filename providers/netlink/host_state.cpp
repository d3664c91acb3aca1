#include "providers/netlink/host_state.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>

#include "providers/netlink/normalize.h"
#include "providers/netlink/session.h"

namespace hostform::netlink {

// ---- HostState lookups -------------------------------------------------------------

void HostState::index() {
  byName_.clear();
  byIndex_.clear();
  addressesOf_.clear();
  addressesByIp_.clear();
  for (std::size_t i = 0; i < links.size(); ++i) {
    byName_.emplace(links[i].name, i);
    byIndex_.emplace(links[i].index, i);
  }
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    addressesOf_[addresses[i].index].push_back(i);
    addressesByIp_.emplace(addresses[i].ip, i);
  }
}

const Link* HostState::byName(const std::string& name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : &links[it->second];
}

const Link* HostState::byIndex(int index) const {
  auto it = byIndex_.find(index);
  return it == byIndex_.end() ? nullptr : &links[it->second];
}

std::vector<std::string> HostState::managedAddresses(int linkIndex) const {
  std::vector<std::string> out;
  auto it = addressesOf_.find(linkIndex);
  if (it == addressesOf_.end()) return out;
  for (std::size_t i : it->second)
    if (addresses[i].global && addresses[i].permanent) out.push_back(addresses[i].cidr);
  std::sort(out.begin(), out.end());
  return out;
}

const Link* HostState::holderOf(const std::string& ip, int except) const {
  auto [first, last] = addressesByIp_.equal_range(ip);
  for (auto it = first; it != last; ++it)
    if (addresses[it->second].index != except) return byIndex(addresses[it->second].index);
  return nullptr;
}

// ---- reading ---------------------------------------------------------------------------

namespace {

std::string attrString(const nlattr* a) {
  const char* data = static_cast<const char*>(nla_data(a));
  return std::string(data, strnlen(data, static_cast<std::size_t>(nla_len(a))));
}

std::uint32_t attrU32(const nlattr* a) {
  return nla_len(a) >= static_cast<int>(sizeof(std::uint32_t)) ? nla_get_u32(const_cast<nlattr*>(a)) : 0;
}

void parseBridgeData(nlattr* data, Link& link) {
  nlattr* tb[IFLA_BR_MAX + 1] = {};
  BridgeAttrs br;
  if (data && nla_parse_nested(tb, IFLA_BR_MAX, data, nullptr) == 0) {
    if (tb[IFLA_BR_STP_STATE]) br.stpEnabled = attrU32(tb[IFLA_BR_STP_STATE]) != 0;
    if (tb[IFLA_BR_PRIORITY] && nla_len(tb[IFLA_BR_PRIORITY]) >= 2) br.priority = nla_get_u16(tb[IFLA_BR_PRIORITY]);
    if (tb[IFLA_BR_FORWARD_DELAY]) br.forwardDelayCs = attrU32(tb[IFLA_BR_FORWARD_DELAY]);
    if (tb[IFLA_BR_HELLO_TIME]) br.helloTimeCs = attrU32(tb[IFLA_BR_HELLO_TIME]);
    if (tb[IFLA_BR_MAX_AGE]) br.maxAgeCs = attrU32(tb[IFLA_BR_MAX_AGE]);
    if (tb[IFLA_BR_VLAN_FILTERING] && nla_len(tb[IFLA_BR_VLAN_FILTERING]) >= 1)
      br.vlanFiltering = nla_get_u8(tb[IFLA_BR_VLAN_FILTERING]) != 0;
    // Reported only by a kernel with CONFIG_BRIDGE_VLAN_FILTERING.
    if (tb[IFLA_BR_VLAN_DEFAULT_PVID] && nla_len(tb[IFLA_BR_VLAN_DEFAULT_PVID]) >= 2)
      br.defaultPvid = nla_get_u16(tb[IFLA_BR_VLAN_DEFAULT_PVID]);
  }
  link.bridge = br;
}

void parseTunData(nlattr* data, Link& link) {
  nlattr* tb[IFLA_TUN_MAX + 1] = {};
  TunAttrs tun;
  if (data && nla_parse_nested(tb, IFLA_TUN_MAX, data, nullptr) == 0 && tb[IFLA_TUN_TYPE] &&
      nla_len(tb[IFLA_TUN_TYPE]) >= 1)
    tun.tap = nla_get_u8(tb[IFLA_TUN_TYPE]) == IFF_TAP;
  link.tun = tun;
}

std::string attrIp(const nlattr* a, int family) {
  char shown[INET6_ADDRSTRLEN];
  const int want = family == AF_INET ? 4 : 16;
  if (nla_len(a) < want || !inet_ntop(family, nla_data(a), shown, sizeof shown)) return {};
  return shown;
}

void parseBondData(nlattr* data, Link& link) {
  nlattr* tb[IFLA_BOND_MAX + 1] = {};
  BondAttrs b;
  if (data && nla_parse_nested(tb, IFLA_BOND_MAX, data, nullptr) == 0) {
    if (tb[IFLA_BOND_MODE] && nla_len(tb[IFLA_BOND_MODE]) >= 1) b.mode = nla_get_u8(tb[IFLA_BOND_MODE]);
    if (tb[IFLA_BOND_MIIMON]) b.miimon = attrU32(tb[IFLA_BOND_MIIMON]);
    if (tb[IFLA_BOND_AD_LACP_RATE] && nla_len(tb[IFLA_BOND_AD_LACP_RATE]) >= 1)
      b.lacpRate = nla_get_u8(tb[IFLA_BOND_AD_LACP_RATE]);
    if (tb[IFLA_BOND_XMIT_HASH_POLICY] && nla_len(tb[IFLA_BOND_XMIT_HASH_POLICY]) >= 1)
      b.xmitHashPolicy = nla_get_u8(tb[IFLA_BOND_XMIT_HASH_POLICY]);
  }
  link.bond = b;
}

void parseVlanData(nlattr* data, Link& link) {
  nlattr* tb[IFLA_VLAN_MAX + 1] = {};
  VlanAttrs v;
  if (data && nla_parse_nested(tb, IFLA_VLAN_MAX, data, nullptr) == 0) {
    if (tb[IFLA_VLAN_ID] && nla_len(tb[IFLA_VLAN_ID]) >= 2) v.id = nla_get_u16(tb[IFLA_VLAN_ID]);
    if (tb[IFLA_VLAN_PROTOCOL] && nla_len(tb[IFLA_VLAN_PROTOCOL]) >= 2)
      v.protocol = ntohs(nla_get_u16(tb[IFLA_VLAN_PROTOCOL]));
  }
  link.vlan = v;
}

void parseVxlanData(nlattr* data, Link& link) {
  nlattr* tb[IFLA_VXLAN_MAX + 1] = {};
  VxlanAttrs v;
  if (data && nla_parse_nested(tb, IFLA_VXLAN_MAX, data, nullptr) == 0) {
    if (tb[IFLA_VXLAN_ID]) v.vni = attrU32(tb[IFLA_VXLAN_ID]);
    if (tb[IFLA_VXLAN_LOCAL]) v.local = attrIp(tb[IFLA_VXLAN_LOCAL], AF_INET);
    if (tb[IFLA_VXLAN_LOCAL6]) v.local = attrIp(tb[IFLA_VXLAN_LOCAL6], AF_INET6);
    if (tb[IFLA_VXLAN_GROUP]) v.group = attrIp(tb[IFLA_VXLAN_GROUP], AF_INET);
    if (tb[IFLA_VXLAN_GROUP6]) v.group = attrIp(tb[IFLA_VXLAN_GROUP6], AF_INET6);
    // The kernel reports unset addresses as all zeroes.
    if (v.local == "0.0.0.0" || v.local == "::") v.local.clear();
    if (v.group == "0.0.0.0" || v.group == "::") v.group.clear();
    if (tb[IFLA_VXLAN_LINK]) v.device = static_cast<int>(attrU32(tb[IFLA_VXLAN_LINK]));
    if (tb[IFLA_VXLAN_PORT] && nla_len(tb[IFLA_VXLAN_PORT]) >= 2) v.port = ntohs(nla_get_u16(tb[IFLA_VXLAN_PORT]));
    if (tb[IFLA_VXLAN_LEARNING] && nla_len(tb[IFLA_VXLAN_LEARNING]) >= 1)
      v.learning = nla_get_u8(tb[IFLA_VXLAN_LEARNING]) != 0;
  }
  link.vxlan = v;
}

std::optional<bool> attrFlag(nlattr* a) {
  if (!a || nla_len(a) < 1) return std::nullopt;
  return nla_get_u8(a) != 0;
}

void parsePortData(nlattr* data, Link& link) {
  nlattr* tb[IFLA_BRPORT_MAX + 1] = {};
  PortAttrs port;
  if (data && nla_parse_nested(tb, IFLA_BRPORT_MAX, data, nullptr) == 0) {
    if (tb[IFLA_BRPORT_COST]) port.cost = attrU32(tb[IFLA_BRPORT_COST]);
    if (tb[IFLA_BRPORT_PRIORITY] && nla_len(tb[IFLA_BRPORT_PRIORITY]) >= 2)
      port.priority = nla_get_u16(tb[IFLA_BRPORT_PRIORITY]);
    port.hairpin = attrFlag(tb[IFLA_BRPORT_MODE]);
    port.isolated = attrFlag(tb[IFLA_BRPORT_ISOLATED]);
    port.learning = attrFlag(tb[IFLA_BRPORT_LEARNING]);
  }
  link.port = port;
}

/// One RTM_NEWLINK answer; nullopt for messages that are not links.
std::optional<Link> parseLink(nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK || !nlmsg_valid_hdr(nlh, sizeof(ifinfomsg))) return std::nullopt;
  auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(nlh));
  nlattr* tb[IFLA_MAX + 1] = {};
  if (nlmsg_parse(nlh, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0 || !tb[IFLA_IFNAME]) return std::nullopt;
  Link link;
  link.index = ifi->ifi_index;
  link.up = (ifi->ifi_flags & IFF_UP) != 0;
  link.name = attrString(tb[IFLA_IFNAME]);
  if (tb[IFLA_MTU]) link.mtu = attrU32(tb[IFLA_MTU]);
  if (tb[IFLA_MAX_MTU]) link.maxMtu = attrU32(tb[IFLA_MAX_MTU]);
  if (tb[IFLA_LINK]) link.link = static_cast<int>(attrU32(tb[IFLA_LINK]));
  if (tb[IFLA_MASTER]) link.master = static_cast<int>(attrU32(tb[IFLA_MASTER]));
  if (tb[IFLA_IFALIAS]) link.alias = attrString(tb[IFLA_IFALIAS]);
  if (tb[IFLA_ADDRESS])
    link.mac = formatMac(static_cast<const unsigned char*>(nla_data(tb[IFLA_ADDRESS])),
                         static_cast<std::size_t>(nla_len(tb[IFLA_ADDRESS])));
  if (tb[IFLA_LINKINFO]) {
    nlattr* info[IFLA_INFO_MAX + 1] = {};
    if (nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0) {
      if (info[IFLA_INFO_SLAVE_KIND]) link.slaveKind = attrString(info[IFLA_INFO_SLAVE_KIND]);
      if (info[IFLA_INFO_KIND]) {
        link.kind = attrString(info[IFLA_INFO_KIND]);
        if (link.kind == "bridge") parseBridgeData(info[IFLA_INFO_DATA], link);
        if (link.kind == "tun") parseTunData(info[IFLA_INFO_DATA], link);
        if (link.kind == "bond") parseBondData(info[IFLA_INFO_DATA], link);
        if (link.kind == "vlan") parseVlanData(info[IFLA_INFO_DATA], link);
        if (link.kind == "vxlan") parseVxlanData(info[IFLA_INFO_DATA], link);
      }
      if (link.slaveKind == "bridge") parsePortData(info[IFLA_INFO_SLAVE_DATA], link);
    }
  }
  return link;
}

/// An RTM_GETLINK request; `name` empty: all links (a dump).
Result<MessagePtr> linkRequest(const std::string& name) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_GETLINK, name.empty() ? NLM_F_DUMP : 0));
  if (!msg) return fail("cannot build a netlink request: out of memory.");
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  // Statistics are most of a link's answer and hostform reads none of them.
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(msg.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0 ||
      (!name.empty() && nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0))
    return fail("cannot build a netlink request: out of memory.");
  return msg;
}

Result<std::vector<Address>> readAddresses(nl_sock* sock) {
  nl_cache* raw = nullptr;
  int err = rtnl_addr_alloc_cache(sock, &raw);
  CachePtr cache(raw);
  if (err < 0) return fail("cannot list the addresses: " + errorText(err) + ".");
  std::vector<Address> out;
  char shown[INET6_ADDRSTRLEN];
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    const int family = rtnl_addr_get_family(addr);
    nl_addr* local = rtnl_addr_get_local(addr);
    if ((family != AF_INET && family != AF_INET6) || !local) continue;
    if (!inet_ntop(family, nl_addr_get_binary_addr(local), shown, sizeof shown)) continue;
    Address a;
    a.index = rtnl_addr_get_ifindex(addr);
    a.ip = shown;
    a.cidr = a.ip + "/" + std::to_string(rtnl_addr_get_prefixlen(addr));
    a.global = rtnl_addr_get_scope(addr) == RT_SCOPE_UNIVERSE;
    a.permanent = (rtnl_addr_get_flags(addr) & IFA_F_PERMANENT) != 0;
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Result<HostState> readHostState(nl_sock* sock) {
  HostState state;
  auto msg = linkRequest({});
  if (!msg) return hostform::unexpected(msg.error());
  auto links = dump(
      sock, msg->get(),
      [&](nlmsghdr* nlh) {
        if (auto link = parseLink(nlh)) state.links.push_back(std::move(*link));
      },
      "cannot list the network interfaces");
  if (!links) return hostform::unexpected(links.error());
  auto addresses = readAddresses(sock);
  if (!addresses) return hostform::unexpected(addresses.error());
  state.addresses = std::move(*addresses);
  state.index();
  return state;
}

Result<PortVlans> readPortVlans(nl_sock* sock) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP));
  if (!msg) return fail("cannot build a netlink request: out of memory.");
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(msg.get(), IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN_COMPRESSED) < 0)
    return fail("cannot build a netlink request: out of memory.");
  PortVlans out;
  auto done = dump(
      sock, msg.get(),
      [&](nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWLINK || !nlmsg_valid_hdr(nlh, sizeof(ifinfomsg))) return;
        auto* info = static_cast<ifinfomsg*>(nlmsg_data(nlh));
        nlattr* tb[IFLA_MAX + 1] = {};
        if (nlmsg_parse(nlh, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0 || !tb[IFLA_AF_SPEC]) return;
        VlanFlags flags;
        int rangeStart = -1;  // the VLAN of a RANGE_BEGIN entry, until its RANGE_END
        nlattr* a = nullptr;
        int rem = 0;
        nla_for_each_nested(a, tb[IFLA_AF_SPEC], rem) {
          if (nla_type(a) != IFLA_BRIDGE_VLAN_INFO || nla_len(a) < static_cast<int>(sizeof(bridge_vlan_info)))
            continue;
          const auto* v = static_cast<const bridge_vlan_info*>(nla_data(a));
          const std::uint8_t f = static_cast<std::uint8_t>(((v->flags & BRIDGE_VLAN_INFO_PVID) ? kVlanPvid : 0) |
                                                           ((v->flags & BRIDGE_VLAN_INFO_UNTAGGED) ? kVlanUntagged : 0));
          if (v->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
            rangeStart = v->vid;
            continue;
          }
          const unsigned first = rangeStart >= 0 ? static_cast<unsigned>(rangeStart) : v->vid;
          rangeStart = -1;
          for (unsigned id = first; id <= v->vid; ++id) flags[static_cast<std::uint16_t>(id)] = f;
        }
        out[info->ifi_index] = compressVlans(flags);
      },
      "cannot list the VLANs of the bridge ports");
  if (!done) return hostform::unexpected(done.error());
  return out;
}

Result<std::vector<FdbRecord>> readStaticFdb(nl_sock* sock) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP));
  if (!msg) return fail("cannot build a netlink request: out of memory.");
  ndmsg ndm{};
  ndm.ndm_family = AF_BRIDGE;
  if (nlmsg_append(msg.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0)
    return fail("cannot build a netlink request: out of memory.");
  std::vector<FdbRecord> out;
  auto done = dump(
      sock, msg.get(),
      [&](nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWNEIGH || !nlmsg_valid_hdr(nlh, sizeof(ndmsg))) return;
        auto* n = static_cast<ndmsg*>(nlmsg_data(nlh));
        // Static is NUD_NOARP; local entries are NUD_PERMANENT, learnt ones REACHABLE or STALE.
        if (n->ndm_family != AF_BRIDGE || n->ndm_state != NUD_NOARP || (n->ndm_flags & NTF_SELF)) return;
        nlattr* tb[NDA_MAX + 1] = {};
        if (nlmsg_parse(nlh, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0 || !tb[NDA_LLADDR] ||
            nla_len(tb[NDA_LLADDR]) != 6)
          return;
        FdbRecord r;
        r.port = n->ndm_ifindex;
        r.mac = formatMac(static_cast<const unsigned char*>(nla_data(tb[NDA_LLADDR])), 6);
        if (tb[NDA_VLAN] && nla_len(tb[NDA_VLAN]) >= 2 && nla_get_u16(tb[NDA_VLAN]) != 0)
          r.vlan = nla_get_u16(tb[NDA_VLAN]);
        out.push_back(std::move(r));
      },
      "cannot list the bridges' forwarding databases");
  if (!done) return hostform::unexpected(done.error());
  return out;
}

Result<std::optional<Link>> readLink(nl_sock* sock, const std::string& name) {
  auto msg = linkRequest(name);
  if (!msg) return hostform::unexpected(msg.error());
  std::optional<Link> found;
  const int err = exchange(sock, msg->get(), [&](nlmsghdr* nlh) { found = parseLink(nlh); });
  // The kernel answers ENODEV for a name it does not know; libnl calls it "not found".
  if (err == -NLE_OBJ_NOTFOUND) return std::optional<Link>();
  if (err < 0) return fail("cannot read interface " + name + ": " + errorText(err) + ".");
  return found;
}

}  // namespace hostform::netlink
