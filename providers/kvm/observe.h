#pragma once
#include <libvirt/libvirt.h>

#include "providers/kvm/state.h"

namespace hostform::kvm {

/// Reads every pool, volume and domain: the bulk list calls
/// (virConnectListAllStoragePools, virStoragePoolListAllVolumes,
/// virConnectListAllDomains, filtered lists for active and autostart) plus one
/// XML fetch per object.
Result<KvmState> readState(virConnectPtr conn);

}  // namespace hostform::kvm
