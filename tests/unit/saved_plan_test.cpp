// The comparisons behind `apply FILE` (docs/spec.md §2 "Saved plans"): what
// changed on the host, one line per resource, and how a plan made again
// differs from the saved one, with generated times left out.

#include "reconciler/saved_plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/manifests.h"

namespace hostform {
namespace {

ObservedRecord bridge(const std::string& mtu, const std::string& owner = "ops") {
  ObservedRecord r;
  r.present = true;
  r.owner = owner;
  r.fields = {{"mtu", mtu}, {"state", "up"}};
  return r;
}

TEST(SavedPlanCompare, NamesEachChangedResourceOnce) {
  SavedPlan saved;
  saved.observed = {{"Bridge/br0", bridge("1500")}, {"Bridge/br1", {}}, {"Bridge/br2", bridge("1500")},
                    {"Bridge/br3", bridge("1500")}};
  std::map<std::string, ObservedRecord> now = saved.observed;
  EXPECT_TRUE(hostChanges(saved, now).empty());

  now["Bridge/br0"] = bridge("9000");
  now["Bridge/br0"].labels["app"] = "web";
  now["Bridge/br1"] = bridge("1500");
  now["Bridge/br2"] = {};
  now["Bridge/br3"] = bridge("1500", "");
  EXPECT_EQ(hostChanges(saved, now), (std::vector<std::string>{
                                         "Bridge/br0: labels.app (none) → web, mtu 1500 → 9000",
                                         "Bridge/br1: now on the host, absent when the plan was saved",
                                         "Bridge/br2: no longer on the host",
                                         "Bridge/br3: owner ops → (none)",
                                     }));
}

const char* kSaved = R"({"actions": [{"op": "update", "id": "LogicalVolume/vg0/data",
  "changes": [{"field": "size", "from": "20GiB", "to": "10GiB"}],
  "snapshotFirst": {"name": "data-before-20261207T041502"}}], "external": []})";

TEST(SavedPlanCompare, APlanMadeAgainDiffersOnlyWhereItsActionsDo) {
  std::string later = kSaved;
  later.replace(later.find("20261207T041502"), 15, "20261207T052233");
  EXPECT_TRUE(planChanges(kSaved, later).empty()) << "the time in a generated snapshot name is not compared";

  std::string grown = later;
  grown.replace(grown.find("\"10GiB\""), 7, "\"12GiB\"");
  EXPECT_EQ(planChanges(kSaved, grown),
            std::vector<std::string>{"LogicalVolume/vg0/data: saved: update (size 20GiB → 10GiB); now: update (size "
                                     "20GiB → 12GiB)"});

  const std::string created = R"({"actions": [{"op": "create", "id": "Bridge/br0", "changes": []}], "external": []})";
  EXPECT_EQ(planChanges(kSaved, created),
            (std::vector<std::string>{"Bridge/br0: saved: nothing; now: create",
                                      "LogicalVolume/vg0/data: saved: update (size 20GiB → 10GiB); now: nothing"}));
  EXPECT_EQ(planChanges(R"({"actions": [], "external": []})", R"({"actions": [], "external": ["VolumeGroup/vg0"]})"),
            std::vector<std::string>{"its external references or warnings differ"});
}

TEST(SavedPlanFile, WrittenThenReadGivesTheSamePlan) {
  testing::TempDir dir;
  SavedPlan saved;
  saved.options = {{"host/"}, true, false, true, false, "ops", "/var/lib/hostform", "qemu:///system"};
  saved.manifests = {{"host/a.yaml", "apiVersion: hostform/v1\n"}};
  saved.planJson = R"({"actions": [], "external": []})";
  saved.observed = {{"Bridge/br0", bridge("1500")}, {"Bridge/br1", {}}};
  const std::string file = dir.path() + "/p.plan";
  ASSERT_TRUE(writeSavedPlan(file, saved));
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto read = readSavedPlan(file);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->options.files, saved.options.files);
  EXPECT_TRUE(read->options.prune);
  EXPECT_TRUE(read->options.allowDataLoss);
  EXPECT_FALSE(read->options.snapshotBeforeLoss);
  EXPECT_EQ(read->options.owner, "ops");
  EXPECT_EQ(read->options.libvirtUri, "qemu:///system");
  ASSERT_EQ(read->manifests.size(), 1u);
  EXPECT_EQ(read->manifests[0].text, "apiVersion: hostform/v1\n");
  EXPECT_EQ(read->observed, saved.observed);
  EXPECT_TRUE(planChanges(saved.planJson, read->planJson).empty());
  EXPECT_EQ(readSavedPlan(dir.path()).error().message, dir.path() + " is a directory, not a saved plan.");
}

}  // namespace
}  // namespace hostform
