#include "providers/lvm/observe.h"

#include <memory>

namespace hostform::lvm {

Observation observeFrom(LvmState state) {
  auto snapshot = std::make_shared<const LvmSnapshot>(std::move(state));
  return Observation{toObserved(snapshot->state), snapshot};
}

Result<Observation> observeHost(Commands& commands, std::chrono::milliseconds timeout) {
  auto out = runChecked(commands, fullReportCommand(), timeout);
  if (!out) return hostform::unexpected(out.error());
  auto state = parseFullReport(*out);
  if (!state) return hostform::unexpected(state.error());
  return observeFrom(std::move(*state));
}

}  // namespace hostform::lvm
