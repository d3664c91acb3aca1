// load + validate + plan of a generated 10,000-resource manifest against the
// in-memory fake provider (the engine's own cost, without any backend).
//
//   build/tests/bench/hostform_bench_plan [--resources=10000]
//
// Reports wall time per phase and the process's peak RSS (getrusage).

#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/loader.h"
#include "reconciler/planner.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

std::size_t gResources = 10'000;

/// A host-shaped manifest: bridges, VGs with LVs, pools with volumes (half of
/// them overlays), VMs using volumes, LVs and bridges. Exactly `n` resources.
std::string generate(std::size_t n) {
  std::ostringstream y;
  const std::size_t unit = n / 10;  // 10 resources per "unit" of a host
  std::size_t made = 0;
  auto doc = [&](const std::string& body) {
    y << "---\napiVersion: hostform/v1\n" << body;
    ++made;
  };
  for (std::size_t i = 0; i < unit && made < n; ++i) {
    const std::string k = std::to_string(i);
    const std::string vg = "vg" + std::to_string(i / 50), pool = "pool" + std::to_string(i / 50);
    if (i % 50 == 0) {
      doc("kind: VolumeGroup\nmetadata: {name: " + vg + "}\nspec:\n  physicalVolumes: [/dev/disk/by-id/d" + k +
          "]\n  extentSize: 4MiB\n");
      doc("kind: StoragePool\nmetadata: {name: " + pool + "}\nspec:\n  type: dir\n  target: /srv/" + pool + "\n");
    }
    doc("kind: Bridge\nmetadata:\n  name: br" + k + "\n  labels: {site: lab}\nspec:\n  mtu: 9000\n  stp:\n    enabled: true\n"
        "    forwardDelay: 4s\n  ports: [eth" + k + "]\n  addresses: [10." + std::to_string(i % 250) + ".0.1/24]\n");
    doc("kind: LogicalVolume\nmetadata: {name: data" + k + "}\nspec:\n  volumeGroup: " + vg + "\n  size: 10GiB\n");
    doc("kind: LogicalVolume\nmetadata: {name: log" + k + "}\nspec:\n  volumeGroup: " + vg + "\n  size: 512MiB\n");
    doc("kind: Volume\nmetadata: {name: base" + k + ".qcow2}\nspec:\n  pool: " + pool + "\n  capacity: 20GiB\n");
    doc("kind: Volume\nmetadata: {name: vm" + k + ".qcow2}\nspec:\n  pool: " + pool +
        "\n  capacity: 40GiB\n  backingVolume: {pool: " + pool + ", name: base" + k + ".qcow2}\n");
    doc("kind: Volume\nmetadata: {name: scratch" + k + ".raw}\nspec:\n  pool: " + pool +
        "\n  capacity: 1GiB\n  format: raw\n  allocation: full\n");
    doc("kind: VirtualMachine\nmetadata: {name: vm" + k + "}\nspec:\n  vcpus: 2\n  maxVcpus: 4\n  memory: 2GiB\n"
        "  maxMemory: 4GiB\n  disks:\n    - volume: {pool: " + pool + ", name: vm" + k + ".qcow2}\n"
        "    - logicalVolume: {volumeGroup: " + vg + ", name: data" + k + "}\n  interfaces:\n    - bridge: br" + k +
        "\n      macAddress: \"52:54:00:00:" + std::to_string(10 + i / 100 % 89) + ":" + std::to_string(10 + i % 89) + "\"\n");
  }
  while (made < n) doc("kind: Bridge\nmetadata: {name: x" + std::to_string(made) + "}\nspec: {}\n");
  return y.str();
}

struct World {
  std::shared_ptr<fake::FakeWorld> world = std::make_shared<fake::FakeWorld>();
  std::unique_ptr<ProviderSet> providers;
};

/// A fake host that has 60% of the resources as declared, 20% different and 20% missing.
World makeWorld(const std::vector<Resource>& desired) {
  World w;
  std::vector<std::unique_ptr<Provider>> list;
  list.push_back(std::make_unique<fake::FakeProvider>(
      "all", allKinds(), w.world));
  w.providers = std::make_unique<ProviderSet>(std::move(list));
  for (std::size_t i = 0; i < desired.size(); ++i) {
    if (i % 5 == 4) continue;
    Resource r = desired[i];
    if (i % 5 == 3)
      if (auto* b = r.spec.get_if<BridgeSpec>()) b->mtu = 1500;
    w.world->put(std::move(r), "default");
  }
  return w;
}

std::string manifestFile() {
  static testing::TempDir dir;
  static const std::string path = dir.write("host.yaml", generate(gResources));
  return path;
}

double peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void BM_LoadValidate(benchmark::State& state) {
  const std::string file = manifestFile();
  for (auto _ : state) {
    LoadResult r = loadManifests({file});
    if (r.diagnostics.hasErrors() || r.resources.size() != gResources) state.SkipWithError("manifest did not load");
    benchmark::DoNotOptimize(r);
  }
  state.counters["resources"] = static_cast<double>(gResources);
}

void BM_LoadValidatePlan(benchmark::State& state) {
  const std::string file = manifestFile();
  World w = makeWorld(loadManifests({file}).resources);
  std::size_t actions = 0;
  for (auto _ : state) {
    LoadResult r = loadManifests({file});
    auto observed = observe(*w.providers, kindsToObserve(r.resources, Prune::No), nullptr);
    Plan plan = computePlan(std::move(r.resources), std::move(*observed), *w.providers, {});
    if (plan.diagnostics.hasErrors()) state.SkipWithError(plan.diagnostics.items()[0].str().c_str());
    actions = plan.actions.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["resources"] = static_cast<double>(gResources);
  state.counters["actions"] = static_cast<double>(actions);
  state.counters["peak_rss_MiB"] = peakRssMiB();
}

BENCHMARK(BM_LoadValidate)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_LoadValidatePlan)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace hostform

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--resources=", 12) == 0) hostform::gResources = std::strtoul(argv[i] + 12, nullptr, 10);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
