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

  /// Members, carried out in this order: port fixes, releases, enslavements,
  /// the bridge's MTU set again, address removals, address additions.
  std::vector<PortFix> portFixes;
  std::vector<std::string> release;  ///< live ports no longer declared
  std::vector<std::string> enslave;  ///< declared ports not yet on the bridge
  /// The declared MTU, sent again when ports change: enslaving lowers a
  /// bridge's MTU the user did not set, and the kernel counts an MTU given
  /// at creation as not set.
  std::optional<std::uint32_t> mtuAfterPorts;
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
/// kernel would remove them (`ipv6KeptWhenDown` false).
struct PlanOptions {
  /// net.ipv6.conf.{all,<bridge>}.keep_addr_on_down: without it the kernel
  /// flushes an interface's IPv6 addresses when it goes down.
  bool ipv6KeptWhenDown = true;
};
Diff planBridge(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
                const PlanOptions& options = {});

}  // namespace hostform::netlink
