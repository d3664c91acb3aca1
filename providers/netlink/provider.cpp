#include "providers/netlink/provider.h"

#include <any>
#include <exception>
#include <fstream>
#include <optional>

#include "providers/netlink/apply.h"
#include "providers/netlink/observe.h"
#include "providers/netlink/plan.h"
#include "providers/netlink/session.h"
#include "providers/netlink/status.h"

namespace hostform::netlink {

Result<Observation> NetlinkProvider::observe() {
  try {
    auto sock = connectRoute();
    if (!sock) return hostform::unexpected(sock.error());
    auto state = readHostState(sock->get());
    if (!state) return hostform::unexpected(state.error());
    auto snapshot = std::make_shared<const NetlinkSnapshot>(std::move(*state));
    return Observation{observedBridges(snapshot->host), snapshot};
  } catch (const std::exception& e) {
    return fail(std::string("cannot read the network interfaces: ") + e.what() + ".");
  }
}

namespace {

/// A sysctl of net.ipv6.conf.<device>; nullopt when there is no such file.
std::optional<int> ipv6Conf(const std::string& device, const char* key) {
  std::ifstream in("/proc/sys/net/ipv6/conf/" + device + "/" + key);
  int value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

/// Whether the kernel keeps the bridge's IPv6 addresses when it goes down: the
/// "all" setting, else the device's own, else "default" (what a new device gets).
bool ipv6KeptWhenDown(const std::string& bridge) {
  if (ipv6Conf("all", "keep_addr_on_down").value_or(0) > 0) return true;
  auto own = ipv6Conf(bridge, "keep_addr_on_down");
  if (!own) own = ipv6Conf("default", "keep_addr_on_down");
  return own.value_or(0) > 0;
}

}  // namespace

Diff NetlinkProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx,
                           const Snapshot& host) {
  PlanOptions options;
  // Read only when it matters: a bridge declared down with addresses.
  const auto& spec = desired.as<BridgeSpec>();
  if (spec.state == AdminState::Down && !spec.addresses.empty())
    options.ipv6KeptWhenDown = ipv6KeptWhenDown(desired.id.name);
  return planBridge(desired, live, static_cast<const NetlinkSnapshot&>(host).host, ctx, options);
}

Result<void> NetlinkProvider::apply(const Action& action, const ApplyContext& ctx) {
  try {
    auto sock = connectRoute();
    if (!sock) return hostform::unexpected(sock.error());
    // What plan() decided; apply never reads the plan's rows (action.changes).
    const auto* delta = std::any_cast<BridgeDelta>(&action.delta);
    switch (action.op) {
      case Op::Create:
        if (!action.desired || !delta) break;
        return createBridge(sock->get(), *action.desired, *delta, ctx.owner);
      case Op::Update:
        if (!delta) break;
        return updateBridge(sock->get(), action.id.name, *delta, action.adopt ? Mark::Write : Mark::Keep,
                            ctx.owner);
      case Op::Delete:
        return deleteBridge(sock->get(), action.id.name);
      case Op::Replace:  // the engine runs a replace as a delete and a create
      case Op::Orphan:
        return fail("cannot " + std::string(toString(action.op)) + " " + action.id.str() +
                    ": the netlink provider is never asked to.");
    }
    return fail("cannot " + std::string(toString(action.op)) + " " + action.id.str() + ": the plan lacks its state.");
  } catch (const std::exception& e) {
    return fail("cannot " + std::string(toString(action.op)) + " " + action.id.str() + ": " + e.what() + ".");
  }
}

std::vector<StatusFact> NetlinkProvider::status(const Resource& desired, const Observed* live, const Snapshot& host) {
  if (!live) return Provider::status(desired, live, host);
  auto links = readLinkStatus();
  if (!links) return {wordFact("state", "unknown"), wordFact("error", links.error().message)};
  return bridgeStatus(desired.id.name, *links);
}

HOSTFORM_REGISTER_PROVIDER(ProviderFactory{
    "netlink", {kinds::Bridge}, [](const ProviderOptions&) { return std::make_unique<NetlinkProvider>(); }});

}  // namespace hostform::netlink
