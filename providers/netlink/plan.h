#pragma once
/// A declared bridge against the kernel: field changes, the problems that
/// make a plan impossible (docs/spec.md §4 "Plan is honest"), and the delta
/// apply carries out. Pure given the host's state, so every check and every
/// delta is unit-tested without a kernel.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "providers/netlink/host_state.h"
#include "reconciler/kinds/bridge.h"
#include "reconciler/provider.h"
#include "reconciler/units.h"

namespace hostform::netlink {

/// The STP attributes (IFLA_BR_*) an update sends, each with its declared value.
struct StpDelta {
  std::optional<bool> enabled;
  std::optional<std::uint32_t> priority;
  std::optional<Millis> forwardDelay, helloTime, maxAge;

  bool any() const { return enabled || priority || forwardDelay || helloTime || maxAge; }
  bool operator==(const StpDelta&) const = default;
};

/// What apply does to one declared port of a bridge declared up, before the
/// bridge takes or keeps it: the plan's `ports[NAME].mtu` and
/// `ports[NAME].state` rows.
struct PortFix {
  std::string name;
  std::optional<std::uint32_t> raiseMtuTo;  ///< the bridge's declared MTU, above the port's
  bool bringUp = false;                     ///< the port is down
  bool operator==(const PortFix&) const = default;
};

/// A declared port's options that differ from the kernel's (all that are set,
/// for a port not yet on the bridge: enslaving resets them), sent in one
/// RTM_SETLINK (AF_BRIDGE, IFLA_PROTINFO) after the port is enslaved.
struct PortOptionsFix {
  std::string name;
  std::optional<std::uint32_t> cost, priority;
  std::optional<bool> hairpin, isolated, learning;
  bool any() const { return cost || priority || hairpin || isolated || learning; }
  bool operator==(const PortOptionsFix&) const = default;
};

/// A port's declared VLANs (canonical, normalize.h compressVlans). Apply reads
/// the port's VLANs at that moment and removes and adds what differs.
struct PortVlansFix {
  std::string name;
  std::vector<BridgeVlan> vlans;
  bool operator==(const PortVlansFix&) const = default;
};

/// Everything apply does to one bridge, decided here (Diff::delta): an Update
/// executes exactly this, a Create makes the bridge from its spec and then
/// executes the members part. Nothing in apply looks at the plan's rows.
struct BridgeDelta {
  /// Link attributes that differ from the live bridge, sent in one
  /// RTM_NEWLINK (Update only; a Create sets every attribute).
  std::optional<AdminState> state;
  std::optional<std::uint32_t> mtu;
  std::optional<std::string> macAddress;
  StpDelta stp;
  std::optional<bool> vlanFiltering;           ///< IFLA_BR_VLAN_FILTERING, before any port's VLANs
  std::optional<std::uint16_t> defaultPvid;    ///< IFLA_BR_VLAN_DEFAULT_PVID

  /// Members, carried out in this order: port fixes, releases, enslavements,
  /// the bridge's MTU set again, port options, port VLANs, FDB removals, FDB
  /// additions, address removals, address additions.
  std::vector<PortFix> portFixes;
  std::vector<std::string> release;  ///< live ports no longer declared
  std::vector<std::string> enslave;  ///< declared ports not yet on the bridge
  /// The declared MTU, sent again when ports change: enslaving lowers a
  /// bridge's MTU the user did not set, and the kernel counts an MTU given
  /// at creation as not set.
  std::optional<std::uint32_t> mtuAfterPorts;
  std::vector<PortOptionsFix> portOptions;
  std::vector<PortVlansFix> portVlans;
  std::vector<FdbEntry> removeFdb;  ///< static entries on the bridge's ports no longer declared
  std::vector<FdbEntry> addFdb;     ///< declared entries missing or on another port (added with NLM_F_REPLACE)
  std::vector<std::string> removeAddresses;  ///< canonical CIDRs
  std::vector<std::string> addAddresses;     ///< canonical CIDRs, after the removals (a prefix change)

  bool operator==(const BridgeDelta&) const = default;
};

/// Compares `desired` with `live` (null: the bridge does not exist) after
/// normalising both the way the kernel reports values: timers to
/// centiseconds (one below the request still matches: jiffies truncate),
/// MACs lower case, addresses canonical, ports and addresses as sets. Unset
/// `mtu` and `macAddress` are not compared. Diff::delta is always a
/// BridgeDelta, empty when nothing is to be done.
///
/// Problems, each naming its field ("spec.ports[1]") with a whole sentence:
/// an interface of the bridge's name that is not a bridge; a port that does
/// not exist, is a bridge, is a libvirt tap, is declared on another bridge too,
/// or is attached to a master these manifests do not declare as a bridge (a
/// port moving between two declared bridges is fine); an address that is
/// link-local, declared on another bridge too, or held by an interface that
/// will not release it; a bridge declared down with IPv6 addresses when the
/// kernel would remove them (`ipv6KeptWhenDown` false); vlanFiltering on a
/// kernel without it (kNoVlanFiltering, at spec.vlanFiltering); a port option
/// the kernel does not report on its bridge ports (an older kernel).
///
/// Per-port options are compared only where set; a port's `vlans` only when
/// given, as sets of VLAN ids with their flags; `fdb` only when given, by
/// (MAC, VLAN), against the static entries on this bridge's ports. A change
/// of defaultPvid sends the declared VLANs of every port again, as the kernel
/// moves ports' pvids with it.
/// Whether the kernel can do something: Unknown when nothing could tell.
enum class Support { Yes, No, Unknown };

struct PlanOptions {
  /// net.ipv6.conf.{all,<bridge>}.keep_addr_on_down: without it the kernel
  /// flushes an interface's IPv6 addresses when it goes down.
  bool ipv6KeptWhenDown = true;
  /// Bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); looked at only when declared.
  Support vlanFiltering = Support::Yes;
  /// The bridge ports' VLANs, read when the bridge declares any; null: not read.
  const PortVlans* vlans = nullptr;
  /// The static FDB entries, read when the bridge declares `fdb`; null: not read.
  const std::vector<FdbRecord>* fdb = nullptr;
  /// Set when reading `vlans` or `fdb` failed: the sentence, a plan problem.
  std::string readError;
};

/// The sentence of a plan that needs bridge VLAN filtering on a kernel without it.
inline constexpr const char* kNoVlanFiltering =
    "This kernel cannot filter VLANs on a bridge (it was built without CONFIG_BRIDGE_VLAN_FILTERING), so "
    "vlanFiltering, defaultPvid, per-port vlans and FDB entries with a vlan cannot be applied on this host.";
inline constexpr const char* kVlanFilteringUnknown =
    "Cannot tell whether this kernel can filter VLANs on a bridge: no bridge exists to look at, and the probe "
    "in a private network namespace needs CAP_SYS_ADMIN; run the plan as root.";
Diff planBridge(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
                const PlanOptions& options = {});

}  // namespace hostform::netlink
