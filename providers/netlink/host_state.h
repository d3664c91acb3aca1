#pragma once
/// What the kernel has, in the kernel's own terms: every link and every
/// address of the network namespace, read with one link dump and one address
/// dump. The provider turns it into Observed bridges (observe.cpp) and uses
/// the rest (ports, taps, other interfaces' addresses) as context for plan-time
/// checks (plan.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "reconciler/kinds/bridge.h"
#include "reconciler/result.h"

struct nl_sock;

namespace hostform::netlink {

/// IFLA_BR_* of a bridge, as the kernel reports them. Timers are in the
/// kernel's user-visible unit, centiseconds (clock_t at USER_HZ = 100).
struct BridgeAttrs {
  bool stpEnabled = false;
  std::uint16_t priority = 32768;
  std::uint32_t forwardDelayCs = 1500;
  std::uint32_t helloTimeCs = 200;
  std::uint32_t maxAgeCs = 2000;
  bool vlanFiltering = false;  ///< IFLA_BR_VLAN_FILTERING (reported, as 0, even by a kernel without the feature)
  /// IFLA_BR_VLAN_DEFAULT_PVID: nullopt when the kernel does not report it,
  /// which is exactly when it was built without CONFIG_BRIDGE_VLAN_FILTERING
  /// (net/bridge/br_netlink.c br_fill_info).
  std::optional<std::uint16_t> defaultPvid;
};

/// IFLA_BRPORT_* of a bridge port (IFLA_INFO_SLAVE_DATA), each nullopt when
/// the kernel does not report it: a kernel that lacks the option.
struct PortAttrs {
  std::optional<std::uint32_t> cost;
  std::optional<std::uint32_t> priority;
  std::optional<bool> hairpin;  ///< IFLA_BRPORT_MODE
  std::optional<bool> isolated;
  std::optional<bool> learning;
};

/// IFLA_TUN_* of a tun/tap device.
struct TunAttrs {
  bool tap = false;  ///< IFF_TAP, as opposed to IFF_TUN
};

/// IFLA_BOND_* of a bond, in the kernel's numbering (BOND_MODE_*,
/// BOND_XMIT_POLICY_*; lacp rate 0 slow, 1 fast; miimon in ms).
struct BondAttrs {
  std::uint8_t mode = 0;
  std::uint32_t miimon = 0;
  std::uint8_t lacpRate = 0;
  std::uint8_t xmitHashPolicy = 0;
};

/// IFLA_VLAN_* of a VLAN device; the parent is Link::link.
struct VlanAttrs {
  std::uint16_t id = 0;
  std::uint16_t protocol = 0x8100;  ///< host order: ETH_P_8021Q or ETH_P_8021AD
};

/// IFLA_VXLAN_* of a VXLAN device; addresses canonical, empty when unset.
struct VxlanAttrs {
  std::uint32_t vni = 0;
  std::string local;
  std::string group;   ///< IFLA_VXLAN_GROUP{,6}: the remote, or a multicast group
  int device = 0;      ///< IFLA_VXLAN_LINK; 0: none
  std::uint16_t port = 0;  ///< host order
  bool learning = true;
};

struct Link {
  int index = 0;
  std::string name;
  std::string kind;             ///< IFLA_INFO_KIND: "bridge", "veth", "tun"…; empty for physical NICs
  int master = 0;               ///< ifindex of the upper device (bridge, bond…); 0: none
  std::uint32_t mtu = 0;
  std::uint32_t maxMtu = 0;     ///< IFLA_MAX_MTU: the largest MTU the device accepts; 0: not reported
  std::string mac;              ///< lower case, colon-separated; empty when the link has none
  bool up = false;              ///< IFF_UP: the administrative state
  std::string alias;            ///< IFLA_IFALIAS
  std::optional<BridgeAttrs> bridge;  ///< set for kind "bridge"
  std::optional<TunAttrs> tun;        ///< set for kind "tun"
  std::optional<BondAttrs> bond;      ///< set for kind "bond"
  std::optional<VlanAttrs> vlan;      ///< set for kind "vlan"
  std::optional<VxlanAttrs> vxlan;    ///< set for kind "vxlan"
  int link = 0;                 ///< IFLA_LINK: the lower device (a VLAN's parent); 0: none
  std::string slaveKind;        ///< IFLA_INFO_SLAVE_KIND: "bond", "bridge" for a member; empty otherwise
  std::optional<PortAttrs> port;      ///< set for a port of a bridge (IFLA_INFO_SLAVE_KIND "bridge")

  bool isBridge() const { return kind == "bridge"; }
};

struct Address {
  int index = 0;           ///< the link it is on
  std::string cidr;        ///< canonical: inet_ntop form + "/" + prefix length
  std::string ip;          ///< canonical address without the prefix
  bool global = false;     ///< scope universe
  bool permanent = false;  ///< IFA_F_PERMANENT: static, not SLAAC or DHCP with a lifetime
};

/// The namespace's links and addresses at one moment.
struct HostState {
  std::vector<Link> links;
  std::vector<Address> addresses;

  /// Builds the lookups; call after filling `links` and `addresses`.
  void index();
  const Link* byName(const std::string& name) const;
  const Link* byIndex(int index) const;
  /// Global-scope, permanent addresses of one link, canonical, sorted.
  std::vector<std::string> managedAddresses(int linkIndex) const;
  /// The link holding `ip` (canonical, no prefix) other than `except`; nullptr when none.
  const Link* holderOf(const std::string& ip, int except) const;

 private:
  std::unordered_map<std::string, std::size_t> byName_;
  std::unordered_map<int, std::size_t> byIndex_;
  std::unordered_map<int, std::vector<std::size_t>> addressesOf_;       ///< link index -> addresses
  std::unordered_multimap<std::string, std::size_t> addressesByIp_;     ///< ip -> addresses
};

/// Reads every link (one RTM_GETLINK dump, parsed here because libnl 3.7 does
/// not keep a bridge's IFLA_INFO_DATA) and every address (one
/// rtnl_addr_alloc_cache dump).
Result<HostState> readHostState(nl_sock* sock);

/// VLANs of every bridge port, by port ifindex, normalised (normalize.h
/// compressVlans): one RTM_GETLINK dump of family AF_BRIDGE with
/// RTEXT_FILTER_BRVLAN_COMPRESSED. Empty on a kernel without bridge VLAN filtering.
using PortVlans = std::unordered_map<int, std::vector<BridgeVlan>>;
Result<PortVlans> readPortVlans(nl_sock* sock);

/// One static FDB entry as the kernel holds it.
struct FdbRecord {
  int port = 0;  ///< ifindex of the port
  std::string mac;
  std::optional<std::uint16_t> vlan;
};
/// Static entries (NUD_NOARP) of the bridges' forwarding databases: one
/// RTM_GETNEIGH dump of family AF_BRIDGE. Never the local (permanent) entries,
/// nor the devices' own (NTF_SELF) ones.
Result<std::vector<FdbRecord>> readStaticFdb(nl_sock* sock);

/// One link by name (RTM_GETLINK, not a dump); nullopt when there is none.
/// For apply-time checks that must see the kernel as it is now.
Result<std::optional<Link>> readLink(nl_sock* sock, const std::string& name);

}  // namespace hostform::netlink
