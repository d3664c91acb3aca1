#pragma once
/// `hostform status` of a Bridge: its operational state and carrier, and its
/// ports with each one's carrier. Read now from the kernel (one link dump):
/// a plan never needs them, so the snapshot does not hold them.

#include <string>
#include <vector>

#include "reconciler/provider.h"

namespace hostform::netlink {

/// What status shows of one link.
struct LinkStatus {
  std::string name;
  int index = 0;
  int master = 0;         ///< ifindex of its bridge; 0: none
  std::string operState;  ///< IF_OPER_* as libnl spells it: "up", "down", "lowerlayerdown", "unknown"…
  bool carrier = false;
};

/// The facts of bridge `name` among `links`: state (operational), carrier,
/// ports (sorted by name). A bridge not among them: state absent.
std::vector<StatusFact> bridgeStatus(const std::string& name, const std::vector<LinkStatus>& links);

/// Every link of the namespace with its operational state and carrier.
Result<std::vector<LinkStatus>> readLinkStatus();

}  // namespace hostform::netlink
