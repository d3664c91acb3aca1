#pragma once
/// The Bridge kind: a Linux bridge, its ports, addresses and STP settings
/// (schemas/bridge.schema.json). Served by providers/netlink.

#include <cstdint>
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

struct BridgeSpec {
  AdminState state = AdminState::Up;
  std::optional<std::uint32_t> mtu;          ///< unset: the kernel's default, not compared
  std::optional<std::string> macAddress;     ///< lower case; unset: kernel chosen, not compared
  StpSpec stp;
  std::vector<std::string> ports;            ///< authoritative
  std::vector<std::string> addresses;        ///< CIDR, authoritative for global scope
  bool operator==(const BridgeSpec&) const = default;
};

/// Its module (reconciler/kind.h): STP timers within the kernel's limits
/// (net/bridge/br_stp.c), so a plan never promises what the kernel refuses.
extern const KindOf<BridgeSpec> kBridgeKind;

namespace kinds {
inline constexpr Kind Bridge{&kBridgeKind};
}

}  // namespace hostform
