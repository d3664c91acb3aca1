#pragma once
/// A declared bridge against the kernel: field changes, and the problems that
/// make a plan impossible (docs/spec.md §4 "Plan is honest"). Pure given the host's
/// state, so every check is unit-tested without a kernel.

#include "providers/netlink/host_state.h"
#include "reconciler/provider.h"

namespace hostform::netlink {

/// Compares `desired` with `live` (null: the bridge does not exist) after
/// normalising both the way the kernel reports values: timers to
/// centiseconds (one below the request still matches: jiffies truncate),
/// MACs lower case, addresses canonical, ports and addresses as sets. Unset
/// `mtu` and `macAddress` are not compared.
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
