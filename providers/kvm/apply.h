#pragma once
#include <libvirt/libvirt.h>

#include <filesystem>

#include "providers/kvm/state.h"
#include "reconciler/provider.h"

namespace hostform::kvm {

struct ApplyInputs {
  virConnectPtr conn;
  const KvmState& state;  ///< as observed for the plan: the MACs in use when apply generates one
  std::filesystem::path stateDir = {};  ///< the provider's: image cache and volume source records (image.h), cloud-init seeds
};

Result<void> applyPool(const Action& action, const ApplyContext& ctx, ApplyInputs in);
Result<void> applyVolume(const Action& action, const ApplyContext& ctx, ApplyInputs in);
Result<void> applyDomain(const Action& action, const ApplyContext& ctx, ApplyInputs in);

}  // namespace hostform::kvm
