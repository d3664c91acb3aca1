#include "providers/netlink/link_message.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <netlink/attr.h>

#include "providers/netlink/normalize.h"

namespace hostform::netlink {

MessagePtr linkMessage(int flags, int index, const std::string& name) {
  MessagePtr msg(nlmsg_alloc_simple(RTM_NEWLINK, flags));
  if (!msg) return msg;
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) return nullptr;
  if (index == 0 && nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0) return nullptr;
  return msg;
}

void setAdminState(nl_msg* msg, AdminState state) {
  auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(nlmsg_hdr(msg)));
  // ifi_change must name IFF_UP: zero would mean "every flag" to the kernel.
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = state == AdminState::Up ? IFF_UP : 0;
}

bool putMac(nl_msg* msg, const std::string& mac) {
  auto bytes = parseMac(mac);
  return bytes && nla_put(msg, IFLA_ADDRESS, static_cast<int>(bytes->size()), bytes->data()) >= 0;
}

bool putAlias(nl_msg* msg, const std::string& owner) {
  return nla_put_string(msg, IFLA_IFALIAS, ownerMark(owner).c_str()) >= 0;
}

}  // namespace hostform::netlink
