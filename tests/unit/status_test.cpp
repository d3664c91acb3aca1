// `hostform status` in the engine (reconciler/status.h) with the fake
// provider: which providers it observes, what absent resources say, the
// text and JSON shapes; and the fact constructors every provider uses.

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reconciler/status.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using fake::FakeProvider;
using fake::FakeWorld;
using nlohmann::json;

/// A fake provider whose status says how many facts it was asked for.
class StatusProvider : public FakeProvider {
 public:
  using FakeProvider::FakeProvider;
  std::vector<StatusFact> status(const Resource& desired, const Observed* live, const Snapshot&) override {
    EXPECT_NE(live, nullptr) << "the engine answers absent resources itself";
    return {wordFact("state", "up"), sizeFact("size", 1536 * MiB), StatusFact{"name", desired.id.name, desired.id.name}};
  }
};

struct Fixture {
  testing::TempDir dir;
  std::shared_ptr<FakeWorld> world = std::make_shared<FakeWorld>();
  FakeProvider* kvm = nullptr;
  std::unique_ptr<ProviderSet> providers;
  std::ostringstream out, err;

  Fixture() {
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::make_unique<StatusProvider>("net", std::vector<Kind>{kinds::Bridge}, world));
    auto k = std::make_unique<FakeProvider>("kvm", std::vector<Kind>{kinds::StoragePool}, world);
    kvm = k.get();
    list.push_back(std::move(k));
    providers = std::make_unique<ProviderSet>(std::move(list));
  }

  int status(const std::string& yaml, OutputFormat output = OutputFormat::Text) {
    RunOptions o;
    o.files = {dir.write("host.yaml", yaml)};
    o.output = output;
    out.str("");
    err.str("");
    Console console{out, err, Color::Off};
    return runStatus(o, *providers, console);
  }
};

const char* kBridges = R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br1}
spec: {}
---
apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
)";

TEST(Status, AsksTheProviderOfEachPresentResourceAndSaysAbsentItself) {
  Fixture f;
  f.world->put(fake::makeBridge("br0"), "");
  f.kvm->observeError = "libvirtd is not running";  // not declared: never read
  ASSERT_EQ(f.status(kBridges), kExitOk) << f.err.str();
  EXPECT_EQ(f.out.str(),
            "Bridge/br0\n"
            "  state  up\n"
            "  size   1.5GiB\n"
            "  name   br0\n"
            "Bridge/br1\n"
            "  state  absent\n");
  EXPECT_EQ(f.err.str(), "");
  EXPECT_EQ(f.kvm->observeCalls(), 0u);
}

TEST(Status, JsonShape) {
  Fixture f;
  f.world->put(fake::makeBridge("br0"), "");
  ASSERT_EQ(f.status(kBridges, OutputFormat::Json), kExitOk) << f.err.str();
  EXPECT_EQ(json::parse(f.out.str()), json::parse(R"({"resources": [
      {"kind": "Bridge", "name": "br0", "present": true,
       "facts": {"state": "up", "size": 1610612736, "name": "br0"}},
      {"kind": "Bridge", "name": "br1", "present": false, "facts": {"state": "absent"}}]})"));
}

TEST(Status, ADeclaredKindsProviderThatCannotBeReadIsAnError) {
  Fixture f;
  f.kvm->observeError = "libvirtd is not running";
  EXPECT_EQ(f.status("apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\n"
                     "spec: {type: dir, target: /srv/p}\n"),
            kExitError);
  EXPECT_EQ(f.out.str(), "");
  EXPECT_EQ(f.err.str(), "error: kvm: cannot read the host's state: libvirtd is not running\n");
}

TEST(Status, BadManifestsGiveTheirPositionsAndNoOutput) {
  Fixture f;
  EXPECT_EQ(f.status("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {mtu: huge}\n"),
            kExitError);
  EXPECT_EQ(f.out.str(), "");
  EXPECT_TRUE(f.err.str().starts_with(f.dir.path() + "/host.yaml:4:")) << f.err.str();
  EXPECT_TRUE(f.err.str().ends_with("\n1 error(s).\n")) << f.err.str();
}

TEST(StatusFacts, SizesPercentagesAndDurationsReadTheSameEverywhere) {
  EXPECT_EQ(approximateSize(0), "0B");
  EXPECT_EQ(approximateSize(512), "512B");
  EXPECT_EQ(approximateSize(64 * MiB), "64MiB");
  EXPECT_EQ(approximateSize(64 * MiB - 100 * 1024), "63.9MiB");
  EXPECT_EQ(approximateSize(1536 * MiB), "1.5GiB");
  EXPECT_EQ(approximateSize(100 * GiB), "100GiB");
  const StatusFact pct = percentFact("dataPercent", 12.5);
  EXPECT_EQ(pct.text, "12.50%");
  EXPECT_EQ(pct.json, 12.5);
  const StatusFact unknown = percentFact("dataPercent", std::nullopt);
  EXPECT_EQ(unknown.text, "unknown");
  EXPECT_TRUE(unknown.json.is_null());
  const StatusFact up = secondsFact("uptime", 3723);
  EXPECT_EQ(up.text, "1h2m3s");
  EXPECT_EQ(up.json, 3723);
}

}  // namespace
}  // namespace hostform
