// The hostform binary against real lvm2 on loop devices. Each test has its own
// devices, lvm.conf and names; LVM's state is asserted with lvs/pvs/vgs JSON.
// No device-mapper on the build host: LVs get metadata only, and thin pools are
// refused by lvm. The test VM runs the same binary with activation on
// (HOSTFORM_LVM_ACTIVATION=1, ctest vm_lvm_suite).

#include <gtest/gtest.h>

#include "tests/integration/lvm/sandbox.h"
#include "tests/support/process.h"

namespace hostform::lvmtest {
namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::string vgDoc(const std::string& name, const std::vector<std::string>& pvs, const std::string& extra = "") {
  std::string list;
  for (const auto& p : pvs) list += (list.empty() ? "" : ", ") + p;
  return "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + name + "}\nspec: {physicalVolumes: [" +
         list + "]" + extra + "}\n---\n";
}

std::string lvDoc(const std::string& vg, const std::string& name, const std::string& size, const std::string& extra = "") {
  return "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: " + name + "}\nspec: {volumeGroup: " + vg +
         ", size: " + size + extra + "}\n---\n";
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

class LvmE2E : public ::testing::Test {
 protected:
  /// Converged: a plan with --detailed-exitcode exits 0 and says so.
  void expectConverged(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"plan", "-f", file, "--detailed-exitcode"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome r = box.hostform(args);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "No changes. Host matches the manifests.\n");
  }

  Sandbox box{3};
  std::string vg = box.name("vg");
};

TEST_F(LvmE2E, CreatesFromEmptyThenPlansNoChange) {
  const std::string file = box.manifest(vgDoc(vg, {box.devices()[0]}) + lvDoc(vg, "data", "10MiB") +
                                        lvDoc(vg, "logs", "8MiB"));
  Outcome plan = box.hostform({"plan", "-f", file, "--detailed-exitcode"});
  EXPECT_EQ(plan.code, 2) << plan.err;
  EXPECT_TRUE(contains(plan.out, "Plan: 3 to create, 0 to change, 0 to delete.")) << plan.out;

  Outcome apply = box.hostform({"apply", "-f", file});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_TRUE(contains(apply.out, "Apply complete: 3 done.")) << apply.out;

  EXPECT_EQ(box.vgs().at(vg), "hostform_owner_" + box.owner());
  EXPECT_EQ(box.pvs().at(box.devices()[0]), vg);
  auto lvs = box.lvs(vg);
  ASSERT_EQ(lvs.size(), 2u);
  EXPECT_EQ(lvs["data"].size, 12 * MiB);  // 10MiB rounded up to 4MiB extents, as lvcreate does
  EXPECT_EQ(lvs["data"].layout, "linear");
  EXPECT_EQ(lvs["data"].tags, "hostform_owner_" + box.owner());
  EXPECT_EQ(lvs["logs"].size, 8 * MiB);
  expectConverged(file);
}

TEST_F(LvmE2E, GrowsAnLvAndExtendsTheVgWithANewPv) {
  const auto& d = box.devices();
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "12MiB"))}).code, 0);

  const std::string grown = box.manifest(vgDoc(vg, {d[0], d[1]}) + lvDoc(vg, "data", "200MiB"));
  Outcome plan = box.hostform({"plan", "-f", grown});
  EXPECT_EQ(plan.code, 0) << plan.err;
  EXPECT_TRUE(contains(plan.out, "~ LogicalVolume/" + vg + "/data")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "size 12MiB -> 200MiB")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "physicalVolumes [" + d[0] + "] -> [" + d[0] + ", " + d[1] + "]")) << plan.out;

  Outcome apply = box.hostform({"apply", "-f", grown});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_EQ(box.pvs().at(d[1]), vg);
  EXPECT_EQ(box.lvs(vg)["data"].size, 200 * MiB);  // more than one 128MiB device: needs the new PV
  expectConverged(grown);
}

TEST_F(LvmE2E, EachLvmCommandIsReportedAsProgress) {
  const std::string created = box.manifest(vgDoc(vg, {box.devices()[0]}) + lvDoc(vg, "data", "8MiB"));
  // Not a terminal, default level: progress stays out of stderr.
  Outcome quiet = box.hostform({"apply", "-f", created});
  ASSERT_EQ(quiet.code, 0) << quiet.out << quiet.err;
  EXPECT_FALSE(contains(quiet.err, "lvm ")) << quiet.err;

  // Not a terminal, --log-level info: one log line per command.
  const std::string grown = box.manifest(vgDoc(vg, {box.devices()[0]}) + lvDoc(vg, "data", "16MiB"));
  Outcome logged = box.hostform({"apply", "-f", grown, "--log-level", "info"});
  ASSERT_EQ(logged.code, 0) << logged.out << logged.err;
  EXPECT_TRUE(contains(logged.err, "info: LogicalVolume/" + vg + "/data: lvm lvextend ")) << logged.err;

  // On a terminal: the line is rewritten in place, then erased before the outcome line.
  const std::string again = box.manifest(vgDoc(vg, {box.devices()[0]}) + lvDoc(vg, "data", "24MiB"));
  Outcome shown = testing::runOnTerminal(
      HOSTFORM_BINARY, {"apply", "--auto-approve", "-f", again, "--state-dir", box.stateDir(), "--owner", box.owner()},
      {{"TERM", "xterm"}, {"NO_COLOR", std::nullopt}});
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_TRUE(contains(shown.out, "\r\033[KLogicalVolume/" + vg + "/data: lvm lvextend ")) << shown.out;
  EXPECT_TRUE(contains(shown.out, "\r\033[KLogicalVolume/" + vg + "/data: updated\r\n")) << shown.out;
  EXPECT_EQ(box.lvs(vg)["data"].size, 24 * MiB);
}

TEST_F(LvmE2E, ShrinkIsRefusedWithExitThreeThenAllowed) {
  const auto& d = box.devices();
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "40MiB"))}).code, 0);
  const std::string smaller = box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "20MiB"));

  Outcome refused = box.hostform({"apply", "-f", smaller});
  EXPECT_EQ(refused.code, 3);
  EXPECT_TRUE(contains(refused.err, "error: LogicalVolume/" + vg + "/data: refused: shrinking LogicalVolume/" + vg +
                                        "/data from 40MiB to 20MiB loses the data beyond 20MiB; pass "
                                        "--allow-data-loss to accept the loss"))
      << refused.err;
  EXPECT_EQ(box.lvs(vg)["data"].size, 40 * MiB);

  Outcome allowed = box.hostform({"apply", "-f", smaller, "--allow-data-loss"});
  EXPECT_EQ(allowed.code, 0) << allowed.out << allowed.err;
  EXPECT_EQ(box.lvs(vg)["data"].size, 20 * MiB);
  expectConverged(smaller);
}

TEST_F(LvmE2E, PruneDeletesOnlyOwnedVolumes) {
  const auto& d = box.devices();
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "keep", "8MiB") +
                                                          lvDoc(vg, "gone", "8MiB"))})
                .code,
            0);
  // By hand, and by another owner: neither may ever be touched.
  ASSERT_EQ(box.lvm({"lvcreate", "-n", "manual", "-L", "8m", vg}).code, 0);
  const std::string theirs = box.manifest(lvDoc(vg, "theirs", "8MiB"));
  ASSERT_EQ(box.hostform({"apply", "-f", theirs}, "someone-else").code, 0);

  const std::string fewer = box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "keep", "8MiB"));
  Outcome plan = box.hostform({"plan", "-f", fewer});
  EXPECT_EQ(plan.code, 0);
  EXPECT_TRUE(contains(plan.out, "? LogicalVolume/" + vg + "/gone")) << plan.out;
  EXPECT_FALSE(contains(plan.out, "manual")) << plan.out;
  EXPECT_FALSE(contains(plan.out, "theirs")) << plan.out;

  Outcome refused = box.hostform({"apply", "-f", fewer, "--prune"});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.err, "deleting LogicalVolume/" + vg + "/gone destroys its 8MiB of data")) << refused.err;
  EXPECT_EQ(box.lvs(vg).count("gone"), 1u);

  Outcome pruned = box.hostform({"apply", "-f", fewer, "--prune", "--allow-data-loss"});
  EXPECT_EQ(pruned.code, 0) << pruned.out << pruned.err;
  auto lvs = box.lvs(vg);
  EXPECT_EQ(lvs.count("gone"), 0u);
  EXPECT_EQ(lvs.count("keep"), 1u);
  EXPECT_EQ(lvs.count("manual"), 1u);
  EXPECT_EQ(lvs["manual"].tags, "");
  EXPECT_EQ(lvs.count("theirs"), 1u);
  expectConverged(fewer, {"--prune"});
}

TEST_F(LvmE2E, PruneDeletesAnOwnedVolumeGroupAndFreesItsDevices) {
  const auto& d = box.devices();
  const std::string other = box.name("other");
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0]}) + vgDoc(other, {d[1]}) +
                                                          lvDoc(other, "x", "8MiB"))})
                .code,
            0);
  const std::string onlyFirst = box.manifest(vgDoc(vg, {d[0]}));
  Outcome pruned = box.hostform({"apply", "-f", onlyFirst, "--prune", "--allow-data-loss"});
  EXPECT_EQ(pruned.code, 0) << pruned.out << pruned.err;
  EXPECT_NE(pruned.out.find("delete (prune); loses data: deleting VolumeGroup/" + other +
                            " destroys its 1 logical volume(s): x (8MiB); would destroy 8MiB; no snapshot is taken: a "
                            "snapshot would live in the volume group being deleted\n"),
            std::string::npos)
      << pruned.out;
  EXPECT_EQ(box.vgs().count(other), 0u);
  EXPECT_EQ(box.pvs().count(d[1]), 0u);  // pvremove'd: the device is blank again
  EXPECT_EQ(box.vgs().count(vg), 1u);
}

TEST_F(LvmE2E, PruningAVgThatHoldsAHandMadeLvIsRefusedAtPlanTime) {
  const auto& d = box.devices();
  const std::string other = vg + "b";
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0]}) + vgDoc(other, {d[1]}))}).code, 0);
  ASSERT_EQ(box.lvm({"lvcreate", "-n", "manual", "-L", "8m", vg}).code, 0);

  Outcome r = box.hostform({"apply", "-f", box.manifest(vgDoc(other, {d[1]})), "--prune", "--allow-data-loss"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "error: VolumeGroup/" + vg + ": cannot delete (prune): volume group " + vg +
                                  " still holds logical volumes this run does not delete (manual)"))
      << r.err;
  EXPECT_EQ(r.out, "");  // refused before any plan is printed or applied
  EXPECT_EQ(box.vgs().count(vg), 1u);
  EXPECT_EQ(box.lvs(vg).count("manual"), 1u);
}

TEST_F(LvmE2E, RemovesAnEmptyPvButRefusesAUsedOne) {
  const auto& d = box.devices();
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0], d[1]}) + lvDoc(vg, "data", "8MiB"))}).code, 0);
  // lvm allocates from the first PV: d[0] is used, d[1] is empty.
  Outcome used = box.hostform({"plan", "-f", box.manifest(vgDoc(vg, {d[1]}) + lvDoc(vg, "data", "8MiB"))});
  EXPECT_EQ(used.code, 1);
  EXPECT_TRUE(contains(used.err, "physical volume " + d[0] + " holds 2 extents (8MiB) of volume group " + vg +
                                     "; hostform removes only empty physical volumes and never moves data"))
      << used.err;

  const std::string reduced = box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "8MiB"));
  Outcome apply = box.hostform({"apply", "-f", reduced});
  EXPECT_EQ(apply.code, 0) << apply.out << apply.err;
  auto pvs = box.pvs();
  EXPECT_EQ(pvs.at(d[0]), vg);
  EXPECT_EQ(pvs.count(d[1]), 0u);
  expectConverged(reduced);
}

TEST_F(LvmE2E, RefusesBadDevicesAtPlanTimeAndChangesNothing) {
  const auto& d = box.devices();
  const std::string foreign = box.name("foreign");
  ASSERT_EQ(box.lvm({"vgcreate", foreign, d[1]}).code, 0);
  ASSERT_EQ(run({"mkfs.ext4", "-q", "-F", d[2]}).code, 0);
  const std::string missing = "/dev/" + box.name("nosuch");

  Outcome r = box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0], d[1], d[2], missing}))});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "spec.physicalVolumes: device " + d[1] + " already belongs to volume group " + foreign))
      << r.err;
  EXPECT_TRUE(contains(r.err, "spec.physicalVolumes: device " + d[2] + " is not blank: blkid finds ext4 (filesystem)"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "spec.physicalVolumes: device " + missing + " does not exist.")) << r.err;
  EXPECT_TRUE(contains(r.err, "3 error(s); nothing was changed.")) << r.err;
  EXPECT_EQ(box.vgs().count(vg), 0u);
  EXPECT_EQ(box.pvs().count(d[0]), 0u);  // not even pvcreate'd
  EXPECT_EQ(run({"blkid", "-p", "-o", "value", "-s", "TYPE", d[2]}).out, "ext4\n");

  // spec.force accepts the signature (and wipes it).
  Outcome forced = box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0], d[2]}, ", force: true"))});
  EXPECT_EQ(forced.code, 0) << forced.out << forced.err;
  EXPECT_EQ(box.pvs().at(d[2]), vg);
}

TEST_F(LvmE2E, RefusesTooLargeLvsAndImmutableChanges) {
  const auto& d = box.devices();
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "8MiB"))}).code, 0);

  // 128MiB device: 31 extents, 2 used, 29 free.
  Outcome big = box.hostform({"plan", "-f", box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "8MiB") +
                                                             lvDoc(vg, "a", "64MiB") + lvDoc(vg, "b", "64MiB"))});
  EXPECT_EQ(big.code, 1);
  EXPECT_TRUE(contains(big.err, "spec.size: volume group " + vg +
                                    " has 29 free extents of 4MiB (116MiB), but the declared logical volumes of " + vg +
                                    " up to and including this one need 32 more (128MiB), 16 of them (64MiB) for this "
                                    "one."))
      << big.err;

  Outcome extent = box.hostform({"plan", "-f", box.manifest(vgDoc(vg, {d[0]}, ", extentSize: 8MiB"))});
  EXPECT_EQ(extent.code, 1);
  EXPECT_TRUE(contains(extent.err, "spec.extentSize: the extent size of volume group " + vg +
                                       " is 4MiB on the host and 8MiB in the manifest; it cannot be changed after "
                                       "creation."))
      << extent.err;

  Outcome type = box.hostform(
      {"plan", "-f", box.manifest(vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "8MiB", ", type: thin-pool"))});
  EXPECT_EQ(type.code, 1);
  EXPECT_TRUE(contains(type.err, "spec.type: logical volume " + vg +
                                     "/data is linear on the host and thin-pool in the manifest; the type cannot be "
                                     "changed after creation."))
      << type.err;

  Outcome name = box.hostform({"plan", "-f", box.manifest(lvDoc(vg, "snapshot1", "8MiB"))});
  EXPECT_EQ(name.code, 1);
  EXPECT_TRUE(contains(name.err, "LVM reserves names starting with \"snapshot\" or \"pvmove\"")) << name.err;
  EXPECT_EQ(box.lvs(vg).size(), 1u);
}

TEST_F(LvmE2E, ThinVolumesAreRefusedAtPlanTimeWhereLvmCannotMakeThemAndMadeWhereItCan) {
  // On the build host the tests' lvm.conf has activation off (and the kernel
  // may lack device-mapper too): lvm2 cannot create thin pools. The plan says
  // so, with lvm's own reason, before anything runs; apply used to find out
  // halfway (exit 4). In the test VM (HOSTFORM_LVM_ACTIVATION=1) it can: the
  // same manifests make them.
  const auto& d = box.devices();
  const std::string base = vgDoc(vg, {d[0]}) + lvDoc(vg, "data", "8MiB");
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(base)}).code, 0);
  const auto before = box.lvs(vg);

  const std::string file = box.manifest(base + lvDoc(vg, "pool", "32MiB", ", type: thin-pool") +
                                        lvDoc(vg, "thin1", "32MiB", ", type: thin, thinPool: pool") +
                                        lvDoc(vg, "more", "8MiB"));
  if (Sandbox::activation()) {
    Outcome r = box.hostform({"apply", "-f", file});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    auto lvs = box.lvs(vg);
    EXPECT_EQ(lvs["pool"].layout, "thin,pool");
    EXPECT_EQ(lvs["thin1"].layout, "thin,sparse");
    EXPECT_EQ(lvs["thin1"].pool, "pool");
    EXPECT_EQ(lvs["more"].size, 8 * MiB);
    expectConverged(file);
    return;
  }
  for (const char* command : {"plan", "apply"}) {
    Outcome r = box.hostform({command, "-f", file});
    EXPECT_EQ(r.code, 1) << command << r.out << r.err;
    EXPECT_EQ(r.out, "");
    for (const char* type : {"thin-pool", "thin"})
      EXPECT_TRUE(contains(r.err, std::string("error: spec.type: lvm2 cannot create a ") + type +
                                      " volume on this host: "))
          << r.err;
    EXPECT_TRUE(contains(r.err, "2 error(s); nothing was changed.")) << r.err;
  }
  const auto after = box.lvs(vg);  // hidden LVs included: nothing was created, not even `more`
  EXPECT_EQ(after, before);
}

TEST_F(LvmE2E, ExportThenApplyAdoptsAHandBuiltHostAndConverges) {
  const auto& d = box.devices();
  ASSERT_EQ(box.lvm({"vgcreate", "-s", "8m", vg, d[0], d[1]}).code, 0);
  ASSERT_EQ(box.lvm({"lvcreate", "-n", "web", "-L", "24m", vg}).code, 0);

  Outcome exported = box.hostform({"export", "--kind", "VolumeGroup", "--kind", "LogicalVolume"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_TRUE(contains(exported.out, "extentSize: 8MiB")) << exported.out;
  const std::string file = box.manifest(exported.out);

  Outcome plan = box.hostform({"plan", "-f", file});
  EXPECT_TRUE(contains(plan.out, "~ VolumeGroup/" + vg)) << plan.out;
  EXPECT_TRUE(contains(plan.out, "owner (none) -> " + box.owner())) << plan.out;
  Outcome apply = box.hostform({"apply", "-f", file});
  EXPECT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_EQ(box.vgs().at(vg), "hostform_owner_" + box.owner());
  EXPECT_EQ(box.lvs(vg)["web"].tags, "hostform_owner_" + box.owner());
  expectConverged(file);
}

TEST_F(LvmE2E, HonoursTheLvmConfigurationItIsGiven) {
  // The sandbox's filter hides every device but its own: a VG on a device of
  // the host is neither observed nor exported.
  Outcome exported = box.hostform({"export", "--kind", "VolumeGroup"});
  EXPECT_EQ(exported.code, 0) << exported.err;
  EXPECT_EQ(exported.out, "");
}

}  // namespace
}  // namespace hostform::lvmtest
