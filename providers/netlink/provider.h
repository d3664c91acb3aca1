#pragma once
/// The netlink provider: the Bridge kind, through libnl-3 / libnl-route-3.

#include <memory>
#include <mutex>

#include "providers/netlink/host_state.h"
#include "reconciler/provider.h"

namespace hostform::netlink {

class NetlinkProvider : public Provider {
 public:
  explicit NetlinkProvider(ProviderOptions options);

  std::string_view name() const override { return "netlink"; }
  std::vector<Kind> kinds() const override { return {Kind::Bridge}; }

  /// One link dump and one address dump; keeps them as the context plan()
  /// checks ports and addresses against.
  Result<std::vector<Observed>> observe() override;
  /// diffBridge() against the host as the last observe() saw it.
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx) override;
  /// Opens its own socket: libnl sockets must not be shared between threads.
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  /// "netlink" for every action. The kernel serialises rtnetlink changes on one
  /// lock anyway, so parallel applies gain nothing; run one at a time, a port
  /// moving between two bridges is released and enslaved in a known order.
  std::string serialKey(const Action&) const override { return "netlink"; }

 private:
  std::shared_ptr<const HostState> host();

  ProviderOptions options_;
  std::mutex mutex_;
  std::shared_ptr<const HostState> host_;  ///< from the last observe(); guarded by mutex_
};

}  // namespace hostform::netlink
