#include "reconciler/kinds/link_refs.h"

#include "reconciler/kinds/bond.h"
#include "reconciler/kinds/vlan_interface.h"
#include "reconciler/kinds/vxlan_interface.h"

namespace hostform {

void referToLinks(const std::string& name, const std::string& field, std::vector<Reference>& out,
                  bool withBridge) {
  for (Kind kind : {kinds::Bond, kinds::VlanInterface, kinds::VxlanInterface})
    out.push_back({.target = ResourceId{kind, {}, name}, .field = field, .soft = true});
  if (withBridge) out.push_back({.target = ResourceId{kinds::Bridge, {}, name}, .field = field, .soft = true});
}

}  // namespace hostform
