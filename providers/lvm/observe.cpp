#include "providers/lvm/observe.h"

#include <memory>
#include <optional>
#include <string_view>

namespace hostform::lvm {

Observation observeFrom(LvmState state) {
  auto snapshot = std::make_shared<const LvmSnapshot>(std::move(state));
  return Observation{toObserved(snapshot->state), snapshot};
}

Result<Observation> observeHost(Commands& commands, std::chrono::milliseconds timeout) {
  // lvm prints the report, then spends up to 30 ms closing its asynchronous
  // I/O context (io_destroy waits for an RCU grace period): the report is
  // parsed in that time, as soon as it is whole. Only a successful exit makes
  // it the answer; a report that was not whole yet is parsed at the end.
  std::optional<Result<LvmState>> early;
  std::size_t earlySize = 0;
  auto out = runChecked(commands, fullReportCommand(), timeout, [&](std::string_view text) {
    const auto last = text.find_last_not_of(" \t\r\n");
    if (last == std::string_view::npos || text[last] != '}' || documentEnd(text) != last + 1) return false;
    auto state = parseFullReport(text);
    if (!state) return false;
    early = std::move(state);
    earlySize = text.size();
    return true;
  });
  if (!out) return hostform::unexpected(out.error());
  auto state = early && earlySize == out->size() ? std::move(*early) : parseFullReport(*out);
  if (!state) return hostform::unexpected(state.error());
  return observeFrom(std::move(*state));
}

}  // namespace hostform::lvm
