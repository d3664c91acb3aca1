// Snapshots of LVs with the hostform binary on real lvm2, in either mode of
// the Sandbox: without device-mapper (this host) lvm2 makes no snapshot, so
// the plan refuses it and restore finds none; with activation
// (HOSTFORM_LVM_ACTIVATION=1, in the test VM) the same manifest is planned.
// What snapshots do when made is tests/vm/snapshot's suite.
#include <gtest/gtest.h>

#include "tests/integration/lvm/sandbox.h"

namespace hostform::lvmtest {
namespace {

TEST(LvmSnapshot, APlanRefusesSnapshotsWhereLvmCannotMakeThemAndRestoreFindsNone) {
  Sandbox box{1};
  const std::string vg = box.name("vg");
  const std::string base = "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + vg +
                           "}\nspec: {physicalVolumes: [" + box.devices()[0] +
                           "]}\n---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: data}\n"
                           "spec: {volumeGroup: " + vg + ", size: 16MiB}\n";
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(base)}).code, 0);
  const std::string m = box.manifest(base + "---\napiVersion: hostform/v1\nkind: Snapshot\nmetadata: {name: " +
                                     box.name("s") + "}\nspec:\n  source: {logicalVolume: {volumeGroup: " + vg +
                                     ", name: data}}\n  size: 8MiB\n");
  Outcome plan = box.hostform({"plan", "-f", m});
  if (box.activation()) {
    EXPECT_EQ(plan.code, 0) << plan.err;
    EXPECT_NE(plan.out.find("create: source (none) -> logicalVolume " + vg + "/data, size (none) -> 8MiB"),
              std::string::npos)
        << plan.out;
  } else {
    EXPECT_EQ(plan.code, 1);
    // lvm's reason: the sandbox's lvm.conf turns activation off (checked before the kernel's driver).
    const std::string why = "activation is off in the lvm.conf lvm reads (global/activation = 0): lvm writes metadata only";
    EXPECT_EQ(plan.err, m + ":15:27: error: spec.source.logicalVolume: lvm2 cannot make a "
                        "snapshot of " + vg + "/data on this host: " + why +
                        ", and lvm2 needs it to make and merge snapshots.\n1 error(s); nothing was changed.\n");
  }
  // Without -f, restore asks every provider of snapshots: libvirt's test
  // driver (in-process, no hostform snapshots) stands in for a libvirtd, so
  // the answer does not depend on one running.
  Outcome restore = box.hostform({"restore", box.name("s"), "--allow-data-loss", "--libvirt-uri", "test:///default"});
  EXPECT_EQ(restore.code, 1);
  EXPECT_EQ(restore.err, "error: there is no snapshot " + box.name("s") + " on this host.\n");
  Outcome declared = box.hostform({"restore", box.name("s"), "-f", m});
  EXPECT_EQ(declared.code, 1);
  EXPECT_EQ(declared.err, "error: there is no snapshot " + box.name("s") +
                              " on this host (it is declared, but not taken yet: apply takes it).\n");
}

}  // namespace
}  // namespace hostform::lvmtest
