#pragma once
/// `hostform status` of pools, volumes and VMs. Pools and volumes come from
/// the snapshot; a VM's state, uptime and addresses are read now, since a
/// plan never needs them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "providers/kvm/session.h"
#include "providers/kvm/state.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

/// state (active | inactive), capacity, available.
std::vector<StatusFact> poolStatus(const PoolInfo& pool);
/// state present, allocation, capacity.
std::vector<StatusFact> volumeStatus(const VolumeInfo& volume);

/// One address of a guest and where it was learnt.
struct GuestAddress {
  std::string address;  ///< without a prefix length
  std::string mac;      ///< the NIC's, lower case; may be empty (agent without hwaddr)
  std::string source;   ///< "agent" | "neighbour"
};
/// The "addresses" fact: "10.0.0.5 (agent), …" or "none"; JSON [{address, mac, source}].
StatusFact addressesFact(const std::vector<GuestAddress>& addresses);

/// virsh's word for a domain state: running, paused, shut off, crashed…
std::string_view stateWord(int virDomainState);

/// state (running | paused | shut off | …), then, while it runs: uptime
/// (when `local`: from the mtime of libvirt's pid file of the domain) and
/// addresses (from the guest agent when it answers, else, when `local`, from
/// the host's neighbour table for the VM's MACs; never libvirt's ARP source).
std::vector<StatusFact> domainStatus(virConnectPtr conn, const std::string& uri, bool local, const DomainInfo& domain);

}  // namespace hostform::kvm
