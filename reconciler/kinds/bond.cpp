#include "reconciler/kinds/bond.h"

#include <climits>

#include "reconciler/kinds/link_refs.h"

namespace hostform {

bool usesXmitHash(BondMode mode) { return mode != BondMode::ActiveBackup && mode != BondMode::Broadcast; }

static BondSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  BondSpec b;
  b.state = in.choice(s["state"], b.state);
  b.mode = in.choice(s["mode"], b.mode);
  b.miimon = in.duration(s["miimon"], "spec.miimon", b.miimon);
  // The kernel keeps miimon as an int of milliseconds.
  if (s["miimon"] && b.miimon > Millis(INT_MAX))
    in.error(s["miimon"], "spec.miimon",
             "expected a duration of at most " + formatDuration(Millis(INT_MAX)) + ", found " +
                 SpecReader::shown(s["miimon"]));
  if (const yaml::Node n = s["lacpRate"]) {
    b.lacpRate = in.choice(n, LacpRate::Slow);
    if (b.mode != BondMode::Lacp)
      in.error(n, "spec.lacpRate",
               "lacpRate applies to mode 802.3ad only, and the mode is " + std::string(toString(b.mode)));
  }
  if (const yaml::Node n = s["xmitHashPolicy"]) {
    b.xmitHashPolicy = in.choice(n, XmitHashPolicy::Layer2);
    if (!usesXmitHash(b.mode))
      in.error(n, "spec.xmitHashPolicy",
               "xmitHashPolicy does not apply to mode " + std::string(toString(b.mode)) +
                   (b.mode == BondMode::ActiveBackup ? ", which sends on one member at a time"
                                                     : ", which sends every frame on every member"));
  }
  b.members = in.texts(s["members"]);
  for (std::size_t i = 0; i < b.members.size(); ++i)
    if (b.members[i] == in.name())
      in.error(s["members"][i], "spec.members[" + std::to_string(i) + "]",
               "a bond cannot be its own member, found \"" + b.members[i] + "\"");
  if (s["mtu"]) b.mtu = in.number(s["mtu"]);
  b.macAddress = in.mac(s["macAddress"]);
  return b;
}

static void write(const BondSpec& s, SpecWriter& w) {
  const BondSpec d;
  w.word("state", s.state, d.state);
  w.word("mode", s.mode, d.mode);
  w.duration("miimon", s.miimon, d.miimon);
  if (s.lacpRate) w.put("lacpRate", std::string(toString(*s.lacpRate)));
  if (s.xmitHashPolicy) w.put("xmitHashPolicy", std::string(toString(*s.xmitHashPolicy)));
  w.list("members", s.members);
  if (s.mtu) w.put("mtu", *s.mtu);
  w.opt("macAddress", s.macAddress);
}

static void list(const BondSpec& s, FieldList& f) {
  f.add("state", std::string(toString(s.state)));
  f.add("mode", std::string(toString(s.mode)));
  f.add("miimon", formatDuration(s.miimon));
  if (s.lacpRate) f.add("lacpRate", std::string(toString(*s.lacpRate)));
  if (s.xmitHashPolicy) f.add("xmitHashPolicy", std::string(toString(*s.xmitHashPolicy)));
  f.add("members", showList(s.members));
  if (s.mtu) f.add("mtu", std::to_string(*s.mtu));
  f.add("macAddress", s.macAddress);
}

/// Members are usually NICs; a member that is a declared VLAN or VXLAN
/// interface is made first (a bond cannot be a member of a bond: the plan says so).
static void refer(const BondSpec& s, std::vector<Reference>& out) {
  for (std::size_t i = 0; i < s.members.size(); ++i)
    referToLinks(s.members[i], "spec.members[" + std::to_string(i) + "]", out);
}

constexpr EnumNames<BondMode, 7> kBondMode{{{BondMode::BalanceRr, "balance-rr"},
                                            {BondMode::ActiveBackup, "active-backup"},
                                            {BondMode::BalanceXor, "balance-xor"},
                                            {BondMode::Broadcast, "broadcast"},
                                            {BondMode::Lacp, "802.3ad"},
                                            {BondMode::BalanceTlb, "balance-tlb"},
                                            {BondMode::BalanceAlb, "balance-alb"}}};
constexpr EnumNames<LacpRate, 2> kLacpRate{{{LacpRate::Slow, "slow"}, {LacpRate::Fast, "fast"}}};
constexpr EnumNames<XmitHashPolicy, 6> kXmitHashPolicy{{{XmitHashPolicy::Layer2, "layer2"},
                                                        {XmitHashPolicy::Layer34, "layer3+4"},
                                                        {XmitHashPolicy::Layer23, "layer2+3"},
                                                        {XmitHashPolicy::Encap23, "encap2+3"},
                                                        {XmitHashPolicy::Encap34, "encap3+4"},
                                                        {XmitHashPolicy::VlanSrcMac, "vlan+srcmac"}}};

HOSTFORM_DEFINE_ENUM_NAMES(BondMode, kBondMode)
HOSTFORM_DEFINE_ENUM_NAMES(LacpRate, kLacpRate)
HOSTFORM_DEFINE_ENUM_NAMES(XmitHashPolicy, kXmitHashPolicy)

HOSTFORM_KIND(kBondKind, BondSpec, "Bond", 5, "bond.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
