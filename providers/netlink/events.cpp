#include "providers/netlink/events.h"

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <netlink/msg.h>
#include <netlink/socket.h>

#include "providers/netlink/session.h"

namespace hostform::netlink {
namespace {

class RouteEvents final : public EventSource {
 public:
  explicit RouteEvents(SocketPtr sock) : sock_(std::move(sock)) {}
  std::string_view name() const override { return "netlink"; }
  int fd() const override { return nl_socket_get_fd(sock_.get()); }

  Result<std::size_t> drain() override {
    std::size_t relevant = 0;
    for (;;) {
      const ssize_t n = recv(fd(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return relevant;
        // ENOBUFS: the kernel dropped notifications (a burst larger than the
        // receive buffer). Something changed; a cycle reads it all anyway.
        if (errno == ENOBUFS) {
          ++relevant;
          continue;
        }
        return fail(std::string("cannot read netlink notifications: ") + std::strerror(errno) + ".");
      }
      if (n == 0) return relevant;
      int left = static_cast<int>(n);
      // libnl's nlmsg_ok/nlmsg_next: the kernel's NLMSG_OK macro compares signed with unsigned (clang -Wsign-compare).
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer_.data()); nlmsg_ok(h, left); h = nlmsg_next(h, &left))
        if (relevantRouteMessage(h)) ++relevant;
    }
  }

 private:
  SocketPtr sock_;
  std::array<char, 64 * 1024> buffer_{};
};

}  // namespace

bool relevantRouteMessage(const nlmsghdr* h) {
  switch (h->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return true;
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return false;
      const auto* a = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
      return a->ifa_scope != RT_SCOPE_LINK && a->ifa_scope != RT_SCOPE_HOST;
    }
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return false;
      const auto* n = static_cast<const ndmsg*>(NLMSG_DATA(h));
      // The same test as readStaticFdb(): what a bridge's `fdb` declares.
      return n->ndm_family == AF_BRIDGE && n->ndm_state == NUD_NOARP && !(n->ndm_flags & NTF_SELF);
    }
    default:
      return false;
  }
}

Result<std::unique_ptr<EventSource>> openRouteEvents() {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) return fail("cannot allocate a netlink socket: out of memory.");
  // Notifications carry no sequence numbers of ours.
  nl_socket_disable_seq_check(sock.get());
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return fail("cannot open a route netlink socket for notifications: " + errorText(err) + ".");
  if (int err = nl_socket_add_memberships(sock.get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                          RTNLGRP_NEIGH, 0);
      err < 0)
    return fail("cannot subscribe to netlink link, address and neighbour notifications: " + errorText(err) + ".");
  if (int err = nl_socket_set_nonblocking(sock.get()); err < 0)
    return fail("cannot make the netlink notification socket non-blocking: " + errorText(err) + ".");
  // Room for a burst (a bridge with many ports created at once); an overrun
  // is survivable (ENOBUFS: a cycle runs) but better avoided.
  nl_socket_set_buffer_size(sock.get(), 1 << 20, 0);
  return std::unique_ptr<EventSource>(std::make_unique<RouteEvents>(std::move(sock)));
}

}  // namespace hostform::netlink
