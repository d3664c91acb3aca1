#include "tests/integration/netlink/netns.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/support/manifests.h"

namespace hostform::nltest {

namespace {

nlohmann::json ipJson(const std::vector<std::string>& args) {
  Outcome r = run(IP_BINARY, args);
  if (r.code != 0 || r.out.empty()) return nlohmann::json::array();
  return nlohmann::json::parse(r.out, nullptr, false);
}

}  // namespace

Outcome run(const std::string& program, const std::vector<std::string>& args) {
  return testing::runProgram(program, args);
}

Outcome hostform(const std::vector<std::string>& args) { return run(HOSTFORM_BINARY, args); }

void ip(const std::vector<std::string>& args) {
  Outcome r = run(IP_BINARY, args);
  std::string line;
  for (const auto& a : args) line += " " + a;
  ASSERT_EQ(r.code, 0) << "ip" << line << ": " << r.err;
}

bool inPrivateNamespace() {
  nlohmann::json links = ipJson({"-j", "link", "show"});
  return links.is_array() && links.size() == 1 && links[0].value("ifname", "") == "lo";
}

std::optional<nlohmann::json> link(const std::string& name) {
  nlohmann::json links = ipJson({"-j", "-d", "link", "show", "dev", name});
  if (!links.is_array() || links.empty()) return std::nullopt;
  return links[0];
}

std::vector<std::string> globalAddresses(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& l : ipJson({"-j", "addr", "show", "dev", name}))
    for (const auto& a : l.value("addr_info", nlohmann::json::array()))
      if (a.value("scope", "") == "global")
        out.push_back(a.value("local", "") + "/" + std::to_string(a.value("prefixlen", 0)));
  std::sort(out.begin(), out.end());
  return out;
}

std::string masterOf(const std::string& name) {
  auto l = link(name);
  return l ? l->value("master", "") : "";
}

void deleteAllLinks() {
  // Bridges first would release ports anyway; peers of deleted veths vanish with them.
  for (const auto& l : ipJson({"-j", "link", "show"})) {
    const std::string name = l.value("ifname", "");
    if (name == "lo" || !link(name)) continue;
    run(IP_BINARY, {"link", "del", "dev", name});
  }
}

void addVeth(const std::string& name) {
  ip({"link", "add", name + "a", "type", "veth", "peer", "name", name + "b"});
  ip({"link", "set", name + "a", "up"});
  ip({"link", "set", name + "b", "up"});
}

}  // namespace hostform::nltest
