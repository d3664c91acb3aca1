// What the binary knows of the netlink provider without loading it: its name
// and its kinds. Its code and libnl are the netlink module (netlink.so), which
// moduleProvider opens the first time a run needs it.

#include "reconciler/kinds/bond.h"
#include "reconciler/kinds/bridge.h"
#include "reconciler/kinds/vlan_interface.h"
#include "reconciler/kinds/vxlan_interface.h"
#include "reconciler/provider.h"

namespace hostform::netlink {
namespace {

const std::vector<Kind> kKinds = {kinds::Bond, kinds::VlanInterface, kinds::VxlanInterface, kinds::Bridge};

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{"netlink", kKinds, moduleProvider("netlink", "netlink", kKinds)});

}  // namespace
}  // namespace hostform::netlink
