#include "providers/netlink/plan.h"

#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "providers/netlink/normalize.h"
#include "providers/netlink/observe.h"
#include "reconciler/kinds/bond.h"
#include "reconciler/kinds/vlan_interface.h"
#include "reconciler/kinds/vxlan_interface.h"

namespace hostform::netlink {

namespace {

std::vector<std::string> sortedUnique(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

/// The address part of a CIDR in canonical form (IPv6 parsed; IPv4 is
/// canonical as the schema admits it).
std::string canonicalIp(const std::string& cidr) {
  const std::string ip = cidr.substr(0, cidr.find('/'));
  if (ip.find(':') == std::string::npos) return ip;
  auto parsed = parseCidr(cidr);
  return parsed ? parsed->ip : ip;
}

/// Which declared bridges list each port and each address, built once per plan:
/// looking them up per bridge keeps a plan of n bridges linear in n.
struct DeclaredBridges {
  std::unordered_map<std::string, std::vector<ResourceId>> byPort, byIp;  ///< ids sorted
};

std::shared_ptr<const DeclaredBridges> declaredBridges(const PlanContext& ctx) {
  return ctx.memo<DeclaredBridges>("netlink.declaredBridges", [&] {
    DeclaredBridges d;
    for (const auto& [id, r] : ctx.desired) {
      if (id.kind != kinds::Bridge) continue;
      const auto& spec = r->as<BridgeSpec>();
      for (const std::string& port : spec.ports) d.byPort[port].push_back(id);
      for (const std::string& cidr : spec.addresses) d.byIp[canonicalIp(cidr)].push_back(id);
    }
    for (auto* index : {&d.byPort, &d.byIp})
      for (auto& [key, ids] : *index) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      }
    return d;
  });
}

/// The lowest declared bridge other than `self` that `index` lists under `key`.
const Resource* otherDeclaredBridge(const Resource& self, const PlanContext& ctx,
                                    const std::unordered_map<std::string, std::vector<ResourceId>>& index,
                                    const std::string& key) {
  auto it = index.find(key);
  if (it == index.end()) return nullptr;
  for (const ResourceId& id : it->second)
    if (id != self.id) return ctx.findDesired(id);
  return nullptr;
}

const Resource* declaredBridge(const std::string& name, const PlanContext& ctx) {
  return ctx.findDesired(ResourceId{kinds::Bridge, {}, name});
}

void checkName(const Resource& desired, const Observed* live, const HostState& host, Diff& diff) {
  if (live) return;
  const Link* existing = host.byName(desired.id.name);
  if (!existing || existing->isBridge()) return;
  const std::string kind = existing->kind.empty() ? "a network device" : "a " + existing->kind + " device";
  diff.problems.push_back({"metadata.name", "An interface named " + desired.id.name + " already exists on the host as " +
                                                kind + ", not a bridge; hostform will not replace it."});
}

/// A Bond, VlanInterface or VxlanInterface declared under this name.
bool declaredLinkPort(const std::string& name, const PlanContext& ctx) {
  for (Kind k : {kinds::Bond, kinds::VlanInterface, kinds::VxlanInterface})
    if (ctx.findDesired(ResourceId{k, {}, name})) return true;
  return false;
}

void checkPorts(const Resource& desired, const HostState& host, const PlanContext& ctx, Diff& diff) {
  const auto& spec = desired.as<BridgeSpec>();
  const Link* self = host.byName(desired.id.name);
  const int selfIndex = self && self->isBridge() ? self->index : 0;
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const std::string field = "spec.ports[" + std::to_string(i) + "]";
    const std::string& port = spec.ports[i];
    auto problem = [&](std::string message) { diff.problems.push_back({field, std::move(message)}); };

    const Resource* twice = otherDeclaredBridge(desired, ctx, declaredBridges(ctx)->byPort, port);
    if (twice) {
      problem("Interface " + port + " is also declared as a port of " + twice->id.str() +
              "; an interface can be a port of one bridge only.");
      continue;
    }
    const Link* link = host.byName(port);
    if (port == desired.id.name || declaredBridge(port, ctx) || (link && link->isBridge())) {
      problem("Interface " + port + " is a bridge; a bridge cannot be a port of another bridge.");
      continue;
    }
    if (!link) {
      if (declaredLinkPort(port, ctx)) continue;  // made before the bridge (a soft reference orders it)
      problem("Interface " + port + " does not exist on the host; create it first or remove it from the ports.");
      continue;
    }
    if (isLibvirtTap(*link)) {
      problem("Interface " + port + " is the tap device of a libvirt domain; libvirt attaches it to its bridge, " +
              "so it cannot be declared as a port.");
      continue;
    }
    if (link->master == 0 || link->master == selfIndex) continue;
    const Link* master = host.byIndex(link->master);
    const std::string masterName = master ? master->name : "interface #" + std::to_string(link->master);
    // Moving a port between two declared bridges is fine: the other one no
    // longer lists it (otherwise it was reported above as declared twice).
    if (master && master->isBridge() && declaredBridge(master->name, ctx)) continue;
    problem("Interface " + port + " is already attached to " + masterName +
            ", which these manifests do not declare as a bridge; release it from " + masterName + " first.");
  }
}

void checkAddresses(const Resource& desired, const HostState& host, const PlanContext& ctx, Diff& diff) {
  const auto& spec = desired.as<BridgeSpec>();
  const Link* self = host.byName(desired.id.name);
  const int selfIndex = self && self->isBridge() ? self->index : 0;
  for (std::size_t i = 0; i < spec.addresses.size(); ++i) {
    const std::string field = "spec.addresses[" + std::to_string(i) + "]";
    auto cidr = parseCidr(spec.addresses[i]);
    if (!cidr) continue;  // the schema rejects it; nothing more to say
    auto problem = [&](std::string message) { diff.problems.push_back({field, std::move(message)}); };
    if (isLinkLocal(*cidr)) {
      problem("Address " + cidr->str() + " is link-local; the kernel manages link-local addresses, and " +
              "spec.addresses lists global-scope addresses only.");
      continue;
    }
    const Resource* twice = otherDeclaredBridge(desired, ctx, declaredBridges(ctx)->byIp, cidr->ip);
    if (twice) {
      problem("Address " + cidr->ip + " is also declared on " + twice->id.str() +
              "; an address can be declared on one bridge only.");
      continue;
    }
    const Link* holder = host.holderOf(cidr->ip, selfIndex);
    if (!holder) continue;
    // A declared bridge that no longer lists the address gives it up in this apply.
    if (holder->isBridge() && declaredBridge(holder->name, ctx)) continue;
    problem("Address " + cidr->ip + " is already assigned to " + holder->name +
            " on the host; remove it there first or declare a different address.");
  }
}

/// A port carries the bridge's frames only when it is up, and only up to its
/// own MTU: a declared port is brought up, and its MTU raised to the bridge's
/// declared one (never lowered), as changes the plan shows and as the port
/// fixes of the delta. A port that cannot take the bridge's MTU is refused here.
void portChanges(const Resource& desired, const HostState& host, Diff& diff, BridgeDelta& delta) {
  const auto& spec = desired.as<BridgeSpec>();
  if (spec.state != AdminState::Up) return;
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const std::string& port = spec.ports[i];
    const Link* link = host.byName(port);
    if (!link || link->isBridge()) continue;  // reported by checkPorts
    PortFix fix{port};
    if (spec.mtu && link->mtu < *spec.mtu) {
      if (link->maxMtu && link->maxMtu < *spec.mtu) {
        diff.problems.push_back({"spec.ports[" + std::to_string(i) + "]",
                                 "Interface " + port + " accepts an MTU of at most " + std::to_string(link->maxMtu) +
                                     ", below the bridge's mtu " + std::to_string(*spec.mtu) +
                                     ": frames larger than that would be dropped on it. Declare mtu " +
                                     std::to_string(link->maxMtu) + " or less, or use another port."});
      } else {
        diff.changes.push_back({"ports[" + port + "].mtu", std::to_string(link->mtu), std::to_string(*spec.mtu),
                                ChangeClass::Live});
        fix.raiseMtuTo = spec.mtu;
      }
    }
    if (!link->up) {
      diff.changes.push_back({"ports[" + port + "].state", "down", "up", ChangeClass::Live});
      fix.bringUp = true;
    }
    if (fix.raiseMtuTo || fix.bringUp) delta.portFixes.push_back(std::move(fix));
  }
}

void checkDownWithIpv6(const Resource& desired, const PlanOptions& options, Diff& diff) {
  const auto& spec = desired.as<BridgeSpec>();
  if (spec.state != AdminState::Down || options.ipv6KeptWhenDown) return;
  for (const std::string& a : spec.addresses)
    if (auto cidr = parseCidr(a); cidr && cidr->family == AF_INET6) {
      diff.problems.push_back(
          {"spec.state", "The kernel removes IPv6 addresses from an interface that is down, so " + desired.id.name +
                             " cannot be down and keep " + cidr->str() +
                             "; set net.ipv6.conf.all.keep_addr_on_down=1 or declare the bridge up."});
      return;
    }
}

/// The live bridge's own attributes against the declared ones: a row for each
/// that differs, and the declared value in the delta for apply to set. A value
/// goes into the delta exactly when its row is shown.
void compareAttributes(const BridgeSpec& want, const BridgeSpec& have, Diff& diff, BridgeDelta& delta) {
  auto change = [&](std::string field, std::string from, std::string to) {
    if (from == to) return false;
    diff.changes.push_back({std::move(field), std::move(from), std::move(to), ChangeClass::Live});
    return true;
  };
  if (change("state", std::string(toString(have.state)), std::string(toString(want.state)))) delta.state = want.state;
  if (want.mtu && change("mtu", have.mtu ? std::to_string(*have.mtu) : "(none)", std::to_string(*want.mtu)))
    delta.mtu = want.mtu;
  if (want.macAddress && change("macAddress", have.macAddress.value_or("(none)"), *want.macAddress))
    delta.macAddress = want.macAddress;
  if (change("stp.enabled", have.stp.enabled ? "true" : "false", want.stp.enabled ? "true" : "false"))
    delta.stp.enabled = want.stp.enabled;
  if (change("stp.priority", std::to_string(have.stp.priority), std::to_string(want.stp.priority)))
    delta.stp.priority = want.stp.priority;
  auto timer = [&](std::string field, Millis live, Millis declared, std::optional<Millis>& set) {
    if (!timerMatches(declared, toCentis(live)) &&
        change(std::move(field), formatDuration(live), formatDuration(declared)))
      set = declared;
  };
  timer("stp.forwardDelay", have.stp.forwardDelay, want.stp.forwardDelay, delta.stp.forwardDelay);
  timer("stp.helloTime", have.stp.helloTime, want.stp.helloTime, delta.stp.helloTime);
  timer("stp.maxAge", have.stp.maxAge, want.stp.maxAge, delta.stp.maxAge);
  if (change("vlanFiltering", have.vlanFiltering ? "true" : "false", want.vlanFiltering ? "true" : "false"))
    delta.vlanFiltering = want.vlanFiltering;
  if (want.vlanFiltering && change("defaultPvid", std::to_string(have.defaultPvid), std::to_string(want.defaultPvid)))
    delta.defaultPvid = want.defaultPvid;
  change("ports", showList(sortedUnique(have.ports)), showList(sortedUnique(want.ports)));
  change("addresses", showList(canonicalAddresses(have.addresses)), showList(canonicalAddresses(want.addresses)));
}

void checkVlanSupport(const Resource& desired, const PlanOptions& options, Diff& diff) {
  if (!desired.as<BridgeSpec>().vlanFiltering || options.vlanFiltering == Support::Yes) return;
  diff.problems.push_back(
      {"spec.vlanFiltering", options.vlanFiltering == Support::No ? kNoVlanFiltering : kVlanFilteringUnknown});
}

/// Which IFLA_BRPORT_* the kernel reports on a bridge port, from the first
/// port of any bridge on the host; nullopt when there is none (every option
/// is then taken as available: all are in Linux 4.18 and later).
std::shared_ptr<const std::optional<PortAttrs>> samplePort(const HostState& host, const PlanContext& ctx) {
  return ctx.memo<std::optional<PortAttrs>>("netlink.samplePort", [&]() -> std::optional<PortAttrs> {
    for (const Link& l : host.links)
      if (l.port) return l.port;
    return std::nullopt;
  });
}

std::string showFlag(const std::optional<bool>& b) { return b ? (*b ? "true" : "false") : "(none)"; }
std::string showNumber(const std::optional<std::uint32_t>& n) { return n ? std::to_string(*n) : "(none)"; }

/// Each declared port's options and VLANs against the kernel's: rows (for a
/// live bridge), fixes for apply, and the options the kernel lacks as problems.
void portOptionChanges(const Resource& desired, const Observed* live, const HostState& host,
                       const PlanContext& ctx, const PlanOptions& options, bool defaultPvidChanges, Diff& diff,
                       BridgeDelta& delta) {
  const auto& spec = desired.as<BridgeSpec>();
  if (spec.portOptions.empty()) return;
  const Link* self = host.byName(desired.id.name);
  const int selfIndex = self && self->isBridge() ? self->index : 0;
  const auto sample = samplePort(host, ctx);
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const std::string& name = spec.ports[i];
    auto it = spec.portOptions.find(name);
    if (it == spec.portOptions.end()) continue;
    const BridgePortOptions& want = it->second;
    const Link* link = host.byName(name);
    const bool onBridge = selfIndex && link && link->master == selfIndex && link->port;
    const PortAttrs have = onBridge ? *link->port : PortAttrs{};
    const std::string row = "ports[" + name + "].";
    const std::string field = "spec.ports[" + std::to_string(i) + "].";
    PortOptionsFix fix{name};
    bool refused = false;
    auto lacks = [&](const char* option, const char* attr, bool reported) {
      if (reported) return false;
      diff.problems.push_back({field + option, std::string("This kernel does not report ") + attr +
                                                   " on bridge ports, so it cannot set " + option +
                                                   " on a port; remove " + option + " from port " + name + "."});
      refused = true;
      return true;
    };
    auto number = [&](const char* option, const char* attr, const std::optional<std::uint32_t>& w,
                      const std::optional<std::uint32_t>& h, std::optional<std::uint32_t> PortAttrs::*member,
                      std::optional<std::uint32_t>& out) {
      if (!w || lacks(option, attr, !*sample || ((**sample).*member).has_value())) return;
      if (h == w) return;
      if (live) diff.changes.push_back({row + option, showNumber(h), std::to_string(*w), ChangeClass::Live});
      out = w;
    };
    auto flag = [&](const char* option, const char* attr, const std::optional<bool>& w, const std::optional<bool>& h,
                    std::optional<bool> PortAttrs::*member, std::optional<bool>& out) {
      if (!w || lacks(option, attr, !*sample || ((**sample).*member).has_value())) return;
      if (h == w) return;
      if (live) diff.changes.push_back({row + option, showFlag(h), showFlag(w), ChangeClass::Live});
      out = w;
    };
    number("cost", "IFLA_BRPORT_COST", want.cost, have.cost, &PortAttrs::cost, fix.cost);
    number("priority", "IFLA_BRPORT_PRIORITY", want.priority, have.priority, &PortAttrs::priority, fix.priority);
    flag("hairpin", "IFLA_BRPORT_MODE", want.hairpin, have.hairpin, &PortAttrs::hairpin, fix.hairpin);
    flag("isolated", "IFLA_BRPORT_ISOLATED", want.isolated, have.isolated, &PortAttrs::isolated, fix.isolated);
    flag("learning", "IFLA_BRPORT_LEARNING", want.learning, have.learning, &PortAttrs::learning, fix.learning);
    if (!refused && fix.any()) delta.portOptions.push_back(std::move(fix));

    if (!want.vlans) continue;
    const std::vector<BridgeVlan> wanted = compressVlans(expandVlans(*want.vlans));
    std::optional<std::vector<BridgeVlan>> current;
    if (onBridge && options.vlans)
      if (auto v = options.vlans->find(link->index); v != options.vlans->end()) current = v->second;
    if (current != wanted) {
      if (live)
        diff.changes.push_back(
            {row + "vlans", current ? showVlans(*current) : "(none)", showVlans(wanted), ChangeClass::Live});
      delta.portVlans.push_back({name, wanted});
    } else if (defaultPvidChanges) {
      delta.portVlans.push_back({name, wanted});
    }
  }
}

/// The declared static FDB against the static entries on this bridge's ports.
void fdbChanges(const Resource& desired, const Observed* live, const HostState& host, const PlanOptions& options,
                Diff& diff, BridgeDelta& delta) {
  const auto& spec = desired.as<BridgeSpec>();
  if (!spec.fdb) return;
  const Link* self = host.byName(desired.id.name);
  const int selfIndex = self && self->isBridge() ? self->index : 0;
  const std::vector<FdbEntry> have =
      options.fdb ? staticFdbOf(selfIndex, *options.fdb, host, spec.vlanFiltering) : std::vector<FdbEntry>{};
  auto key = [](const FdbEntry& e) { return std::make_pair(e.mac, e.vlan); };
  for (const FdbEntry& h : have)
    if (std::none_of(spec.fdb->begin(), spec.fdb->end(), [&](const FdbEntry& w) { return key(w) == key(h); }))
      delta.removeFdb.push_back(h);
  for (const FdbEntry& w : *spec.fdb)
    if (std::find(have.begin(), have.end(), w) == have.end()) delta.addFdb.push_back(w);
  if (live && (!delta.removeFdb.empty() || !delta.addFdb.empty())) {
    std::vector<std::string> from, to;
    for (const FdbEntry& e : have) from.push_back(showFdb(e));
    for (const FdbEntry& e : *spec.fdb) to.push_back(showFdb(e));
    diff.changes.push_back({"fdb", showList(from), showList(to), ChangeClass::Live});
  }
}

std::vector<std::string> minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const std::string& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

/// Ports and addresses from `have` (empty for a bridge to create) to `want`,
/// as sets: the "ports" and "addresses" rows compareAttributes shows differ
/// exactly when one of these lists is not empty.
void memberChanges(const BridgeSpec& want, const BridgeSpec& have, BridgeDelta& delta) {
  delta.release = minus(have.ports, want.ports);
  delta.enslave = minus(want.ports, have.ports);
  if (want.mtu && (!delta.release.empty() || !delta.enslave.empty())) delta.mtuAfterPorts = want.mtu;
  const auto haveAddrs = canonicalAddresses(have.addresses);
  const auto wantAddrs = canonicalAddresses(want.addresses);
  delta.removeAddresses = minus(haveAddrs, wantAddrs);
  delta.addAddresses = minus(wantAddrs, haveAddrs);
}

}  // namespace

Diff planBridge(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
                const PlanOptions& options) {
  Diff diff;
  checkName(desired, live, host, diff);
  checkDownWithIpv6(desired, options, diff);
  checkPorts(desired, host, ctx, diff);
  checkAddresses(desired, host, ctx, diff);
  BridgeDelta delta;
  const auto& want = desired.as<BridgeSpec>();
  const BridgeSpec none;
  const BridgeSpec& have = live ? live->resource.as<BridgeSpec>() : none;
  checkVlanSupport(desired, options, diff);
  if (!options.readError.empty()) diff.problems.push_back({"spec", options.readError});
  if (live) compareAttributes(want, have, diff, delta);
  portChanges(desired, host, diff, delta);
  memberChanges(want, have, delta);
  portOptionChanges(desired, live, host, ctx, options, delta.defaultPvid.has_value(), diff, delta);
  fdbChanges(desired, live, host, options, diff, delta);
  diff.delta = std::move(delta);
  return diff;
}

}  // namespace hostform::netlink
