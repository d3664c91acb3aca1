#pragma once
/// The VxlanInterface kind: a VXLAN tunnel endpoint, unicast to one remote or
/// multicast to a group through a device (schemas/vxlan-interface.schema.json).
/// Served by providers/netlink.

#include <cstdint>
#include <optional>
#include <string>

#include "reconciler/kind.h"
#include "reconciler/kinds/bridge.h"  // AdminState

namespace hostform {

struct VxlanInterfaceSpec {
  AdminState state = AdminState::Up;
  std::uint32_t vni = 0;                 ///< 1–16777215
  std::optional<std::string> local;      ///< source address; canonical
  std::optional<std::string> remote;     ///< unicast peer; exclusive with group
  std::optional<std::string> group;      ///< multicast group; needs device
  std::optional<std::string> device;     ///< the interface the tunnel's packets go out on
  std::uint32_t dstport = 4789;          ///< IANA's port (the kernel's own default is 8472 through ip)
  bool learning = true;                  ///< learn remote MACs from received packets
  std::optional<std::uint32_t> mtu;      ///< unset: the kernel's, not compared
  bool operator==(const VxlanInterfaceSpec&) const = default;
};

/// Its module (reconciler/kind.h): remote xor group, a group is multicast and
/// needs a device, a remote is unicast, local and remote/group of one family.
extern const KindOf<VxlanInterfaceSpec> kVxlanInterfaceKind;

namespace kinds {
inline constexpr Kind VxlanInterface{&kVxlanInterfaceKind};
}

}  // namespace hostform
