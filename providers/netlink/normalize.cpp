#include "providers/netlink/normalize.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace hostform::netlink {

std::uint32_t toCentis(Millis ms) { return static_cast<std::uint32_t>(ms.count() / 10); }

Millis fromCentis(std::uint32_t cs) { return Millis(static_cast<Millis::rep>(cs) * 10); }

bool timerMatches(Millis desired, std::uint32_t liveCs) {
  const std::uint32_t want = toCentis(desired);
  return liveCs == want || liveCs + 1 == want;
}

std::optional<Cidr> parseCidr(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string ip(text.substr(0, slash));
  const std::string_view prefixText = text.substr(slash + 1);
  Cidr out;
  auto [end, ec] = std::from_chars(prefixText.data(), prefixText.data() + prefixText.size(), out.prefix);
  if (ec != std::errc() || end != prefixText.data() + prefixText.size() || prefixText.empty()) return std::nullopt;
  unsigned char buf[16];
  char shown[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, ip.c_str(), buf) != 1) continue;
    if (out.prefix < 0 || out.prefix > (family == AF_INET ? 32 : 128)) return std::nullopt;
    if (!inet_ntop(family, buf, shown, sizeof shown)) return std::nullopt;
    out.family = family;
    out.ip = shown;
    return out;
  }
  return std::nullopt;
}

bool isLinkLocal(const Cidr& cidr) {
  if (cidr.family != AF_INET6) return false;
  unsigned char buf[16];
  if (inet_pton(AF_INET6, cidr.ip.c_str(), buf) != 1) return false;
  return buf[0] == 0xfe && (buf[1] & 0xc0) == 0x80;
}

std::vector<std::string> canonicalAddresses(const std::vector<std::string>& cidrs) {
  std::vector<std::string> out;
  out.reserve(cidrs.size());
  for (const std::string& c : cidrs) {
    auto parsed = parseCidr(c);
    out.push_back(parsed ? parsed->str() : c);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string formatMac(const unsigned char* bytes, std::size_t length) {
  std::string out;
  char octet[4];
  for (std::size_t i = 0; i < length; ++i) {
    std::snprintf(octet, sizeof octet, i ? ":%02x" : "%02x", bytes[i]);
    out += octet;
  }
  return out;
}

std::optional<std::vector<unsigned char>> parseMac(std::string_view text) {
  std::vector<unsigned char> out;
  std::size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    if (i && (pos >= text.size() || text[pos++] != ':')) return std::nullopt;
    if (pos + 2 > text.size()) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + 2, value, 16);
    if (ec != std::errc() || end != text.data() + pos + 2) return std::nullopt;
    out.push_back(static_cast<unsigned char>(value));
    pos += 2;
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

namespace {
constexpr std::string_view kMarkPrefix = "hostform:owner=";
}

std::string ownerMark(std::string_view owner) { return std::string(kMarkPrefix) + std::string(owner); }

std::string ownerFromAlias(std::string_view alias) {
  if (!alias.starts_with(kMarkPrefix)) return {};
  return std::string(alias.substr(kMarkPrefix.size()));
}

VlanFlags expandVlans(const std::vector<BridgeVlan>& vlans) {
  VlanFlags out;
  for (const BridgeVlan& v : vlans)
    for (unsigned id = v.first; id <= v.last; ++id)
      out[static_cast<std::uint16_t>(id)] =
          static_cast<std::uint8_t>((v.pvid ? kVlanPvid : 0) | (v.untagged ? kVlanUntagged : 0));
  return out;
}

std::vector<BridgeVlan> compressVlans(const VlanFlags& flags) {
  std::vector<BridgeVlan> out;
  for (const auto& [id, f] : flags) {
    const bool pvid = (f & kVlanPvid) != 0, untagged = (f & kVlanUntagged) != 0;
    if (!out.empty() && !pvid && !out.back().pvid && out.back().untagged == untagged && out.back().last + 1 == id) {
      out.back().last = id;
      continue;
    }
    out.push_back(BridgeVlan{id, id, pvid, untagged});
  }
  return out;
}

std::string showList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

}  // namespace hostform::netlink
