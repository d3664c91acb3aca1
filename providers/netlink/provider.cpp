#include "providers/netlink/provider.h"

#include <algorithm>
#include <any>
#include <map>
#include <exception>
#include <fstream>
#include <optional>

#include "providers/netlink/apply.h"
#include "providers/netlink/events.h"
#include "providers/netlink/links.h"
#include "providers/netlink/links_apply.h"
#include "providers/netlink/observe.h"
#include "providers/netlink/plan.h"
#include "providers/netlink/session.h"
#include "providers/netlink/status.h"
#include "reconciler/module.h"

namespace hostform::netlink {

Result<Observation> NetlinkProvider::observe() {
  try {
    auto sock = connectRoute();
    if (!sock) return hostform::unexpected(sock.error());
    auto state = readHostState(sock->get());
    if (!state) return hostform::unexpected(state.error());
    auto snapshot = std::make_shared<const NetlinkSnapshot>(std::move(*state));
    auto objects = observedBridges(snapshot->host);
    for (Observed& o : observedLinks(snapshot->host)) objects.push_back(std::move(o));
    return Observation{std::move(objects), snapshot};
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

const Result<PortVlans>& NetlinkSnapshot::vlans() const {
  std::lock_guard lock(mutex_);
  if (!vlans_) {
    auto sock = connectRoute();
    if (sock) vlans_.emplace(readPortVlans(sock->get()));
    else vlans_.emplace(hostform::unexpected(sock.error()));
  }
  return *vlans_;
}

const Result<std::vector<FdbRecord>>& NetlinkSnapshot::fdb() const {
  std::lock_guard lock(mutex_);
  if (!fdb_) {
    auto sock = connectRoute();
    if (sock) fdb_.emplace(readStaticFdb(sock->get()));
    else fdb_.emplace(hostform::unexpected(sock.error()));
  }
  return *fdb_;
}

Support NetlinkSnapshot::vlanFiltering() const {
  std::lock_guard lock(mutex_);
  if (!vlanFiltering_) {
    std::optional<bool> seen;
    for (const Link& l : host.links)
      if (l.bridge) {
        seen = l.bridge->defaultPvid.has_value();
        break;
      }
    if (!seen) seen = probeVlanFiltering();
    vlanFiltering_ = !seen ? Support::Unknown : *seen ? Support::Yes : Support::No;
  }
  return *vlanFiltering_;
}

Diff NetlinkProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx,
                           const Snapshot& host) {
  const HostState& state = static_cast<const NetlinkSnapshot&>(host).host;
  const Kind kind = desired.kind();
  if (kind == kinds::Bond || kind == kinds::VlanInterface || kind == kinds::VxlanInterface) {
    // Read once per plan: a few stat() and reads of modules lists.
    const KernelFeatures kernel = *ctx.memo<KernelFeatures>("netlink.kernel", probeKernel);
    if (kind == kinds::Bond) return planBond(desired, live, state, ctx, kernel);
    if (kind == kinds::VlanInterface) return planVlan(desired, live, state, ctx, kernel);
    return planVxlan(desired, live, state, ctx, kernel);
  }
  PlanOptions options;
  // Read only when it matters: a bridge declared down with addresses.
  const auto& spec = desired.as<BridgeSpec>();
  if (spec.state == AdminState::Down && !spec.addresses.empty())
    options.ipv6KeptWhenDown = ipv6KeptWhenDown(desired.id.name);
  const auto& snapshot = static_cast<const NetlinkSnapshot&>(host);
  // Read only when this bridge needs them: a plan of plain bridges stays at observe()'s two dumps.
  if (spec.vlanFiltering) options.vlanFiltering = snapshot.vlanFiltering();
  const bool vlans = std::any_of(spec.portOptions.begin(), spec.portOptions.end(),
                                 [](const auto& p) { return p.second.vlans.has_value(); });
  if (vlans && options.vlanFiltering == Support::Yes) {
    if (const auto& v = snapshot.vlans()) options.vlans = &*v;
    else options.readError = v.error().message;
  }
  if (spec.fdb) {
    if (const auto& f = snapshot.fdb()) options.fdb = &*f;
    else options.readError = f.error().message;
  }
  Diff diff = planBridge(desired, live, snapshot.host, ctx, options);
  checkNameUnique(desired, ctx, diff);
  return diff;
}

/// An action on a Bond, VlanInterface or VxlanInterface (links_apply.h).
Result<void> NetlinkProvider::applyLink(nl_sock* sock, const Action& action, const ApplyContext& ctx) {
  const Mark mark = action.adopt ? Mark::Write : Mark::Keep;
  const bool bond = action.id.kind == kinds::Bond;
  const auto* bondDelta = std::any_cast<BondDelta>(&action.delta);
  const auto* tunnelDelta = std::any_cast<TunnelDelta>(&action.delta);
  switch (action.op) {
    case Op::Create:
      if (!action.desired) break;
      if (bond && bondDelta) return createBond(sock, *action.desired, *bondDelta, ctx.owner);
      if (!bond && tunnelDelta) return createTunnel(sock, *action.desired, *tunnelDelta, ctx.owner);
      break;
    case Op::Update:
      if (!action.desired) break;
      if (bond && bondDelta) return updateBond(sock, *action.desired, *bondDelta, mark, ctx.owner);
      if (!bond && tunnelDelta) return updateTunnel(sock, *action.desired, *tunnelDelta, mark, ctx.owner);
      break;
    case Op::Delete:
      if (bond) return deleteBond(sock, action.id.name);
      return deleteLink(sock, action.id.name,
                        action.id.kind == kinds::VlanInterface ? "VLAN interface" : "VXLAN interface");
    case Op::Replace:
    case Op::Orphan:
      return fail("cannot " + std::string(toString(action.op)) + " " + action.id.str() +
                  ": the netlink provider is never asked to.");
  }
  return fail("cannot " + std::string(toString(action.op)) + " " + action.id.str() + ": the plan lacks its state.");
}

Result<void> NetlinkProvider::apply(const Action& action, const ApplyContext& ctx) {
  try {
    auto sock = connectRoute();
    if (!sock) return hostform::unexpected(sock.error());
    if (action.id.kind != kinds::Bridge) return applyLink(sock->get(), action, ctx);
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

namespace {

/// The cost the kernel gives a port from its link speed (net/bridge/br_if.c
/// port_cost): export leaves such a cost out, as one the user did not set.
bool kernelCost(std::uint32_t cost) { return cost == 1 || cost == 2 || cost == 3 || cost == 4 || cost == 19 || cost == 100; }

/// A port's options as export writes them: only those away from the kernel's defaults.
BridgePortOptions exported(BridgePortOptions o) {
  if (o.cost && kernelCost(*o.cost)) o.cost.reset();
  if (o.priority == 32u) o.priority.reset();
  if (o.hairpin == false) o.hairpin.reset();
  if (o.isolated == false) o.isolated.reset();
  if (o.learning == true) o.learning.reset();
  return o;
}

}  // namespace

Result<std::vector<Resource>> NetlinkProvider::exportResources() {
  auto seen = observe();
  if (!seen) return hostform::unexpected(seen.error());
  const auto& snapshot = static_cast<const NetlinkSnapshot&>(*seen->snapshot);
  const auto& vlans = snapshot.vlans();
  if (!vlans) return hostform::unexpected(vlans.error());
  const auto& fdb = snapshot.fdb();
  if (!fdb) return hostform::unexpected(fdb.error());
  std::vector<Resource> out;
  for (Observed& o : seen->objects) {
    if (o.resource.kind() != kinds::Bridge) {  // a bond's or a tunnel's observe() is already all export writes
      out.push_back(std::move(o.resource));
      continue;
    }
    auto& spec = o.resource.as<BridgeSpec>();
    const Link* bridge = snapshot.host.byName(o.resource.id.name);
    std::map<std::string, BridgePortOptions> options;
    for (const std::string& port : spec.ports) {
      auto it = spec.portOptions.find(port);
      BridgePortOptions p = it == spec.portOptions.end() ? BridgePortOptions{} : exported(it->second);
      const Link* link = snapshot.host.byName(port);
      if (spec.vlanFiltering && link)
        if (auto v = vlans->find(link->index); v != vlans->end()) p.vlans = v->second;
      if (!p.empty()) options.emplace(port, std::move(p));
    }
    spec.portOptions = std::move(options);
    auto entries = staticFdbOf(bridge ? bridge->index : 0, *fdb, snapshot.host, spec.vlanFiltering);
    if (!entries.empty()) spec.fdb = std::move(entries);
    out.push_back(std::move(o.resource));
  }
  return out;
}

std::vector<StatusFact> NetlinkProvider::status(const Resource& desired, const Observed* live, const Snapshot& host) {
  if (!live) return Provider::status(desired, live, host);
  auto links = readLinkStatus();
  if (!links) return {wordFact("state", "unknown"), wordFact("error", links.error().message)};
  auto facts = bridgeStatus(desired.id.name, *links);
  if (desired.kind() == kinds::Bridge) return facts;
  // The same facts of the link; a bond's lower links are its members, the others have none.
  for (auto it = facts.begin(); it != facts.end(); ++it)
    if (it->name == "ports") {
      if (desired.kind() == kinds::Bond) it->name = "members";
      else facts.erase(it);
      break;
    }
  return facts;
}

Result<std::unique_ptr<EventSource>> NetlinkProvider::events(const EventOptions& /*options*/) {
  return openRouteEvents();
}

// The netlink module's provider (its name and kinds are registered by registration.cpp).
std::unique_ptr<Provider> makeNetlinkProvider(const ProviderOptions&) { return std::make_unique<NetlinkProvider>(); }
HOSTFORM_MODULE_ENTRY("netlink", "provider", static_cast<ProviderMaker*>(&makeNetlinkProvider));

}  // namespace hostform::netlink
