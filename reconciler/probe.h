#pragma once
/// `apply --probe [IFACE/]ADDRESS` (docs/spec.md §2 apply): after a network
/// change, is a neighbour (usually the gateway) still reachable? ICMP echo
/// (ping) from a raw socket, bound to IFACE with SO_BINDTODEVICE when given.

#include <chrono>
#include <string>

#include "reconciler/result.h"

namespace hostform {

struct ProbeTarget {
  std::string interface;  ///< empty: whatever the routing table picks
  std::string address;    ///< as given, IPv4 or IPv6
  bool ipv6 = false;

  /// "203.0.113.1 from br0", as messages show it.
  std::string shown() const;
};

/// "203.0.113.1", "br0/203.0.113.1", "fd00::1", "br0/fd00::1" (an interface
/// name never holds '/', and an address never does either). Errors are whole
/// sentences naming the value.
Result<ProbeTarget> parseProbe(const std::string& text);

/// Sends an echo request every 200ms until one is answered or `timeout` has
/// passed: the time the first answer took, or an error saying why there was none.
Result<std::chrono::milliseconds> probe(const ProbeTarget& target, std::chrono::milliseconds timeout);

}  // namespace hostform
