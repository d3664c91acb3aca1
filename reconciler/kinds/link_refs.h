#pragma once
/// Soft references by interface name (docs/spec.md §1 "References and order"):
/// a bridge port, a bond member, a VLAN's parent and a VXLAN's device name an
/// interface that may be a declared Bond, VlanInterface or VxlanInterface, or
/// a NIC hostform does not manage.

#include <string>
#include <vector>

#include "reconciler/model.h"

namespace hostform {

/// A soft reference from `field` to each of Bond/`name`, VlanInterface/`name`
/// and VxlanInterface/`name`: whichever is declared (or observed) orders and
/// protects; none is no error. `withBridge`: Bridge/`name` too (a VLAN on a
/// bridge, a VXLAN whose underlay is a bridge's address).
void referToLinks(const std::string& name, const std::string& field, std::vector<Reference>& out,
                  bool withBridge = false);

}  // namespace hostform
