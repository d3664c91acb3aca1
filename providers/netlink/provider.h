#pragma once
/// The netlink provider: the Bridge, Bond, VlanInterface and VxlanInterface
/// kinds, through libnl-3 / libnl-route-3.

#include <memory>

#include "reconciler/kinds/bond.h"
#include "reconciler/kinds/bridge.h"
#include "reconciler/kinds/vlan_interface.h"
#include "reconciler/kinds/vxlan_interface.h"
#include "reconciler/provider.h"

struct nl_sock;

namespace hostform::netlink {

class NetlinkProvider : public Provider {
 public:
  std::string_view name() const override { return "netlink"; }
  std::vector<Kind> kinds() const override {
    return {kinds::Bond, kinds::VlanInterface, kinds::VxlanInterface, kinds::Bridge};
  }
  /// Links live only in the kernel: checkpointed, and re-created at boot.
  bool checkpointed() const override { return true; }

  /// One link dump and one address dump: the bridges, and as the snapshot
  /// every link and address, which plan() checks ports and addresses against.
  Result<Observation> observe() override;
  /// planBridge(), planBond(), planVlan() or planVxlan() against the host as
  /// that observe() saw it, and the kernel's features read now (links.h).
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  /// What observe() sees, with each port's VLANs (of a bridge that filters
  /// VLANs) and the static FDB entries, and per-port options only where they
  /// differ from the kernel's defaults, so a port without any stays a string.
  Result<std::vector<Resource>> exportResources() override;
  /// Opens its own socket: libnl sockets must not be shared between threads.
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  /// "netlink" for every action. The kernel serialises rtnetlink changes on one
  /// lock anyway, so parallel applies gain nothing; run one at a time, a port
  /// moving between two bridges is released and enslaved in a known order.
  std::string serialKey(const Action&) const override { return "netlink"; }
  /// Operational state, carrier and ports with their carrier (status.h), read now.
  std::vector<StatusFact> status(const Resource& desired, const Observed* live, const Snapshot& host) override;
  /// Link, address and static FDB notifications (events.h).
  Result<std::unique_ptr<EventSource>> events(const EventOptions& options) override;

 private:
  Result<void> applyLink(nl_sock* sock, const Action& action, const ApplyContext& ctx);
};

}  // namespace hostform::netlink
