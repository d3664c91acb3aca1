// What the binary knows of the KVM provider without loading it: its name, its
// kinds and its command. Everything else is the kvm module (kvm.so), which
// moduleProvider and moduleCommand open the first time a run needs it, so a
// run that declares no KVM kind never loads libvirt.

#include "reconciler/kinds/snapshot.h"
#include "reconciler/kinds/storage_pool.h"
#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/kinds/volume.h"
#include "reconciler/provider.h"

namespace hostform::kvm {
namespace {

const std::vector<Kind> kKinds = {kinds::StoragePool, kinds::Volume, kinds::VirtualMachine, kinds::Snapshot};

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{"kvm", kKinds, moduleProvider("kvm", "kvm", kKinds)});

HOSTFORM_REGISTER_PROVIDER_COMMAND(ProviderCommand{"console", "attach to a VM's serial console (escape: Ctrl+])",
                                                   "NAME", "the VM's name", moduleCommand("kvm", "console")});

}  // namespace
}  // namespace hostform::kvm
