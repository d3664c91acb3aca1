#include "providers/netlink/neighbours.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>

#include "reconciler/handle.h"

namespace hostform::netlink {
namespace {

using Socket = Handle<nl_sock, nl_socket_free>;
using Cache = Handle<nl_cache, nl_cache_free>;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// An nl_addr as inet_ntop writes it ("10.0.0.5", "fd00::5"); empty for other families.
std::string ipText(nl_addr* addr) {
  if (!addr) return {};
  const int family = nl_addr_get_family(addr);
  const std::size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (want == 0 || nl_addr_get_len(addr) != want) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, nl_addr_get_binary_addr(addr), text, sizeof text)) return {};
  return text;
}

std::string macText(nl_addr* addr) {
  if (!addr || nl_addr_get_len(addr) != 6) return {};
  const auto* b = static_cast<const unsigned char*>(nl_addr_get_binary_addr(addr));
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return text;
}

bool linkLocal6(const Neighbour& n) {
  if (n.family != AF_INET6) return false;
  in6_addr a{};
  return inet_pton(AF_INET6, n.ip.c_str(), &a) == 1 && a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80;
}

}  // namespace

Result<std::vector<Neighbour>> readNeighbours() {
  Socket sock(nl_socket_alloc());
  if (!sock) return fail("cannot read the neighbour table: out of memory.");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return fail(std::string("cannot read the neighbour table: ") + nl_geterror(err) + ".");
  nl_cache* raw = nullptr;
  if (int err = rtnl_neigh_alloc_cache(sock.get(), &raw); err < 0)
    return fail(std::string("cannot read the neighbour table: ") + nl_geterror(err) + ".");
  Cache cache(raw);
  std::vector<Neighbour> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    Neighbour entry;
    entry.family = rtnl_neigh_get_family(n);
    entry.ip = ipText(rtnl_neigh_get_dst(n));
    entry.mac = macText(rtnl_neigh_get_lladdr(n));
    entry.ifindex = rtnl_neigh_get_ifindex(n);
    const int state = rtnl_neigh_get_state(n);
    entry.state = state < 0 ? 0 : static_cast<std::uint16_t>(state);
    if (!entry.ip.empty()) out.push_back(std::move(entry));
  }
  return out;
}

std::vector<Neighbour> neighboursOf(const std::vector<Neighbour>& table, const std::vector<std::string>& macs) {
  std::vector<std::string> wanted;
  for (const std::string& m : macs) wanted.push_back(lower(m));
  auto rank = [&](const Neighbour& n) {
    return static_cast<std::size_t>(std::find(wanted.begin(), wanted.end(), lower(n.mac)) - wanted.begin());
  };
  std::vector<Neighbour> out;
  for (const Neighbour& n : table) {
    if (n.mac.empty() || rank(n) == wanted.size()) continue;
    if (n.state & (NUD_INCOMPLETE | NUD_FAILED)) continue;
    if (linkLocal6(n)) continue;
    Neighbour copy = n;
    copy.mac = lower(n.mac);
    out.push_back(std::move(copy));
  }
  std::stable_sort(out.begin(), out.end(), [&](const Neighbour& a, const Neighbour& b) {
    const auto ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    if (a.family != b.family) return a.family == AF_INET;
    return a.ip < b.ip;
  });
  // The same address seen on two links (or twice) is one address.
  std::vector<Neighbour> unique;
  for (Neighbour& n : out)
    if (std::none_of(unique.begin(), unique.end(), [&](const Neighbour& u) { return u.ip == n.ip; }))
      unique.push_back(std::move(n));
  return unique;
}

}  // namespace hostform::netlink
