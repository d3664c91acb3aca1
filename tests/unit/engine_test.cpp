#include "reconciler/engine.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "reconciler/lock.h"
#include "tests/support/fake_provider.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using fake::FakeProvider;
using fake::FakeWorld;

/// A fake host, a state directory and captured output: one command run at a time.
struct Fixture {
  testing::TempDir dir;
  std::shared_ptr<FakeWorld> world = std::make_shared<FakeWorld>();
  FakeProvider* storage = nullptr;
  std::unique_ptr<ProviderSet> providers;
  std::ostringstream out, err;

  Fixture() {
    auto s = std::make_unique<FakeProvider>(
        "storage", std::vector<Kind>{kinds::Bridge, kinds::VolumeGroup, kinds::LogicalVolume, kinds::StoragePool},
        world);
    s->ledgerKinds = {kinds::StoragePool};
    s->serialKeyOf = [](const Action& a) { return a.id.kind == kinds::LogicalVolume ? a.id.scope : std::string(); };
    storage = s.get();
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::move(s));
    providers = std::make_unique<ProviderSet>(std::move(list));
  }

  RunOptions options(const std::string& yaml) {
    RunOptions o;
    o.files = {dir.write("host.yaml", yaml)};
    o.stateDir = dir.path() + "/state";
    o.jobs = 2;
    return o;
  }

  int plan(const RunOptions& o) { return run(runPlan, o); }
  int apply(const RunOptions& o) { return run(runApply, o); }

  int run(int (*command)(const RunOptions&, ProviderSet&, const Console&), const RunOptions& o) {
    out.str("");
    err.str("");
    Console console{out, err, Color::Off};
    return command(o, *providers, console);
  }
};

const char* kHost = R"(apiVersion: hostform/v1
kind: VolumeGroup
metadata: {name: vg0}
spec: {physicalVolumes: [/dev/vdb]}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 10GiB}
---
apiVersion: hostform/v1
kind: StoragePool
metadata: {name: images}
spec: {type: dir, target: /srv/images}
)";

TEST(Engine, ApplyCreatesThenSecondRunIsANoOp) {
  Fixture f;
  RunOptions o = f.options(kHost);
  o.jobs = 1;  // so the progress lines come in plan order
  EXPECT_EQ(f.apply(o), kExitOk) << f.err.str();
  EXPECT_EQ(f.out.str(),
            "+ VolumeGroup/vg0               create: physicalVolumes (none) -> [/dev/vdb], extentSize (none) -> 4MiB\n"
            "+ LogicalVolume/vg0/data        create: volumeGroup (none) -> vg0, type (none) -> linear, size (none) -> 10GiB, active (none) -> true\n"
            "+ StoragePool/images            create: type (none) -> dir, target (none) -> /srv/images, autostart (none) -> true, active (none) -> true\n"
            "Plan: 3 to create, 0 to change, 0 to delete.\n"
            "VolumeGroup/vg0: created\n"
            "LogicalVolume/vg0/data: created\n"
            "StoragePool/images: created\n"
            "Apply complete: 3 done.\n");
  EXPECT_EQ(f.world->size(), 3u);
  EXPECT_EQ(f.world->get(fake::makeVg("vg0", {}).id)->owner, "default");

  EXPECT_EQ(f.apply(o), kExitOk);
  EXPECT_EQ(f.out.str(), "No changes. Host matches the manifests.\n");
  o.detailedExitCode = DetailedExitCode::Yes;
  EXPECT_EQ(f.plan(o), kExitOk);
  EXPECT_EQ(f.storage->applyCalls(), 3u);
}

TEST(Engine, LedgerOwnsKindsWithoutAnInBandMark) {
  Fixture f;
  RunOptions o = f.options(kHost);
  ASSERT_EQ(f.apply(o), kExitOk);
  // The pool carries no mark of its own; the ledger says it is ours, so prune can delete it.
  EXPECT_EQ(f.world->get(fake::makePool("images").id)->owner, "");
  RunOptions empty = f.options("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n");
  EXPECT_EQ(f.plan(empty), kExitOk);
  EXPECT_EQ(f.out.str(),
            "+ Bridge/br0                    create: state (none) -> up, stp.enabled (none) -> false, stp.priority (none) -> 32768, "
            "stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, ports (none) -> [], "
            "addresses (none) -> []\n"
            "? VolumeGroup/vg0               orphaned (not declared; --prune deletes it)\n"
            "? LogicalVolume/vg0/data        orphaned (not declared; --prune deletes it)\n"
            "? StoragePool/images            orphaned (not declared; --prune deletes it)\n"
            "Plan: 1 to create, 0 to change, 0 to delete, 3 orphaned.\n");
}

TEST(Engine, DetailedExitCodeReportsChanges) {
  Fixture f;
  RunOptions o = f.options(kHost);
  o.detailedExitCode = DetailedExitCode::Yes;
  EXPECT_EQ(f.plan(o), kExitChanges);
  EXPECT_EQ(f.world->size(), 0u);  // plan changes nothing
  o.detailedExitCode = DetailedExitCode::No;
  EXPECT_EQ(f.plan(o), kExitOk);
}

TEST(Engine, DryRunPrintsExactlyThePlanAndChangesNothing) {
  Fixture f;
  RunOptions o = f.options(kHost);
  ASSERT_EQ(f.plan(o), kExitOk);
  const std::string planText = f.out.str();
  o.dryRun = DryRun::Yes;
  ASSERT_EQ(f.apply(o), kExitOk);
  EXPECT_EQ(f.out.str(), planText);
  o.output = OutputFormat::Json;
  o.dryRun = DryRun::No;
  ASSERT_EQ(f.plan(o), kExitOk);
  const std::string planJson = f.out.str();
  o.dryRun = DryRun::Yes;
  ASSERT_EQ(f.apply(o), kExitOk);
  EXPECT_EQ(f.out.str(), planJson);
  EXPECT_EQ(f.world->size(), 0u);
  EXPECT_EQ(f.storage->applyCalls(), 0u);
  EXPECT_FALSE(std::filesystem::exists(o.stateDir));  // not even the state directory
}

// An early read (plan) is only a read: a manifest error found after it has
// begun still ends the run with the error and nothing changed; apply, which
// validates before it takes the lock, does not even read the host.
TEST(Engine, InvalidManifestsExitOneAndTouchNothing) {
  Fixture f;
  RunOptions o = f.options(std::string(kHost) + R"(---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: big}
spec: {volumeGroup: vg0, size: 20GB}
)");
  for (auto command : {runApply, runPlan}) {
    EXPECT_EQ(f.run(command, o), kExitError);
    EXPECT_EQ(f.out.str(), "");
    EXPECT_EQ(f.err.str(), o.files[0] +
                               ":19:32: error: spec.size: unit \"GB\" in \"20GB\" is not accepted: sizes use binary "
                               "units (KiB, MiB, GiB, TiB); did you mean 20GiB?\n1 error(s); nothing was changed.\n");
    EXPECT_EQ(f.world->size(), 0u);
    EXPECT_EQ(f.storage->applyCalls(), 0u);
    if (command == runApply) {
      EXPECT_EQ(f.storage->observeCalls(), 0u);  // the host is not even read
    }
  }
}

const char* kMore = R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: logs}
spec: {volumeGroup: vg0, size: 1GiB}
)";

// plan starts reading a kind's provider as soon as the loader parses the
// first document of that kind: here the second manifest is a FIFO that the
// test writes only once the provider is observing (or after 10 s), so a plan
// that read the host only after loading everything would find it late.
TEST(Engine, PlanReadsTheHostWhileTheManifestsAreStillBeingLoaded) {
  Fixture f;
  RunOptions plain = f.options(kHost);
  plain.files.push_back(f.dir.write("more.yaml", kMore));
  ASSERT_EQ(f.plan(plain), kExitOk) << f.err.str();
  const std::string expected = f.out.str();
  ASSERT_EQ(f.storage->observeCalls(), 1u);

  RunOptions o = f.options(kHost);
  const std::string fifo = f.dir.path() + "/more.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  o.files.push_back(fifo);
  std::promise<void> observing;
  std::once_flag once;
  f.storage->onObserve = [&] { std::call_once(once, [&] { observing.set_value(); }); };
  bool early = false;
  std::jthread writer([&, started = observing.get_future()] {
    early = started.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    std::ofstream(fifo) << kMore;
  });
  EXPECT_EQ(f.plan(o), kExitOk) << f.err.str();
  // Had the plan ended without opening the FIFO, this releases the writer.
  if (int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK); fd >= 0) ::close(fd);
  writer.join();
  EXPECT_TRUE(early) << "the plan did not read the host before it had loaded every manifest";
  EXPECT_EQ(f.out.str(), expected);
  EXPECT_EQ(f.storage->observeCalls(), 2u);  // one read for the plan, taken over, not repeated
  EXPECT_EQ(f.world->size(), 0u);
}

TEST(Engine, ShrinkIsRefusedWithExitThreeUnlessAllowed) {
  Fixture f;
  RunOptions o = f.options(kHost);
  ASSERT_EQ(f.apply(o), kExitOk);
  RunOptions smaller = f.options(std::string(kHost).replace(std::string(kHost).find("10GiB"), 5, "4GiB"));
  EXPECT_EQ(f.apply(smaller), kExitRefused);
  EXPECT_EQ(f.err.str(),
            "error: LogicalVolume/vg0/data: refused: shrinking LogicalVolume/vg0/data from 10GiB to 4GiB loses the "
            "data beyond 4GiB; pass --allow-data-loss to accept the loss\n"
            "1 action(s) need --allow-data-loss; nothing was changed.\n");
  EXPECT_EQ(f.world->get(fake::makeLv("vg0", "data", 0).id)->resource.as<LogicalVolumeSpec>().size, 10 * GiB);
  EXPECT_EQ(f.plan(smaller), kExitRefused);  // the plan is honest about it too
  smaller.dataLoss = DataLoss::Allow;
  EXPECT_EQ(f.apply(smaller), kExitOk) << f.err.str();
  EXPECT_EQ(f.world->get(fake::makeLv("vg0", "data", 0).id)->resource.as<LogicalVolumeSpec>().size, 4 * GiB);
}

TEST(Engine, PruneDeletesOwnedOrphansInReverseOrder) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(kHost)), kExitOk);
  const std::size_t createdBefore = f.storage->applied().size();
  f.world->put(fake::makeVg("handmade", {"/dev/vdz"}), "");
  RunOptions o = f.options("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n");
  o.prune = Prune::Yes;
  o.dataLoss = DataLoss::Allow;
  EXPECT_EQ(f.apply(o), kExitOk) << f.err.str();
  auto applied = f.storage->applied();
  applied.erase(applied.begin(), applied.begin() + static_cast<std::ptrdiff_t>(createdBefore));
  ASSERT_EQ(applied.size(), 4u);  // br0 created; LV, pool, VG deleted
  auto at = [&](const std::string& id) {
    for (std::size_t i = 0; i < applied.size(); ++i)
      if (applied[i].str() == id) return i;
    return applied.size();
  };
  EXPECT_LT(at("LogicalVolume/vg0/data"), at("VolumeGroup/vg0"));
  EXPECT_EQ(f.world->size(), 2u);  // br0 and the hand-made VG, never touched
  EXPECT_TRUE(f.world->contains(fake::makeVg("handmade", {}).id));
}

TEST(Engine, ApplyWithoutPruneWarnsAboutOrphans) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(kHost)), kExitOk);
  RunOptions o = f.options("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n");
  EXPECT_EQ(f.apply(o), kExitOk);
  EXPECT_EQ(f.err.str(),
            "warning: 3 orphaned resource(s) left in place (owned, no longer declared; --prune deletes them): "
            "VolumeGroup/vg0, LogicalVolume/vg0/data, StoragePool/images\n");
  EXPECT_EQ(f.world->size(), 4u);
}

TEST(Engine, FailedActionSkipsDependentsAndExitsFour) {
  Fixture f;
  f.storage->failOn = {fake::makeVg("vg0", {}).id};
  EXPECT_EQ(f.apply(f.options(kHost)), kExitPartial);
  EXPECT_TRUE(f.world->contains(fake::makePool("images").id));  // independent work went on
  EXPECT_FALSE(f.world->contains(fake::makeLv("vg0", "data", 0).id));
  const std::string out = f.out.str();
  EXPECT_NE(out.find("Apply incomplete: 1 done, 1 failed, 1 skipped.\n"
                     "  VolumeGroup/vg0: failed: injected failure\n"
                     "  LogicalVolume/vg0/data: skipped: depends on VolumeGroup/vg0, which failed\n"),
            std::string::npos)
      << out;
}

TEST(Engine, FieldThatDoesNotReachItsValueFailsVerification) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(kHost)), kExitOk);
  f.storage->ignoreFields = {"size"};
  RunOptions bigger = f.options(std::string(kHost).replace(std::string(kHost).find("10GiB"), 5, "20GiB"));
  EXPECT_EQ(f.apply(bigger), kExitPartial);
  EXPECT_EQ(f.err.str(), "error: verify: LogicalVolume/vg0/data: size is 10GiB on the host, expected 20GiB\n");
}

TEST(Engine, SecondWriterFailsClearlyWhileTheLockIsHeld) {
  Fixture f;
  RunOptions o = f.options(kHost);
  auto held = StateLock::acquire(o.stateDir, std::chrono::milliseconds(0));
  ASSERT_TRUE(held.has_value());
  // flock locks belong to the open file description, so this process's second
  // open of the lock file conflicts like another process would.
  EXPECT_EQ(f.apply(o), kExitError);
  EXPECT_NE(f.err.str().find("holds the lock on " + o.stateDir.string() + "/lock"), std::string::npos) << f.err.str();
  EXPECT_EQ(f.world->size(), 0u);
}

TEST(Engine, ApplyShowsProgressOnATerminalAsOneLineErasedBeforeEachOutcome) {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);  // the CLI's default; at info, reports are logged instead
  Fixture f;
  f.storage->progressReports = {"step 1", "step 2"};
  RunOptions o = f.options("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n");
  std::ostringstream out, err;
  Console console{out, err, Color::Off, Terminal::Yes, 100};
  EXPECT_EQ(runApply(o, *f.providers, console), kExitOk);
  spdlog::set_level(level);
  EXPECT_EQ(err.str(), "\r\033[KBridge/br0: step 1\r\033[KBridge/br0: step 2\r\033[K");
  EXPECT_EQ(out.str(),
            "+ Bridge/br0                    create: state (none) -> up, stp.enabled (none) -> false, stp.priority (none) -> 32768, "
            "stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, ports (none) -> [], "
            "addresses (none) -> []\n"
            "Plan: 1 to create, 0 to change, 0 to delete.\n"
            "Bridge/br0: created\n"
            "Apply complete: 1 done.\n");
}

TEST(Engine, ApplyWritesNoProgressLineWhenStderrIsNotATerminal) {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  Fixture f;
  f.storage->progressReports = {"step 1"};
  std::ostringstream out, err;
  Console console{out, err, Color::Off, Terminal::No, 100};
  EXPECT_EQ(runApply(f.options("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n"),
                     *f.providers, console),
            kExitOk);
  spdlog::set_level(level);
  EXPECT_EQ(err.str(), "");
}

TEST(Engine, ValidateNeverTouchesTheHostAndCountsResources) {
  Fixture f;
  std::ostringstream out, err;
  Console console{out, err, Color::Off};
  EXPECT_EQ(runValidate(f.options(kHost), console), kExitOk);
  EXPECT_EQ(out.str(), "Valid: 3 resource(s) in 3 document(s).\n");
  EXPECT_EQ(f.storage->observeCalls(), 0u);
}

TEST(Engine, ExportWritesLiveObjectsAsManifests) {
  Fixture f;
  ASSERT_EQ(f.apply(f.options(kHost)), kExitOk);
  std::ostringstream out, err;
  Console console{out, err, Color::Off};
  EXPECT_EQ(runExport({kinds::LogicalVolume}, *f.providers, console), kExitOk);
  EXPECT_EQ(out.str(),
            "---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata:\n  name: data\nspec:\n  volumeGroup: vg0\n"
            "  size: 10GiB\n");
}

}  // namespace
}  // namespace hostform
