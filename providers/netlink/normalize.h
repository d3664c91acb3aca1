#pragma once
/// Pure conversions between the manifest's values and the kernel's, chosen so
/// a converged bridge compares equal (docs/spec.md §4 "Converged means quiet").

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/kinds/bridge.h"
#include "reconciler/units.h"

namespace hostform::netlink {

/// The kernel takes and reports bridge timers in centiseconds (clock_t at
/// USER_HZ = 100). Milliseconds below a centisecond are dropped, as the kernel would.
std::uint32_t toCentis(Millis ms);
Millis fromCentis(std::uint32_t cs);

/// True when the kernel reporting `liveCs` means `desired` was applied. The
/// kernel stores timers in jiffies: with HZ = 250, 1.23 s becomes 307 jiffies
/// and reads back as 1.22 s. So one centisecond below the requested value is
/// the same setting; anything else is drift.
bool timerMatches(Millis desired, std::uint32_t liveCs);

/// An address with prefix length in canonical form ("fd00::1/64" for
/// "FD00:0::0001/64"); nullopt when it is not one.
struct Cidr {
  int family = 0;  ///< AF_INET or AF_INET6
  std::string ip;  ///< canonical address, no prefix
  int prefix = 0;
  std::string str() const { return ip + "/" + std::to_string(prefix); }
};
std::optional<Cidr> parseCidr(std::string_view text);
/// IPv6 fe80::/10: the kernel gives such addresses link scope, which hostform does not manage.
bool isLinkLocal(const Cidr& cidr);

/// Canonical, sorted, without duplicates; entries that are not addresses are kept as written.
std::vector<std::string> canonicalAddresses(const std::vector<std::string>& cidrs);

/// "aa:bb:cc:dd:ee:ff" from raw bytes.
std::string formatMac(const unsigned char* bytes, std::size_t length);
/// Six bytes from "aa:bb:…"; nullopt when malformed.
std::optional<std::vector<unsigned char>> parseMac(std::string_view text);

/// The ownership mark in a bridge's ifalias (docs/spec.md §4): "hostform:owner=<owner>".
std::string ownerMark(std::string_view owner);
/// The owner named by an ifalias; empty when the alias is not a hostform mark.
std::string ownerFromAlias(std::string_view alias);

/// A port's VLANs one by one: VLAN id -> kVlanPvid | kVlanUntagged.
inline constexpr std::uint8_t kVlanPvid = 1, kVlanUntagged = 2;
using VlanFlags = std::map<std::uint16_t, std::uint8_t>;
VlanFlags expandVlans(const std::vector<BridgeVlan>& vlans);
/// The canonical list: consecutive ids with the same flags as one range, the
/// pvid always on its own, sorted. Two lists meaning the same VLANs compress
/// to equal lists, so the plan compares them with ==.
std::vector<BridgeVlan> compressVlans(const VlanFlags& flags);

/// "[a, b]" as the plan shows lists (hostform::fields()).
std::string showList(const std::vector<std::string>& items);

}  // namespace hostform::netlink
