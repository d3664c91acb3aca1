// One manifest with all six kinds, end to end through the binary: a bridge
// (netlink, in libvirtd's namespace), a VG and an LV (lvm2 on loop devices
// with a private lvm.conf), a logical pool on that VG and a dir pool, a volume,
// and a VM using the volume, the LV and the bridge. Then export: the exported
// manifests, applied, plan no change.
//
// Without device-mapper (this machine) LVs cannot be activated: the LV's
// /dev node does not exist, so the VM is defined but not started, and the
// logical pool is defined but not started (libvirt activates the VG to start it).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/integration/kvm/kvm_box.h"
#include "tests/integration/lvm/sandbox.h"

namespace hostform::kvmtest {
namespace {

bool deviceMapper() {
  std::ifstream misc("/proc/misc");
  std::string line;
  while (std::getline(misc, line))
    if (line.find("device-mapper") != std::string::npos) return true;
  return false;
}

/// The documents of a multi-document YAML stream that mention any of `names`.
std::string documentsMentioning(const std::string& stream, const std::vector<std::string>& names) {
  std::string out, doc, line;
  std::istringstream in(stream);
  auto flush = [&] {
    for (const std::string& n : names)
      if (contains(doc, n)) {
        out += doc + "---\n";
        break;
      }
    doc.clear();
  };
  while (std::getline(in, line)) {
    if (line == "---") flush();
    else doc += line + "\n";
  }
  flush();
  return out;
}

TEST(SixKinds, OneManifestBuildsTheHostAndItsExportReadsBackAsNoChange) {
  lvmtest::Sandbox lvm(2);  // declared first: destroyed last, after hostform pruned what it made
  KvmBox box;
  const std::string vg = lvm.name("vg"), br = box.name("br"), pool = box.name("pool"), lvPool = box.name("lvpool"),
                    vm = box.name("vm");
  const bool dm = deviceMapper();
  const std::string yaml =
      box.bridgeDoc(br) +
      "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + vg + "}\nspec: {physicalVolumes: [" +
      lvm.devices()[0] + ", " + lvm.devices()[1] + "]}\n---\n" +
      "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: data}\nspec: {volumeGroup: " + vg +
      ", size: 16MiB}\n---\n" +
      "apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: " + lvPool + "}\nspec: {type: logical, source: "
      "{volumeGroup: " + vg + "}, active: " + (dm ? "true" : "false") + ", autostart: false}\n---\n" +
      box.poolDoc(pool) + box.volumeDoc(pool, "root.qcow2", "capacity: 64MiB") +
      box.vmDoc(vm, "  memory: 64MiB\n  shutdownTimeout: 1s\n  state: " + std::string(dm ? "running" : "stopped") +
                        "\n  disks:\n  - volume: {pool: " + pool + ", name: root.qcow2}\n  - logicalVolume: "
                        "{volumeGroup: " + vg + ", name: data}\n  interfaces: [{bridge: " + br + "}]\n");
  const std::string file = box.manifest(yaml);

  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "Plan: 7 to create, 0 to change, 0 to delete.")) << plan.out;
  Outcome apply = box.hostform({"apply", "-f", file});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_TRUE(contains(apply.out, "Apply complete: 7 done.")) << apply.out;

  // Each kind, as its backend has it.
  EXPECT_EQ(lvm.pvs().at(lvm.devices()[0]), vg);
  EXPECT_EQ(lvm.lvs(vg).count("data"), 1u);
  const std::string persistent = box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE);
  EXPECT_TRUE(contains(persistent, "<source dev='/dev/" + vg + "/data'/>")) << persistent;
  EXPECT_TRUE(contains(persistent, "<source pool='" + pool + "' volume='root.qcow2'/>")) << persistent;
  EXPECT_TRUE(contains(persistent, "<source bridge='" + br + "'/>")) << persistent;
  EXPECT_EQ(box.domainId(vm) > 0, dm);
  EXPECT_NE(box.volumeCapacity(pool, "root.qcow2"), 0u);
  virStoragePoolPtr logical = virStoragePoolLookupByName(box.conn(), lvPool.c_str());
  ASSERT_TRUE(logical) << "the logical pool is defined";
  virStoragePoolFree(logical);
  box.expectConverged(file);

  // Adoption's first half: what export prints declares exactly this host.
  Outcome exported = box.hostform({"export"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string mine = documentsMentioning(exported.out, {box.prefix(), vg});
  EXPECT_TRUE(contains(mine, "kind: VirtualMachine")) << exported.out;
  EXPECT_TRUE(contains(mine, "kind: LogicalVolume")) << exported.out;
  box.expectConverged(box.manifest(mine));
}

TEST(SixKinds, AHandMadeHostIsAdoptedThroughExport) {
  lvmtest::Sandbox lvm(1);
  KvmBox box;
  const std::string vg = lvm.name("vg"), br = box.name("br"), pool = box.name("pool"), vm = box.name("vm");
  // What an operator made by hand, with the usual tools.
  ASSERT_EQ(testing::runProgram("/usr/sbin/ip", {"link", "add", br, "type", "bridge"}).code, 0);
  ASSERT_EQ(lvm.lvm({"vgcreate", vg, lvm.devices()[0]}).code, 0);
  ASSERT_EQ(lvm.lvm({"lvcreate", "-n", "data", "-L", "8m", vg}).code, 0);
  const std::string poolXml = "<pool type='dir'><name>" + pool + "</name><target><path>" + box.dir().path() + "/" +
                              pool + "</path></target></pool>";
  virStoragePoolPtr p = virStoragePoolDefineXML(box.conn(), poolXml.c_str(), 0);
  ASSERT_TRUE(p);
  ASSERT_EQ(virStoragePoolBuild(p, 0), 0);
  ASSERT_EQ(virStoragePoolCreate(p, 0), 0);
  const std::string volXml = "<volume><name>disk.qcow2</name><capacity unit='MiB'>64</capacity>"
                             "<target><format type='qcow2'/></target></volume>";
  virStorageVolPtr v = virStorageVolCreateXML(p, volXml.c_str(), 0);
  ASSERT_TRUE(v);
  virStorageVolFree(v);
  virStoragePoolFree(p);
  const std::string domXml = "<domain type='" + box.virtType() + "'><name>" + vm + "</name><memory unit='MiB'>64</memory>"
                             "<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>"
                             "<driver name='qemu' type='qcow2'/><source file='" + box.dir().path() + "/" + pool +
                             "/disk.qcow2'/><target dev='vda' bus='virtio'/></disk><interface type='bridge'>"
                             "<source bridge='" + br + "'/><model type='virtio'/></interface></devices></domain>";
  virDomainPtr d = virDomainDefineXML(box.conn(), domXml.c_str());
  ASSERT_TRUE(d);
  virDomainFree(d);

  Outcome exported = box.hostform({"export"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string mine = documentsMentioning(exported.out, {box.prefix(), vg});
  // The VM's disk is exported as the pool volume its path is.
  EXPECT_TRUE(contains(mine, "volume:\n        pool: " + pool + "\n        name: disk.qcow2") ||
              contains(mine, "volume: {pool: " + pool + ", name: disk.qcow2}")) << mine;
  const std::string file = box.manifest(mine);

  // Nothing to change but ownership: every object is adopted, none rebuilt.
  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  for (const std::string& id : {"Bridge/" + br, "VolumeGroup/" + vg, "LogicalVolume/" + vg + "/data",
                                "StoragePool/" + pool, "Volume/" + pool + "/disk.qcow2", "VirtualMachine/" + vm})
    EXPECT_TRUE(contains(plan.out, "~ " + id)) << id << "\n" << plan.out;
  EXPECT_TRUE(contains(plan.out, "Plan: 0 to create, 6 to change, 0 to delete.")) << plan.out;
  std::istringstream lines(plan.out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("~ ")) {
      EXPECT_TRUE(line.ends_with("owner (none) -> " + box.owner())) << line;
    }

  Outcome apply = box.hostform({"apply", "-f", file});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  box.expectConverged(file);
  // Owned now, each where its backend keeps the mark.
  EXPECT_TRUE(contains(box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE), "<hostform:owner>" + box.owner()));
  EXPECT_EQ(lvm.vgs().at(vg), "hostform_owner_" + box.owner());
  EXPECT_TRUE(contains(testing::runProgram("/usr/sbin/ip", {"-d", "link", "show", br}).out,
                       "alias hostform:owner=" + box.owner()));
  // Adopted objects are hostform's now: once undeclared, --prune deletes them.
  Outcome pruned = box.hostform({"plan", "-f", box.manifest(documentsMentioning(mine, {"kind: Bridge"})), "--prune"});
  EXPECT_TRUE(contains(pruned.out, "- VirtualMachine/" + vm + " ")) << pruned.out;
}

TEST(SixKinds, AnNfsPoolIsDefinedAndItsStartFailureNamed) {
  KvmBox box;
  const std::string pool = box.name("nfs");
  auto doc = [&](bool active) {
    return "apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: " + pool +
           "}\nspec: {type: netfs, target: " + box.dir().path() + "/" + pool +
           ", source: {host: 127.0.0.1, path: /export/" + pool + "}, autostart: false, active: " +
           (active ? "true" : "false") + "}\n";
  };
  const std::string inactive = box.manifest(doc(false));
  Outcome r = box.hostform({"apply", "-f", inactive});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  virStoragePoolPtr p = virStoragePoolLookupByName(box.conn(), pool.c_str());
  ASSERT_TRUE(p);
  EXPECT_EQ(virStoragePoolIsActive(p), 0);
  virStoragePoolFree(p);
  box.expectConverged(inactive);

  // No NFS server here: starting it fails at mount, and says so.
  Outcome start = box.hostform({"apply", "-f", box.manifest(doc(true))});
  EXPECT_EQ(start.code, 4) << start.out << start.err;
  EXPECT_TRUE(contains(start.out, "StoragePool/" + pool + ": failed: cannot start storage pool " + pool + ": "))
      << start.out;
}

}  // namespace
}  // namespace hostform::kvmtest
