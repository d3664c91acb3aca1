// LVM snapshots for real (docs/spec.md §1 Snapshot, §2 restore, §4 Snapshot
// before loss): thick and thin snapshots created, observed, shown by status,
// refused when changed, restored by merge and pruned, and the thin snapshot
// taken before a thin LV shrinks or is deleted. lvm2 makes snapshots only with
// device-mapper, so this binary runs inside the test VM (tests/vm/run) with
// HOSTFORM_LVM_ACTIVATION=1; anywhere else it fails, never skips.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "tests/integration/lvm/sandbox.h"

namespace hostform::lvmtest {
namespace {

/// Writes `count` bytes of `byte` at the start of `device`, synced.
void fill(const std::string& device, char byte, std::size_t count = 65536) {
  const int fd = ::open(device.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "cannot open " << device;
  const std::string data(count, byte);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
}

/// The first byte of `device`, or '?' when it cannot be read.
char firstByte(const std::string& device) {
  const int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  char c = '?';
  if (::pread(fd, &c, 1, 0) != 1) c = '?';
  ::close(fd);
  return c;
}

class LvmSnapshotVm : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(box.activation())
        << "this suite needs device-mapper and HOSTFORM_LVM_ACTIVATION=1: run it in the test VM (ctest -R vm_lvm_snapshot)";
    vg = box.name("vg");
  }

  std::string vgDoc() const {
    return "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + vg + "}\nspec: {physicalVolumes: [" +
           box.devices()[0] + "]}\n";
  }
  std::string lvDoc(const std::string& name, const std::string& size, const std::string& extra = "") const {
    return "---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: " + name + "}\nspec: {volumeGroup: " +
           vg + ", size: " + size + extra + "}\n";
  }
  std::string snapDoc(const std::string& name, const std::string& origin, const std::string& size = "") const {
    return "---\napiVersion: hostform/v1\nkind: Snapshot\nmetadata: {name: " + name +
           "}\nspec:\n  source: {logicalVolume: {volumeGroup: " + vg + ", name: " + origin + "}}\n" +
           (size.empty() ? "" : "  size: " + size + "\n");
  }
  std::string thinBase() const {
    return vgDoc() + lvDoc("pool", "64MiB", ", type: thin-pool") + lvDoc("thin", "16MiB", ", type: thin, thinPool: pool");
  }

  Sandbox box{1, 256};
  std::string vg;
};

TEST_F(LvmSnapshotVm, AThickSnapshotIsCreatedConvergedShownRefusedWhenChangedAndPruned) {
  const std::string base = vgDoc() + lvDoc("data", "32MiB");
  const std::string m = box.manifest(base + snapDoc("s1", "data", "8MiB"));
  Outcome apply = box.hostform({"apply", "-f", m});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_TRUE(std::regex_search(apply.out, std::regex("\n\\+ Snapshot/s1 +create: source \\(none\\) -> logicalVolume " +
                                                     vg + "/data, size \\(none\\) -> 8MiB\n")))
      << apply.out;
  auto lvs = box.lvs(vg);
  ASSERT_TRUE(lvs.contains("s1"));
  EXPECT_EQ(lvs["s1"].size, 8u * 1024 * 1024);
  EXPECT_EQ(lvs["s1"].tags, "hostform_owner_" + box.owner());
  // Converged: the snapshot LV is a Snapshot, not an unmanaged LV, and nothing changes.
  Outcome plan = box.hostform({"plan", "-f", m, "--detailed-exitcode"});
  EXPECT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_EQ(plan.out, "No changes. Host matches the manifests.\n");

  Outcome status = box.hostform({"status", "-f", m, "-o", "json"});
  ASSERT_EQ(status.code, 0) << status.err;
  auto doc = nlohmann::json::parse(status.out);
  ASSERT_EQ(doc["resources"].size(), 3u) << status.out;
  const auto& facts = doc["resources"][2]["facts"];
  EXPECT_EQ(doc["resources"][2]["name"], "s1");
  EXPECT_EQ(facts["state"], "present");
  EXPECT_TRUE(facts["age"].is_number() && facts["age"].get<int>() >= 0 && facts["age"].get<int>() < 600) << facts;
  EXPECT_TRUE(facts["used"].is_number() && facts["used"].get<double>() >= 0.0) << facts;
  EXPECT_EQ(facts["size"], 8u * 1024 * 1024);
  EXPECT_EQ(facts["origin"], vg + "/data");

  // A snapshot is a point in time: a new size is a plan error, not a replace.
  Outcome changed = box.hostform({"plan", "-f", box.manifest(base + snapDoc("s1", "data", "12MiB"))});
  EXPECT_EQ(changed.code, 1);
  EXPECT_NE(changed.err.find("error: spec.size: Snapshot/s1 on the host has 8MiB of copy-on-write space and 12MiB "
                             "in the manifest; a snapshot cannot be changed; declare a new name"),
            std::string::npos)
      << changed.err;

  // Pruning it is data loss.
  const std::string without = box.manifest(base);
  Outcome refused = box.hostform({"apply", "-f", without, "--prune"});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("delete (prune); refused without --allow-data-loss: deleting Snapshot/s1 drops the state "
                             "of LogicalVolume/" + vg + "/data it holds; would destroy 8MiB\n"),
            std::string::npos)
      << refused.out;
  Outcome pruned = box.hostform({"apply", "-f", without, "--prune", "--allow-data-loss"});
  EXPECT_EQ(pruned.code, 0) << pruned.out << pruned.err;
  EXPECT_FALSE(box.lvs(vg).contains("s1"));
}

TEST_F(LvmSnapshotVm, AThickSnapshotOfSizeBeyondItsOriginOrWithoutSizeIsRefusedAtPlanTime) {
  const std::string base = vgDoc() + lvDoc("data", "16MiB") + lvDoc("thin2", "8MiB");
  Outcome big = box.hostform({"plan", "-f", box.manifest(base + snapDoc("s1", "data", "32MiB"))});
  EXPECT_EQ(big.code, 1);
  EXPECT_NE(big.err.find("error: spec.size: a thick snapshot of " + vg + "/data (16MiB) never needs more "
                         "copy-on-write space than its origin, and lvm would cut 32MiB down; declare at most 16MiB"),
            std::string::npos)
      << big.err;
  Outcome none = box.hostform({"plan", "-f", box.manifest(base + snapDoc("s1", "data"))});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("error: spec.size: " + vg + "/data is a linear volume: its snapshot is thick and needs "
                          "spec.size"),
            std::string::npos)
      << none.err;
}

TEST_F(LvmSnapshotVm, RestoringAThickSnapshotShowsThePlanNeedsTheFlagAndMergesIt) {
  const std::string m = box.manifest(vgDoc() + lvDoc("data", "16MiB") + snapDoc("s1", "data", "8MiB"));
  const std::string device = "/dev/" + vg + "/data";
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc() + lvDoc("data", "16MiB"))}).code, 0);
  fill(device, 'A');
  Outcome apply = box.hostform({"apply", "-f", m});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  fill(device, 'B');
  ASSERT_EQ(firstByte(device), 'B');

  // libvirt's in-process test driver stands in for a libvirtd: restore asks every provider of snapshots.
  Outcome refused = box.hostform({"restore", "s1", "--libvirt-uri", "test:///default"});
  EXPECT_EQ(refused.code, 3) << refused.err;
  EXPECT_TRUE(std::regex_search(
      refused.out, std::regex("^< Snapshot/s1  restore LogicalVolume/" + vg +
                              "/data to snapshot s1 taken [0-9ms]+ ago: discards everything written to it since\n"
                              "  lvm merges the snapshot into " + vg + "/data \\(lvm lvconvert --merge " + vg +
                              "/s1\\), and the snapshot disappears\n")))
      << refused.out;
  EXPECT_EQ(refused.err, "error: Snapshot/s1: refused: restoring discards everything written to LogicalVolume/" + vg +
                             "/data since the snapshot; pass --allow-data-loss to accept the loss\n");
  EXPECT_EQ(firstByte(device), 'B');

  // Without a libvirtd (the test VM runs none), the LVM snapshot is restored
  // all the same, and the unread backend is named.
  Outcome restored = box.hostform({"restore", "s1", "--allow-data-loss"});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  const bool libvirtd = std::filesystem::exists("/run/libvirt/libvirt-sock");
  // (the progress lines of the lvm commands follow the warning on stderr)
  EXPECT_EQ(restored.err.starts_with("warning: kvm: cannot read the host's state: ") &&
                restored.err.find("; its snapshots were not searched\n") != std::string::npos,
            !libvirtd)
      << restored.err;
  EXPECT_TRUE(restored.out.ends_with("Snapshot/s1: restored LogicalVolume/" + vg + "/data\n")) << restored.out;
  EXPECT_FALSE(box.lvs(vg).contains("s1"));
  EXPECT_EQ(firstByte(device), 'A');
  // Still declared: the next apply takes it anew.
  Outcome again = box.hostform({"plan", "-f", m});
  EXPECT_NE(again.out.find("+ Snapshot/s1"), std::string::npos) << again.out;
}

TEST_F(LvmSnapshotVm, AThinSnapshotHasNoSizeAndRestoresByMerge) {
  const std::string m = box.manifest(thinBase() + snapDoc("t1", "thin"));
  Outcome withSize = box.hostform({"plan", "-f", box.manifest(thinBase() + snapDoc("t1", "thin", "8MiB"))});
  EXPECT_EQ(withSize.code, 1);
  EXPECT_NE(withSize.err.find("error: spec.size: " + vg + "/thin is a thin volume: its snapshot is thin and takes its "
                              "space from the pool; remove spec.size"),
            std::string::npos)
      << withSize.err;
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(thinBase())}).code, 0);
  const std::string device = "/dev/" + vg + "/thin";
  fill(device, 'A');
  Outcome apply = box.hostform({"apply", "-f", m});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  auto lvs = box.lvs(vg);
  ASSERT_TRUE(lvs.contains("t1"));
  EXPECT_EQ(lvs["t1"].layout, "thin,sparse");
  EXPECT_EQ(box.hostform({"plan", "-f", m}).out, "No changes. Host matches the manifests.\n");
  fill(device, 'B');
  Outcome restored = box.hostform({"restore", "t1", "--allow-data-loss", "-f", m});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  // lvm merges into an active thin origin at its next activation.
  box.lvm({"lvchange", "-an", vg + "/thin"});
  Outcome on = box.lvm({"lvchange", "-ay", vg + "/thin"});
  ASSERT_EQ(on.code, 0) << on.err;
  EXPECT_FALSE(box.lvs(vg).contains("t1"));
  EXPECT_EQ(firstByte(device), 'A');
}

TEST_F(LvmSnapshotVm, AThinLvThatShrinksGetsASnapshotFirstThatPruneKeepsAndRestoreBringsBack) {
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(thinBase())}).code, 0);
  const std::string device = "/dev/" + vg + "/thin";
  fill(device, 'A');
  const std::string shrunk = box.manifest(vgDoc() + lvDoc("pool", "64MiB", ", type: thin-pool") +
                                          lvDoc("thin", "8MiB", ", type: thin, thinPool: pool"));
  Outcome plan = box.hostform({"plan", "-f", shrunk, "--allow-data-loss"});
  ASSERT_EQ(plan.code, 0) << plan.err;
  std::smatch name;
  ASSERT_TRUE(std::regex_search(
      plan.out, name,
      std::regex("~ LogicalVolume/" + vg + "/thin +size 16MiB -> 8MiB; loses data: shrinking LogicalVolume/" + vg +
                 "/thin from 16MiB to 8MiB loses the data beyond 8MiB; would destroy 8MiB; a snapshot is taken "
                 "first: thin snapshot " + vg + "/(thin-before-[0-9]{8}T[0-9]{6})\n")))
      << plan.out;
  Outcome noSnapshot = box.hostform({"plan", "-f", shrunk, "--allow-data-loss", "--no-snapshot"});
  EXPECT_EQ(noSnapshot.out.find("snapshot"), std::string::npos) << noSnapshot.out;

  Outcome apply = box.hostform({"apply", "-f", shrunk, "--allow-data-loss"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  std::smatch taken;
  ASSERT_TRUE(std::regex_search(apply.out, taken,
                                std::regex("LogicalVolume/" + vg + "/thin: updated\n  snapshot taken first: thin snapshot " +
                                           vg + "/(thin-before-[0-9T]+)\n  to restore it: hostform restore "
                                           "(thin-before-[0-9T]+) --allow-data-loss\n  to drop it: lvm lvremove -f " +
                                           vg + "/(thin-before-[0-9T]+)\n")))
      << apply.out;
  const std::string snap = taken[1];
  auto lvs = box.lvs(vg);
  ASSERT_TRUE(lvs.contains(snap));
  EXPECT_EQ(lvs[snap].tags, "hostform_safety_" + box.owner());
  EXPECT_EQ(lvs["thin"].size, 8u * 1024 * 1024);

  // Not owned: --prune never deletes it, and the plan does not even list it.
  Outcome prune = box.hostform({"apply", "-f", shrunk, "--prune", "--allow-data-loss"});
  EXPECT_EQ(prune.code, 0) << prune.out << prune.err;
  EXPECT_EQ(prune.out.find(snap), std::string::npos) << prune.out;
  EXPECT_TRUE(box.lvs(vg).contains(snap));

  Outcome restored = box.hostform({"restore", snap, "--allow-data-loss"});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  box.lvm({"lvchange", "-an", vg + "/thin"});
  ASSERT_EQ(box.lvm({"lvchange", "-ay", vg + "/thin"}).code, 0);
  lvs = box.lvs(vg);
  EXPECT_FALSE(lvs.contains(snap));
  EXPECT_EQ(lvs["thin"].size, 16u * 1024 * 1024);
  EXPECT_EQ(firstByte(device), 'A');
}

TEST_F(LvmSnapshotVm, ADeletedThinLvComesBackFromItsSnapshot) {
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(thinBase())}).code, 0);
  fill("/dev/" + vg + "/thin", 'A');
  const std::string poolOnly = box.manifest(vgDoc() + lvDoc("pool", "64MiB", ", type: thin-pool"));
  Outcome apply = box.hostform({"apply", "-f", poolOnly, "--prune", "--allow-data-loss"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  std::smatch taken;
  ASSERT_TRUE(std::regex_search(apply.out, taken, std::regex("snapshot taken first: thin snapshot " + vg +
                                                             "/(thin-before-[0-9T]+)\n")))
      << apply.out;
  const std::string snap = taken[1];
  EXPECT_FALSE(box.lvs(vg).contains("thin"));
  // The pool still holds the snapshot: it cannot be pruned under it.
  Outcome poolGone = box.hostform({"plan", "-f", box.manifest(vgDoc()), "--prune", "--allow-data-loss"});
  EXPECT_EQ(poolGone.code, 1);
  EXPECT_NE(poolGone.err.find(snap + " (a snapshot taken before a loss)"), std::string::npos) << poolGone.err;

  Outcome refused = box.hostform({"restore", snap});
  EXPECT_EQ(refused.code, 3);
  EXPECT_NE(refused.out.find("restore LogicalVolume/" + vg + "/thin, deleted since, from snapshot " + snap),
            std::string::npos)
      << refused.out;
  Outcome restored = box.hostform({"restore", snap, "--allow-data-loss"});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  auto lvs = box.lvs(vg);
  ASSERT_TRUE(lvs.contains("thin"));
  EXPECT_EQ(lvs["thin"].tags, "");
  box.lvm({"lvchange", "-ay", "-K", vg + "/thin"});
  EXPECT_EQ(firstByte("/dev/" + vg + "/thin"), 'A');
  // Declared again, it is adopted.
  Outcome adopt = box.hostform({"plan", "-f", box.manifest(thinBase())});
  EXPECT_NE(adopt.out.find("owner (none) -> " + box.owner()), std::string::npos) << adopt.out;
}

TEST_F(LvmSnapshotVm, ALinearLvThatShrinksGetsNoSnapshotAndThePlanSaysWhy) {
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc() + lvDoc("data", "16MiB"))}).code, 0);
  Outcome plan = box.hostform({"plan", "-f", box.manifest(vgDoc() + lvDoc("data", "8MiB")), "--allow-data-loss"});
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_NE(plan.out.find("; would destroy 8MiB; no snapshot is taken: lvm resizes the origin of a thick snapshot "
                          "only while it is inactive, and hostform does not deactivate a volume that may be in use\n"),
            std::string::npos)
      << plan.out;
}

}  // namespace
}  // namespace hostform::lvmtest
