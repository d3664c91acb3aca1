#pragma once
/// The kernel's links as the manifest model: every bridge becomes an Observed
/// Bridge; other links are context (ports, libvirt taps). Pure, so it is
/// unit-tested without a kernel.

#include <utility>
#include <vector>

#include "providers/netlink/host_state.h"
#include "reconciler/plan.h"

namespace hostform::netlink {

/// A tap device that a libvirt domain owns, and which is therefore never a
/// declared port nor drift. libvirt names the host side of a guest NIC
/// `vnet<N>` and gives it the guest's MAC with the first octet set to 0xfe
/// (so the bridge never adopts it as its own address). A tun/tap link (kind
/// "tun", type tap) with either sign is treated as libvirt's.
bool isLibvirtTap(const Link& link);

/// One bridge as a Bridge resource: admin state, MTU, MAC, STP and timers
/// (centiseconds to milliseconds), ports other than libvirt taps (by name,
/// sorted), global permanent addresses (canonical, sorted); the owner read
/// from its ifalias mark, empty when unmarked.
Observed toObserved(const Link& bridge, const HostState& host);

/// Every bridge of the namespace, in name order.
std::vector<Observed> observedBridges(const HostState& host);

/// What one observe() read besides the bridges: every link and address of the
/// namespace, which plan checks ports and addresses against.
struct NetlinkSnapshot final : Snapshot {
  explicit NetlinkSnapshot(HostState s) : host(std::move(s)) {}
  HostState host;
};

}  // namespace hostform::netlink
