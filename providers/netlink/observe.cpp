#include "providers/netlink/observe.h"

#include <algorithm>
#include <cctype>

#include "providers/netlink/normalize.h"

namespace hostform::netlink {

namespace {

bool isVnetName(const std::string& name) {
  if (!name.starts_with("vnet") || name.size() == 4) return false;
  return std::all_of(name.begin() + 4, name.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

bool isLibvirtTap(const Link& link) {
  if (!link.tun || !link.tun->tap) return false;
  return isVnetName(link.name) || link.mac.starts_with("fe:");
}

BridgePortOptions portOptionsOf(const Link& port) {
  BridgePortOptions o;
  if (!port.port) return o;
  o.cost = port.port->cost;
  o.priority = port.port->priority;
  o.hairpin = port.port->hairpin;
  o.isolated = port.port->isolated;
  o.learning = port.port->learning;
  return o;
}

std::vector<FdbEntry> staticFdbOf(int bridgeIndex, const std::vector<FdbRecord>& records, const HostState& host,
                                  bool perVlan) {
  std::vector<FdbEntry> out;
  for (const FdbRecord& r : records) {
    const Link* port = host.byIndex(r.port);
    if (bridgeIndex && port && port->master == bridgeIndex)
      out.push_back({r.mac, port->name, perVlan ? r.vlan : std::nullopt});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Observed toObserved(const Link& bridge, const HostState& host) {
  BridgeSpec spec;
  spec.state = bridge.up ? AdminState::Up : AdminState::Down;
  spec.mtu = bridge.mtu;
  if (!bridge.mac.empty()) spec.macAddress = bridge.mac;
  const BridgeAttrs attrs = bridge.bridge.value_or(BridgeAttrs{});
  spec.stp.enabled = attrs.stpEnabled;
  spec.stp.priority = attrs.priority;
  spec.stp.forwardDelay = fromCentis(attrs.forwardDelayCs);
  spec.stp.helloTime = fromCentis(attrs.helloTimeCs);
  spec.stp.maxAge = fromCentis(attrs.maxAgeCs);
  spec.vlanFiltering = attrs.vlanFiltering;
  spec.defaultPvid = attrs.defaultPvid.value_or(1);
  for (const Link& l : host.links)
    if (l.master == bridge.index && !isLibvirtTap(l)) {
      spec.ports.push_back(l.name);
      if (auto options = portOptionsOf(l); !options.empty()) spec.portOptions.emplace(l.name, std::move(options));
    }
  std::sort(spec.ports.begin(), spec.ports.end());
  spec.addresses = host.managedAddresses(bridge.index);

  Observed o;
  o.resource.id = identityOf(kinds::Bridge, bridge.name, spec);
  o.resource.spec = std::move(spec);
  o.owner = ownerFromAlias(bridge.alias);
  return o;
}

std::vector<Observed> observedBridges(const HostState& host) {
  std::vector<Observed> out;
  for (const Link& l : host.links)
    if (l.isBridge()) out.push_back(toObserved(l, host));
  std::sort(out.begin(), out.end(),
            [](const Observed& a, const Observed& b) { return a.resource.id < b.resource.id; });
  return out;
}

}  // namespace hostform::netlink
