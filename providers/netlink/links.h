#pragma once
/// The link kinds besides Bridge: Bond, VlanInterface and VxlanInterface.
/// Observe (a Link as a resource), plan (field changes, plan-time problems,
/// the delta apply carries out) and what the running kernel can make. Pure
/// given the host's state and the kernel's features, so every check and
/// every delta is unit-tested without a kernel; links_apply.cpp writes them.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "providers/netlink/host_state.h"
#include "reconciler/kinds/bond.h"
#include "reconciler/kinds/vlan_interface.h"
#include "reconciler/kinds/vxlan_interface.h"
#include "reconciler/provider.h"

namespace hostform::netlink {

// ---- what the kernel can make -------------------------------------------------------

/// A driver a link kind needs: whether the running kernel has it, decided
/// without changing anything (no module is loaded to find out).
struct KernelFeatures {
  bool bonding = false;  ///< module bonding
  bool vlan = false;     ///< module 8021q
  bool vxlan = false;    ///< module vxlan
};

/// Whether the kernel has module `module`: loaded or built in (/sys/module/<module>
/// under `root`), or installed for the running kernel `release` (listed in
/// lib/modules/<release>/modules.builtin or modules.dep, which the kernel loads
/// on demand when a link of its kind is made).
bool kernelHasModule(const std::string& module, const std::filesystem::path& root, const std::string& release);
/// The running kernel's features (root "/", release from uname).
KernelFeatures probeKernel();

/// The plan's refusal when the kernel lacks the module of `kind`: an exact sentence.
std::string missingFeature(Kind kind);

// ---- observe ----------------------------------------------------------------------------

/// Every bond, vlan and vxlan link of the namespace as a Bond, VlanInterface or
/// VxlanInterface, with the owner read from its ifalias mark; in id order.
std::vector<Observed> observedLinks(const HostState& host);
Observed bondObserved(const Link& bond, const HostState& host);
Observed vlanObserved(const Link& vlan, const HostState& host);
Observed vxlanObserved(const Link& vxlan, const HostState& host);

// ---- plan ---------------------------------------------------------------------------------

/// Attributes an update (or a create) sends; each set only when it changes.
struct LinkAttrs {
  std::optional<AdminState> state;
  std::optional<std::uint32_t> mtu;
  std::optional<std::string> macAddress;
  bool any() const { return state || mtu || macAddress; }
  bool operator==(const LinkAttrs&) const = default;
};

/// What apply does to one bond.
struct BondDelta {
  LinkAttrs link;
  std::optional<Millis> miimon;
  std::optional<XmitHashPolicy> xmitHashPolicy;
  /// A mode or lacp rate change: the kernel takes them only from a bond that
  /// is down, and a mode only from one without members. Apply takes the bond
  /// down, releases every member, sets them, enslaves the declared members
  /// and brings the bond back to its declared state.
  std::optional<BondMode> mode;
  std::optional<LacpRate> lacpRate;
  std::vector<std::string> release;  ///< live members no longer declared
  std::vector<std::string> enslave;  ///< declared members not yet in the bond (every one after a mode change)
  bool operator==(const BondDelta&) const = default;
};

/// What apply does to one VLAN or VXLAN interface: the attributes an update
/// changes; for a create, the bridge to put it back on after a replace.
struct TunnelDelta {
  LinkAttrs link;
  std::optional<bool> learning;  ///< VXLAN only
  /// A replace deletes the interface, which leaves the bridge it was a port
  /// of: the declared bridge that still lists it takes it back at once.
  std::optional<std::string> reattachTo;
  bool operator==(const TunnelDelta&) const = default;
};

/// Bond against the kernel. Problems: no bonding in the kernel; a name held
/// by another kind of link; a member that does not exist, is the bond, is a
/// bridge or a bond, is a member of another declared bond too, or is attached
/// to a master these manifests do not declare as a bond.
Diff planBond(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
              const KernelFeatures& kernel);
/// VlanInterface against the kernel: parent, id and protocol are Replace;
/// state and mtu Live. Problems: no 8021q; the name held by another kind of
/// link; a parent that does not exist and is not declared; an MTU above the parent's.
Diff planVlan(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
              const KernelFeatures& kernel);
/// VxlanInterface against the kernel: vni, local, remote, group, device and
/// dstport are Replace; state, learning and mtu Live. Problems: no vxlan; the
/// name held by another kind of link; a device that does not exist and is not declared.
Diff planVxlan(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
               const KernelFeatures& kernel);

/// A name declared as two link kinds (Bridge, Bond, VlanInterface,
/// VxlanInterface) is one interface twice: a problem on metadata.name.
void checkNameUnique(const Resource& desired, const PlanContext& ctx, Diff& diff);

}  // namespace hostform::netlink
