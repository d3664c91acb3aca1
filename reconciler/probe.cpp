#include "reconciler/probe.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "reconciler/handle.h"
#include "reconciler/units.h"

namespace hostform {
namespace {

std::string lastError() { return std::error_code(errno, std::generic_category()).message(); }

std::uint16_t checksum(const unsigned char* data, std::size_t len) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (len % 2) sum += static_cast<std::uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

std::string ProbeTarget::shown() const { return address + (interface.empty() ? "" : " from " + interface); }

Result<ProbeTarget> parseProbe(const std::string& text) {
  ProbeTarget t;
  std::string address = text;
  if (const auto slash = text.find('/'); slash != std::string::npos) {
    t.interface = text.substr(0, slash);
    address = text.substr(slash + 1);
    if (t.interface.empty() || t.interface.size() >= IFNAMSIZ)
      return fail("--probe " + text + ": the interface before '/' must have 1 to 15 characters.");
  }
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    t.address = address;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    t.address = address;
    t.ipv6 = true;
  } else {
    return fail("--probe " + text + ": expected [INTERFACE/]ADDRESS with an IPv4 or IPv6 address, like "
                "br0/203.0.113.1 or br0/fd00::1.");
  }
  return t;
}

Result<std::chrono::milliseconds> probe(const ProbeTarget& target, std::chrono::milliseconds timeout) {
  const int family = target.ipv6 ? AF_INET6 : AF_INET;
  const int protocol = target.ipv6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  UniqueFd fd(::socket(family, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (fd.get() < 0) return fail("cannot open an ICMP socket to probe " + target.shown() + ": " + lastError() + ".");
  if (!target.interface.empty() &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, target.interface.c_str(),
                   static_cast<socklen_t>(target.interface.size())) != 0)
    return fail("cannot probe from " + target.interface + ": " + lastError() + ".");
  sockaddr_storage to{};
  socklen_t toLen = 0;
  if (target.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, target.address.c_str(), &a->sin6_addr);
    if (!target.interface.empty()) a->sin6_scope_id = if_nametoindex(target.interface.c_str());
    toLen = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, target.address.c_str(), &a->sin_addr);
    toLen = sizeof *a;
  }
  const auto ident = static_cast<std::uint16_t>(::getpid() & 0xffff);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + timeout;
  auto nextSend = start;
  std::uint16_t seq = 0;
  std::string sendError;
  while (std::chrono::steady_clock::now() < end) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= nextSend) {
      std::array<unsigned char, 16> packet{};
      packet[0] = target.ipv6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
      packet[4] = static_cast<unsigned char>(ident >> 8);
      packet[5] = static_cast<unsigned char>(ident & 0xff);
      ++seq;
      packet[6] = static_cast<unsigned char>(seq >> 8);
      packet[7] = static_cast<unsigned char>(seq & 0xff);
      std::memcpy(packet.data() + 8, "hostform", 8);
      if (!target.ipv6) {  // the kernel fills in ICMPv6's checksum, not ICMP's
        const std::uint16_t sum = checksum(packet.data(), packet.size());
        packet[2] = static_cast<unsigned char>(sum >> 8);
        packet[3] = static_cast<unsigned char>(sum & 0xff);
      }
      if (::sendto(fd.get(), packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), toLen) < 0)
        sendError = lastError();  // no route yet, a neighbour unresolved: keep trying until the timeout
      nextSend = now + std::chrono::milliseconds(200);
    }
    const auto wait = std::min(nextSend, end) - std::chrono::steady_clock::now();
    pollfd p{fd.get(), POLLIN, 0};
    const int ms = static_cast<int>(std::max<long long>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
    if (::poll(&p, 1, ms) <= 0) continue;
    std::array<unsigned char, 1500> buf{};
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    const ssize_t n = ::recvfrom(fd.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n <= 0) continue;
    std::size_t off = 0;
    if (!target.ipv6) {  // a raw IPv4 socket receives the IP header too
      off = static_cast<std::size_t>(buf[0] & 0x0f) * 4;
      if (reinterpret_cast<sockaddr_in*>(&from)->sin_addr.s_addr !=
          reinterpret_cast<sockaddr_in*>(&to)->sin_addr.s_addr)
        continue;
    } else if (std::memcmp(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr,
                           &reinterpret_cast<sockaddr_in6*>(&to)->sin6_addr, sizeof(in6_addr)) != 0) {
      continue;
    }
    if (static_cast<std::size_t>(n) < off + 8) continue;
    const unsigned char* icmp = buf.data() + off;
    const unsigned char reply = target.ipv6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
    if (icmp[0] != reply || (icmp[4] << 8 | icmp[5]) != ident) continue;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }
  return fail(target.shown() + " did not answer within " + formatDuration(Millis(timeout.count())) +
              (sendError.empty() ? "" : " (" + sendError + ")") + ".");
}

}  // namespace hostform
