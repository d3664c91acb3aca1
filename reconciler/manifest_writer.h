#pragma once
/// The model back to manifests (`hostform export`): fields equal to their
/// default are left out, so an exported file reads like one a person wrote,
/// and loading it gives back the same resource.

#include <string>
#include <vector>

#include "reconciler/model.h"

namespace hostform {

/// One YAML document per resource, separated by "---", in the given order.
std::string writeManifests(const std::vector<Resource>& resources);

}  // namespace hostform
