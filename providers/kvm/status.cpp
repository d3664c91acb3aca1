#include "providers/kvm/status.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

#include "providers/netlink/neighbours.h"

namespace hostform::kvm {
namespace {

/// Where libvirtd keeps a running domain's pid file: the system daemon's
/// /run/libvirt/qemu, or a session daemon's $XDG_RUNTIME_DIR/libvirt/qemu/run.
std::optional<std::string> pidFile(const std::string& uri, const std::string& name) {
  if (uri.find("/session") != std::string::npos) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (!runtime || !*runtime) return std::nullopt;
    return std::string(runtime) + "/libvirt/qemu/run/" + name + ".pid";
  }
  return "/run/libvirt/qemu/" + name + ".pid";
}

/// Seconds since the domain's QEMU started: libvirt writes the pid file as it
/// starts the process. nullopt when there is no such file here.
std::optional<std::int64_t> uptimeOf(const std::string& uri, const std::string& name) {
  auto file = pidFile(uri, name);
  struct stat st {};
  if (!file || ::stat(file->c_str(), &st) != 0) return std::nullopt;
  const std::int64_t now = std::time(nullptr);
  return now > st.st_mtime ? now - st.st_mtime : 0;
}

bool usable(const std::string& address, int type) {
  if (type == VIR_IP_ADDR_TYPE_IPV4) return !address.starts_with("127.");
  return address != "::1" && !(address.size() >= 4 && (address.starts_with("fe8") || address.starts_with("fe9") ||
                                                        address.starts_with("fea") || address.starts_with("feb")));
}

/// At most this many addresses of one guest: the agent's report is the
/// guest's word, and a hostile guest could claim thousands.
constexpr std::size_t kMostAddresses = 64;

/// The guest agent's report, without loopback and IPv6 link-local addresses;
/// nullopt when no agent answers (none configured, or not running in the guest).
std::optional<std::vector<GuestAddress>> fromAgent(virDomainPtr dom) {
  virDomainInterfacePtr* ifaces = nullptr;
  const int count = virDomainInterfaceAddresses(dom, &ifaces, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0);
  if (count < 0) {
    spdlog::debug("kvm: no guest agent answers for {}: {}", virDomainGetName(dom), lastError());
    return std::nullopt;
  }
  std::vector<GuestAddress> out;
  for (int i = 0; i < count; ++i) {
    const virDomainInterfacePtr iface = ifaces[i];
    const std::string mac = iface->hwaddr ? iface->hwaddr : "";
    for (unsigned j = 0; j < iface->naddrs; ++j) {
      const std::string address = iface->addrs[j].addr ? iface->addrs[j].addr : "";
      if (!address.empty() && usable(address, iface->addrs[j].type) && out.size() < kMostAddresses)
        out.push_back({address, mac, "agent"});
    }
    virDomainInterfaceFree(iface);
  }
  free(ifaces);  // NOLINT(cppcoreguidelines-no-malloc)
  return out;
}

std::vector<GuestAddress> fromNeighbours(const DomainInfo& domain) {
  std::vector<std::string> macs;
  for (const DomainNic& nic : domain.config.nics)
    if (!nic.mac.empty()) macs.push_back(nic.mac);
  if (macs.empty()) return {};
  auto table = netlink::readNeighbours();
  if (!table) {
    spdlog::warn("kvm: {}", table.error().message);
    return {};
  }
  std::vector<GuestAddress> out;
  for (const netlink::Neighbour& n : netlink::neighboursOf(*table, macs)) out.push_back({n.ip, n.mac, "neighbour"});
  return out;
}

}  // namespace

std::vector<StatusFact> poolStatus(const PoolInfo& pool) {
  return {wordFact("state", pool.active ? "active" : "inactive"), sizeFact("capacity", pool.config.capacity),
          sizeFact("available", pool.config.available)};
}

std::vector<StatusFact> volumeStatus(const VolumeInfo& volume) {
  return {wordFact("state", "present"), sizeFact("allocation", volume.config.allocation),
          sizeFact("capacity", volume.config.capacity)};
}

StatusFact addressesFact(const std::vector<GuestAddress>& addresses) {
  std::string text;
  nlohmann::json list = nlohmann::json::array();
  for (const GuestAddress& a : addresses) {
    text += (text.empty() ? "" : ", ") + a.address + " (" + a.source + ")";
    list.push_back({{"address", a.address}, {"mac", a.mac}, {"source", a.source}});
  }
  return {"addresses", text.empty() ? "none" : text, std::move(list)};
}

std::string_view stateWord(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "idle";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "in shutdown";
    case VIR_DOMAIN_SHUTOFF: return "shut off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
    default: return "no state";
  }
}

std::vector<StatusFact> domainStatus(virConnectPtr conn, const std::string& uri, bool local, const DomainInfo& domain) {
  DomainHandle dom(virDomainLookupByName(conn, domain.config.name.c_str()));
  if (!dom) return {wordFact("state", "absent")};  // gone since observe
  int state = VIR_DOMAIN_NOSTATE, reason = 0;
  if (virDomainGetState(dom.get(), &state, &reason, 0) < 0)
    return {wordFact("state", "unknown"), wordFact("error", "cannot read the state: " + lastError())};
  std::vector<StatusFact> facts{wordFact("state", std::string(stateWord(state)))};
  if (virDomainIsActive(dom.get()) != 1) return facts;
  if (local)
    if (auto uptime = uptimeOf(uri, domain.config.name)) facts.push_back(secondsFact("uptime", *uptime));
  auto addresses = fromAgent(dom.get());
  if (!addresses && local) addresses = fromNeighbours(domain);
  if (addresses) facts.push_back(addressesFact(*addresses));
  return facts;
}

}  // namespace hostform::kvm
