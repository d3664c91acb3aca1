#include "reconciler/kinds/bridge.h"

#include "reconciler/kinds/link_refs.h"

namespace hostform {

/// A timer with the kernel's bounds.
static Millis timer(SpecReader& in, const yaml::Node& n, const std::string& path, Millis fallback, Millis lo,
                    Millis hi) {
  const Millis d = in.duration(n, path, fallback);
  if (n && (d < lo || d > hi))
    in.error(n, path,
             "expected a duration from " + formatDuration(lo) + " to " + formatDuration(hi) + ", found " +
                 SpecReader::shown(n));
  return d;
}

static BridgeSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  BridgeSpec b;
  b.state = in.choice(s["state"], b.state);
  if (s["mtu"]) b.mtu = in.number(s["mtu"]);
  b.macAddress = in.mac(s["macAddress"]);
  if (const yaml::Node stp = s["stp"]) {
    b.stp.enabled = in.flag(stp["enabled"], b.stp.enabled);
    if (stp["priority"]) b.stp.priority = in.number(stp["priority"]);
    b.stp.forwardDelay =
        timer(in, stp["forwardDelay"], "spec.stp.forwardDelay", b.stp.forwardDelay, Millis(2'000), Millis(30'000));
    b.stp.helloTime = timer(in, stp["helloTime"], "spec.stp.helloTime", b.stp.helloTime, Millis(1'000), Millis(10'000));
    b.stp.maxAge = timer(in, stp["maxAge"], "spec.stp.maxAge", b.stp.maxAge, Millis(6'000), Millis(40'000));
  }
  b.ports = in.texts(s["ports"]);
  b.addresses = in.texts(s["addresses"]);
  return b;
}

static void write(const BridgeSpec& s, SpecWriter& w) {
  const BridgeSpec d;
  w.word("state", s.state, d.state);
  if (s.mtu) w.put("mtu", *s.mtu);
  w.opt("macAddress", s.macAddress);
  if (!(s.stp == d.stp)) {
    w.begin("stp");
    w.changed("enabled", s.stp.enabled, d.stp.enabled);
    w.changed("priority", s.stp.priority, d.stp.priority);
    w.duration("forwardDelay", s.stp.forwardDelay, d.stp.forwardDelay);
    w.duration("helloTime", s.stp.helloTime, d.stp.helloTime);
    w.duration("maxAge", s.stp.maxAge, d.stp.maxAge);
    w.end();
  }
  w.list("ports", s.ports);
  w.list("addresses", s.addresses);
}

static void list(const BridgeSpec& s, FieldList& f) {
  f.add("state", std::string(toString(s.state)));
  if (s.mtu) f.add("mtu", std::to_string(*s.mtu));
  f.add("macAddress", s.macAddress);
  f.add("stp.enabled", s.stp.enabled);
  f.add("stp.priority", std::to_string(s.stp.priority));
  f.add("stp.forwardDelay", formatDuration(s.stp.forwardDelay));
  f.add("stp.helloTime", formatDuration(s.stp.helloTime));
  f.add("stp.maxAge", formatDuration(s.stp.maxAge));
  f.add("ports", showList(s.ports));
  f.add("addresses", showList(s.addresses));
}

/// A port that is a declared Bond, VlanInterface or VxlanInterface is made
/// before the bridge and removed after it (soft: a NIC port is no resource).
static void referPorts(const BridgeSpec& s, std::vector<Reference>& out) {
  for (std::size_t i = 0; i < s.ports.size(); ++i)
    referToLinks(s.ports[i], "spec.ports[" + std::to_string(i) + "]", out);
}

// The words of its enums in manifests.
constexpr EnumNames<AdminState, 2> kAdminState{{{AdminState::Up, "up"}, {AdminState::Down, "down"}}};

HOSTFORM_DEFINE_ENUM_NAMES(AdminState, kAdminState)

HOSTFORM_KIND(kBridgeKind, BridgeSpec, "Bridge", 10, "bridge.schema.json",
              {.read = read, .write = write, .list = list, .refer = referPorts});

}  // namespace hostform
