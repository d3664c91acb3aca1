#pragma once
/// The VlanInterface kind: an 802.1Q or 802.1ad VLAN device on a parent
/// interface (schemas/vlan-interface.schema.json). Served by providers/netlink.

#include <cstdint>
#include <optional>
#include <string>

#include "reconciler/kind.h"
#include "reconciler/kinds/bridge.h"  // AdminState

namespace hostform {

/// The tag's protocol: ETH_P_8021Q (0x8100) or ETH_P_8021AD (0x88a8, QinQ's outer tag).
enum class VlanProtocol { Dot1Q, Dot1AD };
HOSTFORM_DECLARE_ENUM_NAMES(VlanProtocol)

struct VlanInterfaceSpec {
  AdminState state = AdminState::Up;
  std::string parent;                     ///< the interface the VLAN's frames go out on
  std::uint32_t id = 0;                   ///< 1–4094
  VlanProtocol protocol = VlanProtocol::Dot1Q;
  std::optional<std::uint32_t> mtu;       ///< unset: the kernel's (the parent's), not compared
  bool operator==(const VlanInterfaceSpec&) const = default;
};

/// Its module (reconciler/kind.h): the parent is not the VLAN itself.
extern const KindOf<VlanInterfaceSpec> kVlanInterfaceKind;

namespace kinds {
inline constexpr Kind VlanInterface{&kVlanInterfaceKind};
}

}  // namespace hostform
