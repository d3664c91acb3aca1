#pragma once
/// The Bridge kind: a Linux bridge, its ports, addresses and STP settings
/// (schemas/bridge.schema.json). Served by providers/netlink.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/kind.h"

namespace hostform {

enum class AdminState { Up, Down };
HOSTFORM_DECLARE_ENUM_NAMES(AdminState)

struct StpSpec {
  bool enabled = false;
  std::uint32_t priority = 32768;
  Millis forwardDelay{15'000};
  Millis helloTime{2'000};
  Millis maxAge{20'000};
  bool operator==(const StpSpec&) const = default;
};

/// One entry of a port's VLAN list: a single VLAN (first == last) or a range.
struct BridgeVlan {
  std::uint16_t first = 1;
  std::uint16_t last = 1;
  bool pvid = false;      ///< untagged frames entering the port join this VLAN (a single id only)
  bool untagged = false;  ///< frames of this VLAN leave the port untagged
  bool operator==(const BridgeVlan&) const = default;
  auto operator<=>(const BridgeVlan&) const = default;
};

/// A port's own settings (IFLA_BRPORT_*). Unset: the kernel's value is kept
/// and not compared, as an unset mtu is.
struct BridgePortOptions {
  std::optional<std::uint32_t> cost;      ///< STP path cost, 1-65535
  std::optional<std::uint32_t> priority;  ///< STP port priority, 0-63
  std::optional<bool> hairpin, isolated, learning;
  std::optional<std::vector<BridgeVlan>> vlans;  ///< only with vlanFiltering; sorted by first
  bool empty() const { return !cost && !priority && !hairpin && !isolated && !learning && !vlans; }
  bool operator==(const BridgePortOptions&) const = default;
};

/// A static FDB entry (NUD_NOARP, held by the bridge for one of its ports).
struct FdbEntry {
  std::string mac;  ///< lower case
  std::string port;
  std::optional<std::uint16_t> vlan;  ///< only with vlanFiltering
  bool operator==(const FdbEntry&) const = default;
  auto operator<=>(const FdbEntry&) const = default;
};

struct BridgeSpec {
  AdminState state = AdminState::Up;
  std::optional<std::uint32_t> mtu;          ///< unset: the kernel's default, not compared
  std::optional<std::string> macAddress;     ///< lower case; unset: kernel chosen, not compared
  StpSpec stp;
  bool vlanFiltering = false;
  std::uint16_t defaultPvid = 1;             ///< only with vlanFiltering
  std::vector<std::string> ports;            ///< authoritative; names in declared order
  /// Options of the ports written as objects, by port name; a port without
  /// options has no entry (export writes it as a plain string).
  std::map<std::string, BridgePortOptions> portOptions;
  std::vector<std::string> addresses;        ///< CIDR, authoritative for global scope
  /// Static FDB entries, sorted. Unset: static entries are not managed;
  /// set (even empty): authoritative for static entries on the bridge's ports.
  std::optional<std::vector<FdbEntry>> fdb;
  bool operator==(const BridgeSpec&) const = default;
};

/// Its module (reconciler/kind.h): STP timers within the kernel's limits
/// (net/bridge/br_stp.c), so a plan never promises what the kernel refuses.
extern const KindOf<BridgeSpec> kBridgeKind;

/// "10", "20-30", "10 pvid untagged": one VLAN entry as plans show it.
std::string showVlan(const BridgeVlan& v);
/// "[10 pvid untagged, 20-30]".
std::string showVlans(const std::vector<BridgeVlan>& vlans);
/// "52:54:00:00:00:01 on eth1 vlan 10".
std::string showFdb(const FdbEntry& e);

namespace kinds {
inline constexpr Kind Bridge{&kBridgeKind};
}

}  // namespace hostform
