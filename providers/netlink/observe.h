#pragma once
/// The kernel's links as the manifest model: every bridge becomes an Observed
/// Bridge; other links are context (ports, libvirt taps). Pure, so it is
/// unit-tested without a kernel.

#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "providers/netlink/host_state.h"
#include "providers/netlink/plan.h"
#include "reconciler/plan.h"

namespace hostform::netlink {

/// A tap device that a libvirt domain owns, and which is therefore never a
/// declared port nor drift. libvirt names the host side of a guest NIC
/// `vnet<N>` and gives it the guest's MAC with the first octet set to 0xfe
/// (so the bridge never adopts it as its own address). A tun/tap link (kind
/// "tun", type tap) with either sign is treated as libvirt's.
bool isLibvirtTap(const Link& link);

/// The options the kernel reports for a bridge port (every one it has).
BridgePortOptions portOptionsOf(const Link& port);

/// The static FDB entries on the ports of the bridge `bridgeIndex`, sorted.
/// Without `perVlan` (a bridge that does not filter VLANs) their VLAN is
/// dropped and duplicates go: a kernel with bridge VLAN support copies an
/// entry added without a VLAN to every VLAN of the port (vlan 1 at least),
/// and deletes the copies with it.
std::vector<FdbEntry> staticFdbOf(int bridgeIndex, const std::vector<FdbRecord>& records, const HostState& host,
                                  bool perVlan);

/// One bridge as a Bridge resource: admin state, MTU, MAC, STP and timers
/// (centiseconds to milliseconds), ports other than libvirt taps (by name,
/// sorted) with every option the kernel reports for them (their VLANs and
/// the static FDB are read only when needed: NetlinkSnapshot), vlanFiltering
/// and defaultPvid, global permanent addresses (canonical, sorted); the owner read
/// from its ifalias mark, empty when unmarked.
Observed toObserved(const Link& bridge, const HostState& host);

/// Every bridge of the namespace, in name order.
std::vector<Observed> observedBridges(const HostState& host);

/// What one observe() read besides the bridges: every link and address of the
/// namespace, which plan checks ports and addresses against.
///
/// What a plan needs only for some bridges is read on first need, once per
/// snapshot: the ports' VLANs and the static FDB (one dump each, when a
/// declared bridge has per-port vlans or an fdb), and whether the kernel can
/// filter VLANs (when a declared bridge asks for it). A plan of bridges
/// without these reads nothing more than the two dumps of observe().
struct NetlinkSnapshot final : Snapshot {
  explicit NetlinkSnapshot(HostState s) : host(std::move(s)) {}
  HostState host;

  const Result<PortVlans>& vlans() const;
  const Result<std::vector<FdbRecord>>& fdb() const;
  /// From the bridges of `host` (IFLA_BR_VLAN_DEFAULT_PVID is reported exactly
  /// when the kernel has the feature), else the probe of apply.h.
  Support vlanFiltering() const;

 private:
  mutable std::mutex mutex_;
  mutable std::optional<Result<PortVlans>> vlans_;
  mutable std::optional<Result<std::vector<FdbRecord>>> fdb_;
  mutable std::optional<Support> vlanFiltering_;
};

}  // namespace hostform::netlink
