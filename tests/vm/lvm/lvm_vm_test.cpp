// LogicalVolume features that need device-mapper, through the hostform binary
// against real lvm2 on loop devices with activation on (the Sandbox with
// HOSTFORM_LVM_ACTIVATION=1): device nodes, activation, thin pools and thin
// volumes, ext4 and xfs made, grown and shrunk, autoExtend profiles, the
// over-commit warning. Runs inside the test VM (ctest vm_lvm); anywhere
// without device-mapper every test fails: nothing is skipped.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/integration/lvm/sandbox.h"

namespace hostform::lvmtest {
namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::string lvDoc(const std::string& vg, const std::string& name, const std::string& size, const std::string& extra = "") {
  return "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: " + name + "}\nspec: {volumeGroup: " + vg +
         ", size: " + size + extra + "}\n---\n";
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

bool isBlockDevice(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

/// A number after `key` in tool output ("Block count:   65536").
std::uint64_t numberAfter(const std::string& text, const std::string& key) {
  auto at = text.find(key);
  if (at == std::string::npos) return 0;
  at += key.size();
  while (at < text.size() && (text[at] == ' ' || text[at] == ':' || text[at] == '=' || text[at] == '\t')) ++at;
  return std::strtoull(text.c_str() + at, nullptr, 10);
}

/// The size of the ext4 filesystem on `device`, from its superblock.
std::uint64_t ext4Size(const std::string& device) {
  Outcome r = run({"dumpe2fs", "-h", device});
  return numberAfter(r.out, "Block count") * numberAfter(r.out, "Block size");
}

/// The size of the xfs filesystem on `device`, from its superblock (unmounted).
std::uint64_t xfsSize(const std::string& device) {
  Outcome r = run({"xfs_db", "-r", "-c", "sb 0", "-c", "p dblocks", "-c", "p blocksize", device});
  return numberAfter(r.out, "dblocks") * numberAfter(r.out, "blocksize");
}

std::string blkidType(const std::string& device) {
  Outcome r = run({"blkid", "-p", "-o", "value", "-s", "TYPE", device});
  return r.out.substr(0, r.out.find('\n'));
}

class LvmVm : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Sandbox::activation()) << "run with HOSTFORM_LVM_ACTIVATION=1 inside the test VM (ctest vm_lvm)";
    Outcome dm = run({"dmsetup", "version"});
    ASSERT_EQ(dm.code, 0) << "no device-mapper here: " << dm.err;
  }

  void expectConverged(const std::string& file) {
    Outcome r = box.hostform({"plan", "-f", file, "--detailed-exitcode"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "No changes. Host matches the manifests.")) << r.out;
  }

  Outcome apply(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"apply", "-f", file};
    args.insert(args.end(), extra.begin(), extra.end());
    return box.hostform(args);
  }

  Sandbox box{1, 1024};
  std::string vg = box.name("vg");
  std::string base = vgDoc(vg, box.devices()[0]);
  std::string node(const std::string& lv) const { return "/dev/" + vg + "/" + lv; }
};

TEST_F(LvmVm, ThinPoolAndThinVolumesAreCreatedGrownAndPrunedWithTheirDeviceNodes) {
  const std::string first = box.manifest(base + lvDoc(vg, "pool", "64MiB", ", type: thin-pool") +
                                         lvDoc(vg, "t1", "32MiB", ", type: thin, thinPool: pool") +
                                         lvDoc(vg, "t2", "200MiB", ", type: thin, thinPool: pool"));
  // 232MiB of thin volumes in a 64MiB pool without autoExtend: warned in the plan, not refused.
  Outcome plan = box.hostform({"plan", "-f", first});
  EXPECT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, ": warning: spec.size: thin pool " + vg +
                                     "/pool is over-committed: its 2 thin volume(s) have 232MiB of virtual size, 362% "
                                     "of its 64MiB (hostform warns above 100% without autoExtend); writes to its thin "
                                     "volumes fail once it is full.\n"))
      << plan.out;
  Outcome json = box.hostform({"plan", "-f", first, "-o", "json"});
  EXPECT_TRUE(contains(json.out, "\"message\": \"thin pool " + vg + "/pool is over-committed")) << json.out;

  Outcome made = apply(first);
  ASSERT_EQ(made.code, 0) << made.out << made.err;
  auto lvs = box.lvs(vg);
  EXPECT_EQ(lvs["pool"].layout, "thin,pool");
  EXPECT_EQ(lvs["t1"].layout, "thin,sparse");
  EXPECT_EQ(lvs["t2"].pool, "pool");
  EXPECT_TRUE(isBlockDevice(node("t1")));
  EXPECT_TRUE(isBlockDevice(node("t2")));
  expectConverged(first);

  const std::string grown = box.manifest(base + lvDoc(vg, "pool", "96MiB", ", type: thin-pool") +
                                         lvDoc(vg, "t1", "48MiB", ", type: thin, thinPool: pool"));
  Outcome g = apply(grown, {"--prune", "--allow-data-loss"});
  ASSERT_EQ(g.code, 0) << g.out << g.err;
  lvs = box.lvs(vg);
  EXPECT_EQ(lvs["pool"].size, 96 * MiB);
  EXPECT_EQ(lvs["t1"].size, 48 * MiB);
  EXPECT_FALSE(lvs.contains("t2"));
  EXPECT_FALSE(std::filesystem::exists(node("t2")));
  // 48MiB in 96MiB: no over-commit, no warning.
  Outcome quiet = box.hostform({"plan", "-f", grown});
  EXPECT_FALSE(contains(quiet.out, "warning")) << quiet.out;
  expectConverged(grown);
}

TEST_F(LvmVm, ActiveIsToggledAndTheDeviceNodeFollows) {
  const std::string on = box.manifest(base + lvDoc(vg, "data", "16MiB"));
  ASSERT_EQ(apply(on).code, 0);
  EXPECT_TRUE(isBlockDevice(node("data")));
  EXPECT_EQ(box.lvField(vg, "data", "lv_attr").substr(4, 1), "a");

  const std::string off = box.manifest(base + lvDoc(vg, "data", "16MiB", ", active: false"));
  Outcome plan = box.hostform({"plan", "-f", off});
  EXPECT_TRUE(contains(plan.out, "~ LogicalVolume/" + vg + "/data")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "active true -> false")) << plan.out;
  Outcome r = apply(off);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(std::filesystem::exists(node("data")));
  EXPECT_EQ(box.lvField(vg, "data", "lv_attr").substr(4, 1), "-");
  EXPECT_EQ(box.lvField(vg, "data", "lv_autoactivation"), "");  // stays inactive across a reboot
  expectConverged(off);

  r = apply(on);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(isBlockDevice(node("data")));
  EXPECT_EQ(box.lvField(vg, "data", "lv_autoactivation"), "enabled");
  expectConverged(on);
}

TEST_F(LvmVm, AnLvDeclaredInactiveIsCreatedZeroedThenDeactivated) {
  const std::string file = box.manifest(base + lvDoc(vg, "cold", "8MiB", ", active: false"));
  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(box.lvs(vg)["cold"].size, 8 * MiB);
  EXPECT_FALSE(std::filesystem::exists(node("cold")));
  EXPECT_EQ(box.lvField(vg, "cold", "lv_attr").substr(4, 1), "-");
  expectConverged(file);
}

TEST_F(LvmVm, Ext4IsMadeGrownAndShrunkWhenUnmountedButNotWhenMounted) {
  const std::string made = box.manifest(base + lvDoc(vg, "fs", "32MiB", ", filesystem: {type: ext4}"));
  Outcome r = apply(made);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(blkidType(node("fs")), "ext4");
  EXPECT_EQ(ext4Size(node("fs")), 32 * MiB);
  expectConverged(made);

  const std::string grown = box.manifest(base + lvDoc(vg, "fs", "64MiB", ", filesystem: {type: ext4}"));
  r = apply(grown);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(ext4Size(node("fs")), 64 * MiB);

  // Mounted: refused at plan time, exit 1, nothing changed.
  const std::string mnt = box.dir().path() + "/mnt";
  std::filesystem::create_directories(mnt);
  ASSERT_EQ(run({"mount", node("fs"), mnt}).code, 0);
  const std::string smaller = box.manifest(base + lvDoc(vg, "fs", "48MiB", ", filesystem: {type: ext4}"));
  Outcome mounted = box.hostform({"plan", "-f", smaller, "--allow-data-loss"});
  EXPECT_EQ(mounted.code, 1) << mounted.out << mounted.err;
  EXPECT_TRUE(contains(mounted.err, "error: spec.size: shrinking " + vg + "/fs from 64MiB to 48MiB needs its ext4 "
                                    "filesystem unmounted, and it is mounted at " + mnt +
                                    "; ext4 shrinks only offline."))
      << mounted.err;
  ASSERT_EQ(run({"umount", mnt}).code, 0);

  // Unmounted: a shrink that keeps the data (resize2fs first), behind --allow-data-loss.
  Outcome refused = apply(smaller);
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  r = apply(smaller, {"--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(box.lvs(vg)["fs"].size, 48 * MiB);
  EXPECT_EQ(ext4Size(node("fs")), 48 * MiB);
  EXPECT_EQ(run({"e2fsck", "-fn", node("fs")}).code, 0);
  expectConverged(smaller);
}

TEST_F(LvmVm, XfsIsMadeAndGrownAndItsShrinkIsRefusedAtPlanTime) {
  // xfsprogs makes nothing under 300MiB.
  const std::string made = box.manifest(base + lvDoc(vg, "x", "320MiB", ", filesystem: {type: xfs}"));
  Outcome r = apply(made);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(blkidType(node("x")), "xfs");
  EXPECT_EQ(xfsSize(node("x")), 320 * MiB);

  const std::string grown = box.manifest(base + lvDoc(vg, "x", "400MiB", ", filesystem: {type: xfs}"));
  r = apply(grown);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(xfsSize(node("x")), 400 * MiB);
  expectConverged(grown);

  const std::string smaller = box.manifest(base + lvDoc(vg, "x", "320MiB", ", filesystem: {type: xfs}"));
  Outcome refused = box.hostform({"plan", "-f", smaller, "--allow-data-loss"});
  EXPECT_EQ(refused.code, 1) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.err, "error: spec.size: shrinking " + vg +
                                        "/x from 400MiB to 320MiB is impossible: it holds xfs, and xfs cannot shrink."))
      << refused.err;
  EXPECT_EQ(box.lvs(vg)["x"].size, 400 * MiB);
}

TEST_F(LvmVm, AFilesystemOnAnExistingBlankLvNeedsAllowDataLoss) {
  ASSERT_EQ(apply(box.manifest(base + lvDoc(vg, "blank", "16MiB"))).code, 0);
  const std::string fs = box.manifest(base + lvDoc(vg, "blank", "16MiB", ", filesystem: {type: ext4}"));
  Outcome refused = apply(fs);
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.out, "filesystem (none) -> ext4")) << refused.out;
  Outcome r = apply(fs, {"--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(blkidType(node("blank")), "ext4");
  expectConverged(fs);

  // Something else on it: never converted.
  const std::string xfs = box.manifest(base + lvDoc(vg, "blank", "16MiB", ", filesystem: {type: xfs}"));
  Outcome other = box.hostform({"plan", "-f", xfs, "--allow-data-loss"});
  EXPECT_EQ(other.code, 1);
  EXPECT_TRUE(contains(other.err, "error: spec.filesystem: " + vg + "/blank holds ext4 (filesystem), not xfs; "
                                  "hostform makes a filesystem only on a blank volume and never converts one."))
      << other.err;
}

TEST_F(LvmVm, AutoExtendIsAProfileLvmReportsAndItRelaxesTheOverCommitWarning) {
  const std::string thin = lvDoc(vg, "t", "160MiB", ", type: thin, thinPool: pool");
  const std::string with = box.manifest(
      base + lvDoc(vg, "pool", "64MiB", ", type: thin-pool, autoExtend: {threshold: 80, percent: 20}") + thin);
  // 250% with autoExtend: above 200%, still warned, with the other limit named.
  Outcome plan = box.hostform({"plan", "-f", with});
  EXPECT_TRUE(contains(plan.out, "250% of its 64MiB (hostform warns above 200% with autoExtend)")) << plan.out;
  Outcome r = apply(with);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(box.lvField(vg, "pool", "lv_profile"), "hostform-autoextend-80-20");
  Outcome setting = box.lvm({"config", "--metadataprofile", "hostform-autoextend-80-20",
                             "activation/thin_pool_autoextend_threshold", "activation/thin_pool_autoextend_percent"});
  EXPECT_EQ(setting.out, "thin_pool_autoextend_threshold=80\nthin_pool_autoextend_percent=20\n") << setting.err;
  expectConverged(with);

  const std::string changed = box.manifest(
      base + lvDoc(vg, "pool", "96MiB", ", type: thin-pool, autoExtend: {threshold: 90, percent: 10}") + thin);
  Outcome p2 = box.hostform({"plan", "-f", changed});
  EXPECT_TRUE(contains(p2.out, "autoExtend threshold 80%, percent 20% -> threshold 90%, percent 10%")) << p2.out;
  EXPECT_FALSE(contains(p2.out, "warning")) << p2.out;  // 166% with autoExtend
  ASSERT_EQ(apply(changed).code, 0);
  EXPECT_EQ(box.lvField(vg, "pool", "lv_profile"), "hostform-autoextend-90-10");
  expectConverged(changed);

  const std::string without = box.manifest(base + lvDoc(vg, "pool", "96MiB", ", type: thin-pool") + thin);
  ASSERT_EQ(apply(without).code, 0);
  EXPECT_EQ(box.lvField(vg, "pool", "lv_profile"), "");
  expectConverged(without);
}

}  // namespace
}  // namespace hostform::lvmtest
