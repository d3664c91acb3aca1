#include "providers/netlink/status.h"

#include <algorithm>

#include <netlink/route/link.h>

#include "providers/netlink/session.h"

namespace hostform::netlink {

std::vector<StatusFact> bridgeStatus(const std::string& name, const std::vector<LinkStatus>& links) {
  auto bridge = std::find_if(links.begin(), links.end(), [&](const LinkStatus& l) { return l.name == name; });
  if (bridge == links.end()) return {wordFact("state", "absent")};
  std::vector<const LinkStatus*> ports;
  for (const LinkStatus& l : links)
    if (l.master == bridge->index && l.index != bridge->index) ports.push_back(&l);
  std::sort(ports.begin(), ports.end(), [](const LinkStatus* a, const LinkStatus* b) { return a->name < b->name; });

  std::string text;
  nlohmann::json list = nlohmann::json::array();
  for (const LinkStatus* p : ports) {
    text += (text.empty() ? "" : ", ") + p->name + (p->carrier ? " (carrier)" : " (no carrier)");
    list.push_back({{"name", p->name}, {"carrier", p->carrier}});
  }
  return {wordFact("state", bridge->operState),
          StatusFact{"carrier", bridge->carrier ? "yes" : "no", bridge->carrier},
          StatusFact{"ports", text.empty() ? "none" : text, std::move(list)}};
}

Result<std::vector<LinkStatus>> readLinkStatus() {
  auto sock = connectRoute();
  if (!sock) return hostform::unexpected(sock.error());
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock->get(), AF_UNSPEC, &raw); err < 0)
    return fail("cannot read the network interfaces: " + errorText(err) + ".");
  CachePtr cache(raw);
  std::vector<LinkStatus> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    LinkStatus s;
    s.name = rtnl_link_get_name(link) ? rtnl_link_get_name(link) : "";
    s.index = rtnl_link_get_ifindex(link);
    s.master = rtnl_link_get_master(link);
    char state[32] = {};
    rtnl_link_operstate2str(rtnl_link_get_operstate(link), state, sizeof state);
    s.operState = state;
    s.carrier = rtnl_link_get_carrier(link) != 0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hostform::netlink
