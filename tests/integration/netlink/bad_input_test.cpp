// Bad input and bad host state: each is refused at plan time with the field,
// line and a whole sentence (exit 1, nothing changed), or, when only the
// kernel can tell, fails the action with the kernel's reason (exit 4).

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/netlink/fixture.h"

namespace hostform::nltest {
namespace {

class BadInput : public NetnsTest {
 protected:
  /// Plans and applies `docs`; both must refuse with exactly `errors` and exit 1.
  void expectRefused(const std::vector<std::string>& docs, const std::string& errors) {
    const std::string file = manifest(docs);
    Outcome p = plan(docs);
    EXPECT_EQ(p.code, 1);
    EXPECT_EQ(p.out, "");
    EXPECT_EQ(p.err, errors);
    Outcome a = apply(docs);
    EXPECT_EQ(a.code, 1);
    EXPECT_EQ(a.out, "");
    EXPECT_EQ(a.err, errors);
  }
  std::string file() const { return dir_.path() + "/m.yaml"; }
};

TEST_F(BadInput, PortThatDoesNotExist) {
  addVeth("p1");
  expectRefused({bridgeDoc("br0", {{"ports", "[p1a, nope0]"}})},
                file() + ":5:16: error: spec.ports[1]: Interface nope0 does not exist on the host; create it first "
                         "or remove it from the ports.\n1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
  EXPECT_EQ(masterOf("p1a"), "");
}

TEST_F(BadInput, PortAlreadyOnABridgeTheseManifestsDoNotDeclare) {
  addVeth("p1");
  ip({"link", "add", "other", "type", "bridge"});
  ip({"link", "set", "p1a", "master", "other"});
  expectRefused({bridgeDoc("br0", {{"ports", "[p1a]"}})},
                file() + ":5:11: error: spec.ports[0]: Interface p1a is already attached to other, which these "
                         "manifests do not declare as a bridge; release it from other first.\n"
                         "1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
  EXPECT_EQ(masterOf("p1a"), "other");
}

TEST_F(BadInput, SamePortDeclaredOnTwoBridges) {
  addVeth("p1");
  expectRefused({bridgeDoc("br0", {{"ports", "[p1a]"}}), bridgeDoc("br1", {{"ports", "[p1a]"}})},
                file() + ":5:11: error: spec.ports[0]: Interface p1a is also declared as a port of Bridge/br1; an "
                         "interface can be a port of one bridge only.\n" +
                    file() + ":11:11: error: spec.ports[0]: Interface p1a is also declared as a port of Bridge/br0; "
                             "an interface can be a port of one bridge only.\n2 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
  EXPECT_FALSE(link("br1"));
}

TEST_F(BadInput, NameTakenByAnInterfaceThatIsNotABridge) {
  ip({"link", "add", "br0", "type", "veth", "peer", "name", "br0peer"});
  expectRefused({bridgeDoc("br0", {{"mtu", "9000"}})},
                file() + ":3:18: error: metadata.name: An interface named br0 already exists on the host as a veth "
                         "device, not a bridge; hostform will not replace it.\n1 error(s); nothing was changed.\n");
  EXPECT_EQ((*link("br0"))["mtu"], 1500);
}

TEST_F(BadInput, SameAddressDeclaredOnTwoBridges) {
  expectRefused({bridgeDoc("br0", {{"addresses", "[10.0.0.1/24]"}}), bridgeDoc("br1", {{"addresses", "[10.0.0.1/16]"}})},
                file() + ":5:15: error: spec.addresses[0]: Address 10.0.0.1 is also declared on Bridge/br1; an "
                         "address can be declared on one bridge only.\n" +
                    file() + ":11:15: error: spec.addresses[0]: Address 10.0.0.1 is also declared on Bridge/br0; an "
                             "address can be declared on one bridge only.\n2 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
}

TEST_F(BadInput, AddressAlreadyOnAnotherInterface) {
  addVeth("p1");
  ip({"addr", "add", "fd00::5/64", "dev", "p1b"});
  expectRefused({bridgeDoc("br0", {{"addresses", "[10.0.0.1/24, \"fd00::5/64\"]"}})},
                file() + ":5:28: error: spec.addresses[1]: Address fd00::5 is already assigned to p1b on the host; "
                         "remove it there first or declare a different address.\n1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
}

TEST_F(BadInput, LinkLocalAddressDeclared) {
  expectRefused({bridgeDoc("br0", {{"addresses", "[\"fe80::1/64\"]"}})},
                file() + ":5:15: error: spec.addresses[0]: Address fe80::1/64 is link-local; the kernel manages "
                         "link-local addresses, and spec.addresses lists global-scope addresses only.\n"
                         "1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
}

TEST_F(BadInput, LibvirtTapDeclaredAsAPort) {
  ip({"tuntap", "add", "dev", "vnet3", "mode", "tap"});
  expectRefused({bridgeDoc("br0", {{"ports", "[vnet3]"}})},
                file() + ":5:11: error: spec.ports[0]: Interface vnet3 is the tap device of a libvirt domain; libvirt "
                         "attaches it to its bridge, so it cannot be declared as a port.\n"
                         "1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
}

TEST_F(BadInput, ABridgeDeclaredAsAPort) {
  expectRefused({bridgeDoc("br0", {{"ports", "[br1]"}}), bridgeDoc("br1", {})},
                file() + ":5:11: error: spec.ports[0]: Interface br1 is a bridge; a bridge cannot be a port of "
                         "another bridge.\n1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
  EXPECT_FALSE(link("br1"));
}

TEST_F(BadInput, DownWithIpv6AddressesThatTheKernelWouldDrop) {
  expectRefused({bridgeDoc("br0", {{"state", "down"}, {"addresses", "[10.0.0.1/24, \"fd00::1/64\"]"}})},
                file() + ":5:10: error: spec.state: The kernel removes IPv6 addresses from an interface that is "
                         "down, so br0 cannot be down and keep fd00::1/64; set "
                         "net.ipv6.conf.all.keep_addr_on_down=1 or declare the bridge up.\n"
                         "1 error(s); nothing was changed.\n");
  EXPECT_FALSE(link("br0"));
}

TEST_F(BadInput, KernelRefusalFailsTheActionWithTheKernelsReason) {
  // A tun (layer 3) device cannot be a bridge port; only the kernel says so.
  ip({"tuntap", "add", "dev", "tun0", "mode", "tun"});
  ASSERT_EQ(apply({bridgeDoc("br0", {{"mtu", "1500"}})}).code, 0);
  Outcome r = apply({bridgeDoc("br0", {{"mtu", "1500"}, {"ports", "[tun0]"}})});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.out, "~ Bridge/br0                    ports [] -> [tun0], ports[tun0].state down -> up\n"
                   "Plan: 0 to create, 1 to change, 0 to delete.\n"
                   "Bridge/br0: failed: cannot add port tun0 to bridge br0: Invalid input data or parameter.\n"
                   "Apply incomplete: 0 done, 1 failed, 0 skipped.\n"
                   "  Bridge/br0: failed: cannot add port tun0 to bridge br0: Invalid input data or parameter.\n"
                   // The checkpoint (docs/spec.md §4): the bridge itself did not change.
                   "Rolling back the network changes of this apply:\n"
                   "Nothing to roll back: the network objects are as they were before the apply.\n");
  EXPECT_EQ(masterOf("tun0"), "");
}

}  // namespace
}  // namespace hostform::nltest
