#pragma once
/// The Bond kind: a Linux bonding device, its mode, link monitoring and
/// members (schemas/bond.schema.json). Served by providers/netlink.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/kind.h"
#include "reconciler/kinds/bridge.h"  // AdminState

namespace hostform {

/// The kernel's bonding modes (BOND_MODE_*), in their numbering.
enum class BondMode { BalanceRr, ActiveBackup, BalanceXor, Broadcast, Lacp, BalanceTlb, BalanceAlb };
HOSTFORM_DECLARE_ENUM_NAMES(BondMode)

/// LACPDU rate of 802.3ad (AD_LACP_SLOW/FAST).
enum class LacpRate { Slow, Fast };
HOSTFORM_DECLARE_ENUM_NAMES(LacpRate)

/// BOND_XMIT_POLICY_*, in their numbering.
enum class XmitHashPolicy { Layer2, Layer34, Layer23, Encap23, Encap34, VlanSrcMac };
HOSTFORM_DECLARE_ENUM_NAMES(XmitHashPolicy)

/// Whether a mode uses a transmit hash policy (the kernel accepts one for
/// every mode but uses it only in these).
bool usesXmitHash(BondMode mode);

struct BondSpec {
  AdminState state = AdminState::Up;
  BondMode mode = BondMode::BalanceRr;
  Millis miimon{100};
  std::optional<LacpRate> lacpRate;              ///< only with 802.3ad; unset: not compared
  std::optional<XmitHashPolicy> xmitHashPolicy;  ///< only with a hashing mode; unset: not compared
  std::vector<std::string> members;              ///< authoritative
  std::optional<std::uint32_t> mtu;              ///< unset: the kernel's default, not compared
  std::optional<std::string> macAddress;         ///< lower case; unset: not compared
  bool operator==(const BondSpec&) const = default;
};

/// Its module (reconciler/kind.h): lacpRate only with 802.3ad, xmitHashPolicy
/// only with a mode that hashes, miimon within the kernel's int of ms.
extern const KindOf<BondSpec> kBondKind;

namespace kinds {
inline constexpr Kind Bond{&kBondKind};
}

}  // namespace hostform
