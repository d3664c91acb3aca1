#include "reconciler/kinds/vxlan_interface.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>

#include "reconciler/kinds/link_refs.h"

namespace hostform {

namespace {

/// An IP address as inet_ntop writes it, with its family; nullopt when it is none.
struct Ip {
  int family = 0;
  std::string text;
  std::array<unsigned char, 16> bytes{};
};

std::optional<Ip> parseIp(const std::string& s) {
  Ip ip;
  char shown[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6})
    if (inet_pton(family, s.c_str(), ip.bytes.data()) == 1 && inet_ntop(family, ip.bytes.data(), shown, sizeof shown)) {
      ip.family = family;
      ip.text = shown;
      return ip;
    }
  return std::nullopt;
}

bool multicast(const Ip& ip) { return ip.family == AF_INET ? (ip.bytes[0] & 0xf0) == 0xe0 : ip.bytes[0] == 0xff; }

/// One address field: canonical text, and its parse for the checks across fields.
std::optional<Ip> address(SpecReader& in, const yaml::Node& n, const std::string& path,
                          std::optional<std::string>& out) {
  if (!n) return std::nullopt;
  auto ip = parseIp(n.scalar());
  if (!ip) {
    in.error(n, path, "expected an IPv4 or IPv6 address without prefix length, found " + SpecReader::shown(n));
    return std::nullopt;
  }
  out = ip->text;
  return ip;
}

}  // namespace

static VxlanInterfaceSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  VxlanInterfaceSpec v;
  v.state = in.choice(s["state"], v.state);
  v.vni = in.number(s["vni"]);  // 1–16777215: the schema's bounds
  const auto local = address(in, s["local"], "spec.local", v.local);
  const auto remote = address(in, s["remote"], "spec.remote", v.remote);
  const auto group = address(in, s["group"], "spec.group", v.group);
  v.device = SpecReader::optText(s["device"]);
  if (s["remote"] && s["group"])
    in.error(s["group"], "spec.group",
             "remote and group are exclusive: a VXLAN interface sends either to one peer (remote) or to a "
             "multicast group (group)");
  if (group && !multicast(*group))
    in.error(s["group"], "spec.group", "expected a multicast address, found " + SpecReader::shown(s["group"]));
  if (remote && multicast(*remote))
    in.error(s["remote"], "spec.remote",
             "expected a unicast address (a multicast one is a group), found " + SpecReader::shown(s["remote"]));
  if (local && multicast(*local))
    in.error(s["local"], "spec.local", "expected a unicast address, found " + SpecReader::shown(s["local"]));
  if (s["group"] && !s["device"])
    in.error(s["group"], "spec.group", "a multicast group needs spec.device, the interface that joins it");
  const auto peer = remote ? remote : group;
  if (local && peer && local->family != peer->family)
    in.error(s["local"], "spec.local",
             "local and " + std::string(remote ? "remote" : "group") + " must be of one address family, found " +
                 local->text + " and " + peer->text);
  if (v.device && *v.device == in.name())
    in.error(s["device"], "spec.device", "a VXLAN interface cannot use itself as its device");
  if (s["dstport"]) v.dstport = in.number(s["dstport"]);
  v.learning = in.flag(s["learning"], v.learning);
  if (s["mtu"]) v.mtu = in.number(s["mtu"]);
  return v;
}

static void write(const VxlanInterfaceSpec& s, SpecWriter& w) {
  const VxlanInterfaceSpec d;
  w.word("state", s.state, d.state);
  w.put("vni", s.vni);
  w.opt("local", s.local);
  w.opt("remote", s.remote);
  w.opt("group", s.group);
  w.opt("device", s.device);
  w.changed("dstport", s.dstport, d.dstport);
  w.changed("learning", s.learning, d.learning);
  if (s.mtu) w.put("mtu", *s.mtu);
}

static void list(const VxlanInterfaceSpec& s, FieldList& f) {
  f.add("state", std::string(toString(s.state)));
  f.add("vni", std::to_string(s.vni));
  f.add("local", s.local);
  f.add("remote", s.remote);
  f.add("group", s.group);
  f.add("device", s.device);
  f.add("dstport", std::to_string(s.dstport));
  f.add("learning", s.learning);
  if (s.mtu) f.add("mtu", std::to_string(*s.mtu));
}

static void refer(const VxlanInterfaceSpec& s, std::vector<Reference>& out) {
  if (s.device) referToLinks(*s.device, "spec.device", out, true);
}

HOSTFORM_KIND(kVxlanInterfaceKind, VxlanInterfaceSpec, "VxlanInterface", 8, "vxlan-interface.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
