#include "providers/netlink/links.h"

#include <sys/utsname.h>

#include <algorithm>
#include <fstream>

#include "providers/netlink/normalize.h"

namespace hostform::netlink {

// ---- what the kernel can make -------------------------------------------------------

namespace {

/// Whether `file` has a line ending in "/<module>.ko" (with any compression
/// suffix) before its first ':' (modules.dep) or at its end (modules.builtin).
bool listsModule(const std::filesystem::path& file, const std::string& module) {
  std::ifstream in(file);
  std::string line;
  const std::string ko = "/" + module + ".ko";
  while (std::getline(in, line)) {
    const std::string path = line.substr(0, line.find(':'));
    const auto at = path.rfind(ko);
    if (at == std::string::npos || path.find('/', at + 1) != std::string::npos) continue;
    const std::string rest = path.substr(at + ko.size());
    if (rest.empty() || rest == ".xz" || rest == ".gz" || rest == ".zst") return true;
  }
  return false;
}

struct Driver {
  const char* module;
  const char* feature;
};

Driver driverOf(Kind kind) {
  if (kind == kinds::Bond) return {"bonding", "bonding (bond devices)"};
  if (kind == kinds::VlanInterface) return {"8021q", "802.1Q VLAN support (VLAN devices)"};
  return {"vxlan", "VXLAN support (vxlan devices)"};
}

}  // namespace

bool kernelHasModule(const std::string& module, const std::filesystem::path& root, const std::string& release) {
  std::error_code ec;
  if (std::filesystem::exists(root / "sys/module" / module, ec)) return true;
  const auto dir = root / "lib/modules" / release;
  return listsModule(dir / "modules.builtin", module) || listsModule(dir / "modules.dep", module);
}

KernelFeatures probeKernel() {
  utsname u{};
  const std::string release = uname(&u) == 0 ? u.release : "";
  return {kernelHasModule("bonding", "/", release), kernelHasModule("8021q", "/", release),
          kernelHasModule("vxlan", "/", release)};
}

std::string missingFeature(Kind kind) {
  const Driver d = driverOf(kind);
  return std::string("The running kernel lacks ") + d.feature + ": module " + d.module +
         " is neither loaded, built in, nor installed, so " + std::string(kind.name()) +
         " cannot be made on this host.";
}

// ---- observe ----------------------------------------------------------------------------

namespace {

std::string nameOf(int index, const HostState& host) {
  if (index == 0) return {};
  const Link* l = host.byIndex(index);
  return l ? l->name : "#" + std::to_string(index);
}

AdminState stateOf(const Link& l) { return l.up ? AdminState::Up : AdminState::Down; }

bool isMulticast(const std::string& ip) {
  if (ip.find(':') != std::string::npos) return ip.starts_with("ff");
  const int first = std::atoi(ip.c_str());
  return first >= 224 && first <= 239;
}

Observed observedAs(Kind kind, const Link& l, Spec spec) {
  Observed o;
  o.resource.id = identityOf(kind, l.name, spec);
  o.resource.spec = std::move(spec);
  o.owner = ownerFromAlias(l.alias);
  return o;
}

}  // namespace

Observed bondObserved(const Link& bond, const HostState& host) {
  BondSpec s;
  const BondAttrs a = bond.bond.value_or(BondAttrs{});
  s.state = stateOf(bond);
  s.mode = a.mode <= static_cast<int>(BondMode::BalanceAlb) ? static_cast<BondMode>(a.mode) : BondMode::BalanceRr;
  s.miimon = Millis(a.miimon);
  if (s.mode == BondMode::Lacp) s.lacpRate = a.lacpRate ? LacpRate::Fast : LacpRate::Slow;
  if (usesXmitHash(s.mode) && a.xmitHashPolicy <= static_cast<int>(XmitHashPolicy::VlanSrcMac))
    s.xmitHashPolicy = static_cast<XmitHashPolicy>(a.xmitHashPolicy);
  for (const Link& l : host.links)
    if (l.master == bond.index) s.members.push_back(l.name);
  std::sort(s.members.begin(), s.members.end());
  s.mtu = bond.mtu;
  if (!bond.mac.empty()) s.macAddress = bond.mac;
  return observedAs(kinds::Bond, bond, std::move(s));
}

Observed vlanObserved(const Link& vlan, const HostState& host) {
  VlanInterfaceSpec s;
  const VlanAttrs a = vlan.vlan.value_or(VlanAttrs{});
  s.state = stateOf(vlan);
  s.parent = nameOf(vlan.link, host);
  s.id = a.id;
  s.protocol = a.protocol == 0x88a8 ? VlanProtocol::Dot1AD : VlanProtocol::Dot1Q;
  s.mtu = vlan.mtu;
  return observedAs(kinds::VlanInterface, vlan, std::move(s));
}

Observed vxlanObserved(const Link& vxlan, const HostState& host) {
  VxlanInterfaceSpec s;
  const VxlanAttrs a = vxlan.vxlan.value_or(VxlanAttrs{});
  s.state = stateOf(vxlan);
  s.vni = a.vni;
  if (!a.local.empty()) s.local = a.local;
  if (!a.group.empty()) (isMulticast(a.group) ? s.group : s.remote) = a.group;
  if (a.device) s.device = nameOf(a.device, host);
  s.dstport = a.port;
  s.learning = a.learning;
  s.mtu = vxlan.mtu;
  return observedAs(kinds::VxlanInterface, vxlan, std::move(s));
}

std::vector<Observed> observedLinks(const HostState& host) {
  std::vector<Observed> out;
  for (const Link& l : host.links) {
    if (l.kind == "bond") out.push_back(bondObserved(l, host));
    else if (l.kind == "vlan") out.push_back(vlanObserved(l, host));
    else if (l.kind == "vxlan") out.push_back(vxlanObserved(l, host));
  }
  std::sort(out.begin(), out.end(),
            [](const Observed& a, const Observed& b) { return a.resource.id < b.resource.id; });
  return out;
}

// ---- plan ---------------------------------------------------------------------------------

namespace {

const char* kernelKind(Kind kind) {
  if (kind == kinds::Bond) return "bond";
  if (kind == kinds::VlanInterface) return "vlan";
  return "vxlan";
}

const char* kindWords(Kind kind) {
  if (kind == kinds::Bond) return "a bond";
  if (kind == kinds::VlanInterface) return "a VLAN interface";
  return "a VXLAN interface";
}

/// The kernel feature, and a link of the name that is of another kind.
void checkKindAndName(const Resource& desired, const Observed* live, const HostState& host,
                      const KernelFeatures& kernel, Diff& diff) {
  if (live) return;  // it exists, so the kernel has its driver
  const Kind kind = desired.kind();
  const bool has = kind == kinds::Bond ? kernel.bonding : kind == kinds::VlanInterface ? kernel.vlan : kernel.vxlan;
  if (!has) diff.problems.push_back({"kind", missingFeature(kind)});
  const Link* existing = host.byName(desired.id.name);
  if (!existing || existing->kind == kernelKind(kind)) return;
  const std::string what = existing->kind.empty() ? "a network device" : "a " + existing->kind + " device";
  diff.problems.push_back({"metadata.name", "An interface named " + desired.id.name +
                                                " already exists on the host as " + what + ", not " +
                                                kindWords(kind) + "; hostform will not replace it."});
}

/// A name declared as one of the link kinds a bridge port, member, parent or device may be.
const Resource* declaredLink(const std::string& name, const PlanContext& ctx, bool withBridge) {
  for (Kind k : {kinds::Bond, kinds::VlanInterface, kinds::VxlanInterface})
    if (const Resource* r = ctx.findDesired(ResourceId{k, {}, name})) return r;
  return withBridge ? ctx.findDesired(ResourceId{kinds::Bridge, {}, name}) : nullptr;
}

/// A lower device (a VLAN's parent, a VXLAN's device) exists or is declared.
void checkLower(const std::string& name, const std::string& field, const HostState& host, const PlanContext& ctx,
                Diff& diff) {
  if (host.byName(name) || declaredLink(name, ctx, true)) return;
  diff.problems.push_back({field, "Interface " + name +
                                      " does not exist on the host and is not declared; create it first or name "
                                      "another interface."});
}

struct Rows {
  Diff& diff;
  bool operator()(std::string field, const std::string& from, const std::string& to,
                  ChangeClass cls = ChangeClass::Live) {
    if (from == to) return false;
    diff.changes.push_back({std::move(field), from, to, cls});
    return true;
  }
};

std::string opt(const std::optional<std::string>& s) { return s.value_or("(none)"); }
std::string opt(const std::optional<std::uint32_t>& n) { return n ? std::to_string(*n) : "(none)"; }

std::vector<std::string> minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const std::string& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// State, MTU and MAC rows, and the attributes to send for them.
void compareLink(AdminState wantState, AdminState haveState, const std::optional<std::uint32_t>& wantMtu,
                 const std::optional<std::uint32_t>& haveMtu, const std::optional<std::string>* wantMac,
                 const std::optional<std::string>* haveMac, Rows& row, LinkAttrs& out) {
  if (row("state", std::string(toString(haveState)), std::string(toString(wantState)))) out.state = wantState;
  if (wantMtu && row("mtu", opt(haveMtu), std::to_string(*wantMtu))) out.mtu = wantMtu;
  if (wantMac && *wantMac && row("macAddress", opt(*haveMac), **wantMac)) out.macAddress = *wantMac;
}

/// The declared bridge that lists `name` as a port and has it now: after a
/// replace, the new interface goes back to it.
std::optional<std::string> bridgeToRejoin(const std::string& name, const HostState& host, const PlanContext& ctx) {
  const Link* self = host.byName(name);
  if (!self || !self->master) return std::nullopt;
  const Link* master = host.byIndex(self->master);
  if (!master || !master->isBridge()) return std::nullopt;
  const Resource* bridge = ctx.findDesired(ResourceId{kinds::Bridge, {}, master->name});
  if (!bridge) return std::nullopt;
  const auto& ports = bridge->as<BridgeSpec>().ports;
  if (std::find(ports.begin(), ports.end(), name) == ports.end()) return std::nullopt;
  return master->name;
}

void checkMembers(const Resource& desired, const HostState& host, const PlanContext& ctx, Diff& diff) {
  const auto& spec = desired.as<BondSpec>();
  const Link* self = host.byName(desired.id.name);
  const int selfIndex = self && self->kind == "bond" ? self->index : 0;
  // Which declared bonds list each member, once per plan.
  const auto byMember = ctx.memo<std::map<std::string, std::vector<ResourceId>>>("netlink.bondMembers", [&] {
    std::map<std::string, std::vector<ResourceId>> m;
    for (const auto& [id, r] : ctx.desired)
      if (id.kind == kinds::Bond)
        for (const std::string& member : r->as<BondSpec>().members) m[member].push_back(id);
    for (auto& [member, ids] : m) std::sort(ids.begin(), ids.end());
    return m;
  });
  for (std::size_t i = 0; i < spec.members.size(); ++i) {
    const std::string field = "spec.members[" + std::to_string(i) + "]";
    const std::string& member = spec.members[i];
    auto problem = [&](std::string message) { diff.problems.push_back({field, std::move(message)}); };
    if (auto it = byMember->find(member); it != byMember->end()) {
      auto other = std::find_if(it->second.begin(), it->second.end(),
                                [&](const ResourceId& id) { return id != desired.id; });
      if (other != it->second.end()) {
        problem("Interface " + member + " is also declared as a member of " + other->str() +
                "; an interface can be a member of one bond only.");
        continue;
      }
    }
    const Link* link = host.byName(member);
    if (ctx.findDesired(ResourceId{kinds::Bridge, {}, member}) || (link && link->isBridge())) {
      problem("Interface " + member + " is a bridge; a bridge cannot be a member of a bond.");
      continue;
    }
    if (ctx.findDesired(ResourceId{kinds::Bond, {}, member}) || (link && link->kind == "bond")) {
      problem("Interface " + member + " is a bond; a bond cannot be a member of another bond.");
      continue;
    }
    if (!link) {
      if (declaredLink(member, ctx, false)) continue;  // made before the bond (soft reference)
      problem("Interface " + member + " does not exist on the host; create it first or remove it from the members.");
      continue;
    }
    if (link->master == 0 || link->master == selfIndex) continue;
    const Link* master = host.byIndex(link->master);
    const std::string masterName = master ? master->name : "interface #" + std::to_string(link->master);
    // Moving a member between two declared bonds is fine: the other one no longer lists it.
    if (master && master->kind == "bond" && ctx.findDesired(ResourceId{kinds::Bond, {}, master->name})) continue;
    problem("Interface " + member + " is already attached to " + masterName +
            ", which these manifests do not declare as a bond; release it from " + masterName + " first.");
  }
}

}  // namespace

void checkNameUnique(const Resource& desired, const PlanContext& ctx, Diff& diff) {
  for (Kind k : {kinds::Bond, kinds::VlanInterface, kinds::VxlanInterface, kinds::Bridge}) {
    if (k == desired.kind()) continue;
    const ResourceId other{k, {}, desired.id.name};
    if (ctx.findDesired(other))
      diff.problems.push_back({"metadata.name", "Interface " + desired.id.name + " is also declared as " +
                                                    other.str() + "; one interface cannot be two kinds of link."});
  }
}

Diff planBond(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
              const KernelFeatures& kernel) {
  Diff diff;
  checkNameUnique(desired, ctx, diff);
  checkKindAndName(desired, live, host, kernel, diff);
  checkMembers(desired, host, ctx, diff);
  const auto& want = desired.as<BondSpec>();
  BondDelta delta;
  if (!live) {
    delta.enslave = want.members;
    diff.delta = std::move(delta);
    return diff;
  }
  const auto& have = live->resource.as<BondSpec>();
  Rows row{diff};
  compareLink(want.state, have.state, want.mtu, have.mtu, &want.macAddress, &have.macAddress, row, delta.link);
  if (row("mode", std::string(toString(have.mode)), std::string(toString(want.mode)))) {
    delta.mode = want.mode;
    diff.warnings.push_back({"spec.mode", "Changing the mode of " + desired.id.name +
                                              " takes it down and releases its members for a moment: the kernel "
                                              "changes the mode only of a bond that is down and has none."});
  }
  if (row("miimon", formatDuration(have.miimon), formatDuration(want.miimon))) delta.miimon = want.miimon;
  if (want.lacpRate &&
      row("lacpRate", have.lacpRate ? std::string(toString(*have.lacpRate)) : "(none)",
          std::string(toString(*want.lacpRate)))) {
    delta.lacpRate = want.lacpRate;
    if (!delta.mode)
      diff.warnings.push_back({"spec.lacpRate", "Changing the LACP rate of " + desired.id.name +
                                                    " takes it down for a moment: the kernel changes it only "
                                                    "on a bond that is down."});
  }
  if (want.xmitHashPolicy &&
      row("xmitHashPolicy", have.xmitHashPolicy ? std::string(toString(*have.xmitHashPolicy)) : "(none)",
          std::string(toString(*want.xmitHashPolicy))))
    delta.xmitHashPolicy = want.xmitHashPolicy;
  row("members", showList(sorted(have.members)), showList(sorted(want.members)));
  if (delta.mode) {
    // A mode change releases every member first and takes them all back.
    delta.release = have.members;
    delta.enslave = want.members;
  } else {
    delta.release = minus(have.members, want.members);
    delta.enslave = minus(want.members, have.members);
  }
  diff.delta = std::move(delta);
  return diff;
}

Diff planVlan(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
              const KernelFeatures& kernel) {
  Diff diff;
  checkNameUnique(desired, ctx, diff);
  checkKindAndName(desired, live, host, kernel, diff);
  const auto& want = desired.as<VlanInterfaceSpec>();
  checkLower(want.parent, "spec.parent", host, ctx, diff);
  if (const Link* parent = host.byName(want.parent); parent && want.mtu && *want.mtu > parent->mtu) {
    const Resource* declared = declaredLink(want.parent, ctx, true);
    std::optional<std::uint32_t> parentMtu = parent->mtu;
    if (declared && declared->kind() == kinds::Bond) parentMtu = declared->as<BondSpec>().mtu.value_or(parent->mtu);
    if (declared && declared->kind() == kinds::Bridge) parentMtu = declared->as<BridgeSpec>().mtu.value_or(parent->mtu);
    if (*want.mtu > *parentMtu)
      diff.problems.push_back({"spec.mtu", "A VLAN interface's MTU cannot exceed its parent's: " + want.parent +
                                               " has MTU " + std::to_string(*parentMtu) + ", below " +
                                               std::to_string(*want.mtu) + "."});
  }
  TunnelDelta delta;
  if (live) {
    const auto& have = live->resource.as<VlanInterfaceSpec>();
    Rows row{diff};
    bool replace = row("parent", have.parent, want.parent, ChangeClass::Replace);
    replace |= row("id", std::to_string(have.id), std::to_string(want.id), ChangeClass::Replace);
    replace |= row("protocol", std::string(toString(have.protocol)), std::string(toString(want.protocol)),
                   ChangeClass::Replace);
    compareLink(want.state, have.state, want.mtu, have.mtu, nullptr, nullptr, row, delta.link);
    if (replace) delta = TunnelDelta{.reattachTo = bridgeToRejoin(desired.id.name, host, ctx)};
  }
  diff.delta = std::move(delta);
  return diff;
}

Diff planVxlan(const Resource& desired, const Observed* live, const HostState& host, const PlanContext& ctx,
               const KernelFeatures& kernel) {
  Diff diff;
  checkNameUnique(desired, ctx, diff);
  checkKindAndName(desired, live, host, kernel, diff);
  const auto& want = desired.as<VxlanInterfaceSpec>();
  if (want.device) checkLower(*want.device, "spec.device", host, ctx, diff);
  TunnelDelta delta;
  if (live) {
    const auto& have = live->resource.as<VxlanInterfaceSpec>();
    Rows row{diff};
    bool replace = row("vni", std::to_string(have.vni), std::to_string(want.vni), ChangeClass::Replace);
    replace |= row("local", opt(have.local), opt(want.local), ChangeClass::Replace);
    replace |= row("remote", opt(have.remote), opt(want.remote), ChangeClass::Replace);
    replace |= row("group", opt(have.group), opt(want.group), ChangeClass::Replace);
    replace |= row("device", opt(have.device), opt(want.device), ChangeClass::Replace);
    replace |= row("dstport", std::to_string(have.dstport), std::to_string(want.dstport), ChangeClass::Replace);
    compareLink(want.state, have.state, want.mtu, have.mtu, nullptr, nullptr, row, delta.link);
    if (row("learning", have.learning ? "true" : "false", want.learning ? "true" : "false"))
      delta.learning = want.learning;
    if (replace) delta = TunnelDelta{.reattachTo = bridgeToRejoin(desired.id.name, host, ctx)};
  }
  diff.delta = std::move(delta);
  return diff;
}

}  // namespace hostform::netlink
