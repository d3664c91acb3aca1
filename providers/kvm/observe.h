#pragma once
#include <libvirt/libvirt.h>

#include "providers/kvm/state.h"

namespace hostform::kvm {

/// Reads every pool, volume and domain: the bulk list calls
/// (virConnectListAllStoragePools, virStoragePoolListAllVolumes,
/// virConnectListAllDomains, filtered lists for active and autostart) plus one
/// XML fetch per object.
/// Every pool, volume and domain. `local`: libvirt runs on this host, so the
/// directories of dir and netfs pools are looked at, and a pool whose
/// directory holds a file libvirt does not list is refreshed first.
Result<KvmState> readState(virConnectPtr conn, bool local = false);

/// Each seeded domain's user data (DomainInfo::seedUserData), read back from
/// its seed volume. Only export needs it: plans compare the digests kept in
/// the domain's metadata, so observe does not download the seeds.
void readSeeds(virConnectPtr conn, KvmState& state);

}  // namespace hostform::kvm
