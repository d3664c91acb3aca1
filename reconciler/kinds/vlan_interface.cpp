#include "reconciler/kinds/vlan_interface.h"

#include "reconciler/kinds/link_refs.h"

namespace hostform {

static VlanInterfaceSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  VlanInterfaceSpec v;
  v.state = in.choice(s["state"], v.state);
  v.parent = SpecReader::text(s["parent"]);
  if (v.parent == in.name())
    in.error(s["parent"], "spec.parent", "a VLAN interface cannot be its own parent, found \"" + v.parent + "\"");
  v.id = in.number(s["id"]);  // 1–4094: the schema's bounds
  v.protocol = in.choice(s["protocol"], v.protocol);
  if (s["mtu"]) v.mtu = in.number(s["mtu"]);
  return v;
}

static void write(const VlanInterfaceSpec& s, SpecWriter& w) {
  const VlanInterfaceSpec d;
  w.word("state", s.state, d.state);
  w.put("parent", s.parent);
  w.put("id", s.id);
  w.word("protocol", s.protocol, d.protocol);
  if (s.mtu) w.put("mtu", *s.mtu);
}

static void list(const VlanInterfaceSpec& s, FieldList& f) {
  f.add("state", std::string(toString(s.state)));
  f.add("parent", s.parent);
  f.add("id", std::to_string(s.id));
  f.add("protocol", std::string(toString(s.protocol)));
  if (s.mtu) f.add("mtu", std::to_string(*s.mtu));
}

static void refer(const VlanInterfaceSpec& s, std::vector<Reference>& out) {
  referToLinks(s.parent, "spec.parent", out, true);
}

constexpr EnumNames<VlanProtocol, 2> kVlanProtocol{
    {{VlanProtocol::Dot1Q, "802.1Q"}, {VlanProtocol::Dot1AD, "802.1ad"}}};

HOSTFORM_DEFINE_ENUM_NAMES(VlanProtocol, kVlanProtocol)

HOSTFORM_KIND(kVlanInterfaceKind, VlanInterfaceSpec, "VlanInterface", 7, "vlan-interface.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
