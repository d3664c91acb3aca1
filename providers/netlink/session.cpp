#include "providers/netlink/session.h"

#include <netlink/errno.h>
#include <netlink/socket.h>

namespace hostform::netlink {

Result<SocketPtr> connectRoute() {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) return fail("cannot allocate a netlink socket: out of memory.");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return fail("cannot open a route netlink socket: " + errorText(err) + ".");
  // A full link dump of a few hundred interfaces exceeds libnl's one-page
  // default; peeking sizes each read to the message instead of truncating it.
  nl_socket_enable_msg_peek(sock.get());
  nl_socket_set_msg_buf_size(sock.get(), 64 * 1024);
  return sock;
}

std::string errorText(int nlError) { return nl_geterror(nlError); }

Result<void> request(nl_sock* sock, nl_msg* msg, const std::string& what) {
  nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
  if (int err = nl_send_auto(sock, msg); err < 0) return fail(what + ": " + errorText(err) + ".");
  if (int err = nl_wait_for_ack(sock); err < 0) return fail(what + ": " + errorText(err) + ".");
  return {};
}

namespace {

int onValid(nl_msg* msg, void* arg) {
  (*static_cast<const std::function<void(nlmsghdr*)>*>(arg))(nlmsg_hdr(msg));
  return NL_OK;
}

}  // namespace

int exchange(nl_sock* sock, nl_msg* msg, const std::function<void(nlmsghdr*)>& onMessage) {
  if (int err = nl_send_auto(sock, msg); err < 0) return err;
  // Callbacks for this exchange only, so the socket's defaults stay as they were.
  using CallbacksPtr = Handle<nl_cb, nl_cb_put>;
  CallbacksPtr base(nl_socket_get_cb(sock));
  CallbacksPtr cb(base ? nl_cb_clone(base.get()) : nullptr);
  if (!cb) return -NLE_NOMEM;
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, onValid, const_cast<std::function<void(nlmsghdr*)>*>(&onMessage));
  int err = nl_recvmsgs(sock, cb.get());
  // libnl asks for an acknowledgement of every request. A dump ends with
  // NLMSG_DONE instead, but a single answer is followed by the ack, which
  // must be read here or the next exchange on this socket would take it.
  if (err >= 0 && !(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP)) err = nl_wait_for_ack(sock);
  return err < 0 ? err : 0;
}

Result<void> dump(nl_sock* sock, nl_msg* msg, const std::function<void(nlmsghdr*)>& onMessage,
                  const std::string& what) {
  if (int err = exchange(sock, msg, onMessage); err < 0) return fail(what + ": " + errorText(err) + ".");
  return {};
}

}  // namespace hostform::netlink
