// `hostform watch` with LVM kinds declared: lvm has no notifications, so the
// watcher polls the VGs' sequence numbers (--lvm-poll). With an interval of an
// hour, only that poll can make it notice an LV removed behind its back.
// Nothing is timed: the test waits for the LV with a generous deadline.

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/lvm/sandbox.h"
#include "tests/integration/watch/git_repo.h"
#include "tests/support/process.h"

namespace hostform::lvmtest {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& condition, testing::BackgroundProcess& watcher) {
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    if (!watcher.running()) return false;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

TEST(LvmWatch, AnLvRemovedBehindItsBackIsCreatedAgainByThePoll) {
  Sandbox box{1};
  const std::string vg = box.name("vg");
  watchtest::GitRepo repo(box.dir().path() + "/git");
  repo.commit("a volume group and an LV",
              {{"host/lvm.yaml", "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + vg +
                                     "}\nspec: {physicalVolumes: [" + box.devices()[0] +
                                     "]}\n---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: data}\n"
                                     "spec: {volumeGroup: " + vg + ", size: 8MiB}\n"}});
  testing::BackgroundProcess watcher(HOSTFORM_BINARY,
                                     {"watch", "--repo", repo.url(), "--path", "host", "--state-dir", box.stateDir(),
                                      "--owner", box.owner(), "--interval", "1h", "--lvm-poll", "200ms",
                                      "--log-format", "json"});
  ASSERT_TRUE(eventually([&] { return box.lvs(vg).contains("data"); }, watcher)) << watcher.err();

  ASSERT_EQ(box.lvm({"lvremove", "-y", vg + "/data"}).code, 0);
  ASSERT_TRUE(eventually([&] { return box.lvs(vg).contains("data"); }, watcher)) << watcher.err();
  EXPECT_EQ(box.lvs(vg).at("data").tags, "hostform_owner_" + box.owner());

  // Only an event cycle can have run since the first one (the interval is an
  // hour); waited for, since the state file is written when the cycle ends.
  const auto lastTrigger = [&] {
    std::ifstream in(box.stateDir() + "/watch-state.json");
    const nlohmann::json state = nlohmann::json::parse(in, nullptr, false);
    return state.is_object() ? state["lastRun"]["trigger"] : nlohmann::json();
  };
  EXPECT_TRUE(eventually([&] { return lastTrigger() == "event"; }, watcher)) << watcher.err();
}

}  // namespace
}  // namespace hostform::lvmtest
