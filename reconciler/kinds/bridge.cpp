#include "reconciler/kinds/bridge.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "reconciler/kinds/link_refs.h"
#include "reconciler/text.h"

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

/// One VLAN bound (1-4094) of a range's text; nullopt when it is not one.
static std::optional<std::uint16_t> vlanId(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 1 || value > 4094)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

/// A port's `vlans`: ids and ordered ranges, one pvid at most, no VLAN twice.
static std::vector<BridgeVlan> readVlans(SpecReader& in, const yaml::Node& list, const std::string& path) {
  std::vector<BridgeVlan> out;
  std::vector<std::size_t> itemOf;  // item index of each entry of out, for messages
  std::optional<std::size_t> pvidAt;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const yaml::Node item = list[i];
    const std::string at = path + "[" + std::to_string(i) + "]";
    BridgeVlan v;
    if (const yaml::Node id = item["id"]) {
      v.first = v.last = static_cast<std::uint16_t>(in.number(id));
    } else if (const yaml::Node range = item["range"]) {
      const std::string& text = range.scalar();
      const auto dash = text.find('-');
      auto lo = dash == std::string::npos ? std::nullopt : vlanId(std::string_view(text).substr(0, dash));
      auto hi = dash == std::string::npos ? std::nullopt : vlanId(std::string_view(text).substr(dash + 1));
      if (!lo || !hi || *lo >= *hi) {
        in.error(range, at + ".range",
                 "expected a range of VLAN ids from 1 to 4094, lower first, such as 20-30, found " + in.shown(range));
        continue;
      }
      v.first = *lo;
      v.last = *hi;
    }
    v.pvid = in.flag(item["pvid"], false);
    v.untagged = in.flag(item["untagged"], false);
    if (v.pvid && v.first != v.last) {
      in.error(item["pvid"], at + ".pvid", "expected pvid on a single VLAN (id), not on a range");
      continue;
    }
    if (v.pvid && pvidAt) {
      in.error(item["pvid"], at + ".pvid",
               "expected one pvid per port; item " + std::to_string(*pvidAt) + " is the pvid already");
      continue;
    }
    bool overlaps = false;
    for (std::size_t j = 0; j < out.size() && !overlaps; ++j)
      if (v.first <= out[j].last && out[j].first <= v.last) {
        in.error(item, at,
                 "expected each VLAN once; " + showVlan(v) + " overlaps item " + std::to_string(itemOf[j]) + " (" +
                     showVlan(out[j]) + ")");
        overlaps = true;
      }
    if (overlaps) continue;
    if (v.pvid) pvidAt = i;
    out.push_back(v);
    itemOf.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

static BridgePortOptions readPortOptions(SpecReader& in, const yaml::Node& port, const std::string& path,
                                         bool vlanFiltering) {
  BridgePortOptions o;
  if (port["cost"]) o.cost = in.number(port["cost"]);
  if (port["priority"]) o.priority = in.number(port["priority"]);
  if (port["hairpin"]) o.hairpin = in.flag(port["hairpin"], false);
  if (port["isolated"]) o.isolated = in.flag(port["isolated"], false);
  if (port["learning"]) o.learning = in.flag(port["learning"], true);
  if (const yaml::Node vlans = port["vlans"]) {
    if (!vlanFiltering)
      in.error(vlans, path + ".vlans", "expected vlanFiltering: true on the bridge for per-port vlans");
    else
      o.vlans = readVlans(in, vlans, path + ".vlans");
  }
  return o;
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
  b.vlanFiltering = in.flag(s["vlanFiltering"], false);
  if (const yaml::Node pvid = s["defaultPvid"]) {
    b.defaultPvid = static_cast<std::uint16_t>(in.number(pvid));
    if (!b.vlanFiltering) in.error(pvid, "spec.defaultPvid", "expected vlanFiltering: true for a defaultPvid");
  }
  const yaml::Node ports = s["ports"];
  std::map<std::string, std::size_t> portAt;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const yaml::Node port = ports[i];
    const std::string path = "spec.ports[" + std::to_string(i) + "]";
    const yaml::Node nameNode = port.isMap() ? port["name"] : port;
    const std::string& name = nameNode.scalar();
    if (auto [it, fresh] = portAt.emplace(name, i); !fresh) {
      in.error(nameNode, port.isMap() ? path + ".name" : path,
               "expected each port once; " + name + " is also item " + std::to_string(it->second));
      continue;
    }
    b.ports.push_back(name);
    if (!port.isMap()) continue;
    BridgePortOptions o = readPortOptions(in, port, path, b.vlanFiltering);
    if (!o.empty()) b.portOptions.emplace(name, std::move(o));
  }
  b.addresses = in.texts(s["addresses"]);
  if (const yaml::Node fdb = s["fdb"]) {
    std::vector<FdbEntry> entries;
    std::map<std::pair<std::string, int>, std::size_t> keyAt;
    for (std::size_t i = 0; i < fdb.size(); ++i) {
      const yaml::Node item = fdb[i];
      const std::string path = "spec.fdb[" + std::to_string(i) + "]";
      FdbEntry e;
      e.mac = in.mac(item["mac"]).value_or("");
      e.port = in.text(item["port"]);
      if (!portAt.contains(e.port)) {
        in.error(item["port"], path + ".port",
                 "expected one of the bridge's ports (" + showList(b.ports) + "), found " + in.shown(item["port"]));
        continue;
      }
      if (const yaml::Node vlan = item["vlan"]) {
        if (!b.vlanFiltering) {
          in.error(vlan, path + ".vlan", "expected vlanFiltering: true on the bridge for an FDB entry's vlan");
          continue;
        }
        e.vlan = static_cast<std::uint16_t>(in.number(vlan));
      } else if (b.vlanFiltering) {
        // The kernel would add an entry without a VLAN to every VLAN of the port.
        in.error(item, path,
                 "expected a vlan for an FDB entry of a bridge with vlanFiltering (the kernel adds an entry "
                 "without one to every VLAN of the port)");
        continue;
      }
      if (auto [it, fresh] = keyAt.emplace(std::make_pair(e.mac, e.vlan.value_or(0)), i); !fresh) {
        in.error(item, path,
                 "expected each MAC address once per VLAN; " + e.mac + (e.vlan ? " vlan " + std::to_string(*e.vlan) : "") +
                     " is also item " + std::to_string(it->second));
        continue;
      }
      entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end());
    b.fdb = std::move(entries);
  }
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
  w.changed("vlanFiltering", s.vlanFiltering, d.vlanFiltering);
  if (s.vlanFiltering) w.changed("defaultPvid", std::uint32_t{s.defaultPvid}, std::uint32_t{d.defaultPvid});
  if (s.portOptions.empty()) {
    w.list("ports", s.ports);
  } else {
    w.beginList("ports");
    for (const std::string& name : s.ports) {
      auto it = s.portOptions.find(name);
      if (it == s.portOptions.end()) {
        w.item(name);
        continue;
      }
      const BridgePortOptions& o = it->second;
      w.beginItem();
      w.put("name", name);
      if (o.cost) w.put("cost", *o.cost);
      if (o.priority) w.put("priority", *o.priority);
      if (o.hairpin) w.put("hairpin", *o.hairpin);
      if (o.isolated) w.put("isolated", *o.isolated);
      if (o.learning) w.put("learning", *o.learning);
      if (o.vlans) {
        w.beginList("vlans");
        for (const BridgeVlan& v : *o.vlans) {
          w.beginItem();
          if (v.first == v.last)
            w.put("id", std::uint32_t{v.first});
          else
            w.put("range", std::to_string(v.first) + "-" + std::to_string(v.last));
          if (v.pvid) w.put("pvid", true);
          if (v.untagged) w.put("untagged", true);
          w.endItem();
        }
        w.endList();
      }
      w.endItem();
    }
    w.endList();
  }
  w.list("addresses", s.addresses);
  if (s.fdb) {
    w.beginList("fdb");
    for (const FdbEntry& e : *s.fdb) {
      w.beginItem();
      w.put("mac", e.mac);
      w.put("port", e.port);
      if (e.vlan) w.put("vlan", std::uint32_t{*e.vlan});
      w.endItem();
    }
    w.endList();
  }
}

std::string showVlan(const BridgeVlan& v) {
  std::string out = std::to_string(v.first);
  if (v.last != v.first) out += "-" + std::to_string(v.last);
  if (v.pvid) out += " pvid";
  if (v.untagged) out += " untagged";
  return out;
}

std::string showVlans(const std::vector<BridgeVlan>& vlans) {
  std::vector<std::string> items;
  for (const BridgeVlan& v : vlans) items.push_back(showVlan(v));
  return showList(items);
}

std::string showFdb(const FdbEntry& e) {
  return e.mac + " on " + e.port + (e.vlan ? " vlan " + std::to_string(*e.vlan) : "");
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
  if (s.vlanFiltering) {
    f.add("vlanFiltering", true);
    f.add("defaultPvid", std::to_string(s.defaultPvid));
  }
  f.add("ports", showList(s.ports));
  for (const std::string& name : s.ports) {
    auto it = s.portOptions.find(name);
    if (it == s.portOptions.end()) continue;
    const BridgePortOptions& o = it->second;
    const std::string p = "ports[" + name + "].";
    if (o.cost) f.add(p + "cost", std::to_string(*o.cost));
    if (o.priority) f.add(p + "priority", std::to_string(*o.priority));
    if (o.hairpin) f.add(p + "hairpin", *o.hairpin);
    if (o.isolated) f.add(p + "isolated", *o.isolated);
    if (o.learning) f.add(p + "learning", *o.learning);
    if (o.vlans) f.add(p + "vlans", showVlans(*o.vlans));
  }
  f.add("addresses", showList(s.addresses));
  if (s.fdb) {
    std::vector<std::string> entries;
    for (const FdbEntry& e : *s.fdb) entries.push_back(showFdb(e));
    f.add("fdb", showList(entries));
  }
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
