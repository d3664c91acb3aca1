// Snapshots of volumes and VMs through the hostform binary against the real
// libvirtd: taken by apply, shown by status, restored by `hostform restore`
// (content written and read back with qemu-io; a stopped guest running again
// from its memory), pruned, and what the plan refuses, with the exact errors.

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/integration/kvm/kvm_box.h"

namespace hostform::kvmtest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Outcome qemuIo(const fs::path& image, const std::string& command) {
  return testing::runProgram("/usr/bin/qemu-io", {"-f", "qcow2", "-c", command, image.string()});
}
bool holds(const fs::path& image, const std::string& pattern) {
  Outcome r = qemuIo(image, "read -P " + pattern + " 0 64k");
  return r.code == 0 && !contains(r.out, "Pattern verification failed");
}
void write(const fs::path& image, const std::string& pattern) {
  Outcome r = qemuIo(image, "write -P " + pattern + " 0 64k");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
}
json imageInfo(const fs::path& image) {
  Outcome r = testing::runProgram("/usr/bin/qemu-img", {"info", "-U", "--output=json", image.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.code == 0 ? json::parse(r.out) : json::object();
}

std::string snapshotDoc(const std::string& name, const std::string& source, const std::string& extra = "") {
  return "apiVersion: hostform/v1\nkind: Snapshot\nmetadata: {name: " + name + "}\nspec: {source: " + source + extra +
         "}\n---\n";
}

/// The facts of Snapshot `name` in `status -o json`.
json factsOf(const json& status, const std::string& name) {
  for (const json& r : status["resources"])
    if (r["kind"] == "Snapshot" && r["name"] == name) return r["facts"];
  ADD_FAILURE() << "Snapshot/" << name << " not in " << status.dump();
  return json::object();
}

class KvmSnapshots : public ::testing::Test {
 protected:
  KvmBox box;
  std::string pool = box.name("pool"), vm = box.name("vm");
  fs::path file(const std::string& volume) const { return fs::path(box.dir().path()) / pool / volume; }
};

TEST_F(KvmSnapshots, VolumeSnapshotsTakenShownRestoredAndPruned) {
  const std::string sInt = box.name("int"), sExt = box.name("ext");
  const std::string volumes = box.poolDoc(pool) + box.volumeDoc(pool, "a.qcow2", "capacity: 64MiB") +
                              box.volumeDoc(pool, "b.qcow2", "capacity: 64MiB");
  Outcome a = box.hostform({"apply", "-f", box.manifest(volumes)});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  write(file("a.qcow2"), "0xab");
  write(file("b.qcow2"), "0xab");

  const std::string declared =
      box.manifest(volumes + snapshotDoc(sInt, "{volume: {pool: " + pool + ", name: a.qcow2}}") +
                   snapshotDoc(sExt, "{volume: {pool: " + pool + ", name: b.qcow2}}", ", mode: external"));
  a = box.hostform({"apply", "-f", declared});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  EXPECT_TRUE(contains(a.out, "+ Snapshot/" + sInt)) << a.out;
  EXPECT_TRUE(contains(a.out, "+ Snapshot/" + sExt)) << a.out;
  box.expectConverged(declared);

  // On the host: an internal snapshot in a.qcow2; b.qcow2 an overlay on its frozen file.
  json ai = imageInfo(file("a.qcow2"));
  ASSERT_EQ(ai["snapshots"].size(), 1u) << ai.dump();
  EXPECT_EQ(ai["snapshots"][0]["name"], sInt);
  EXPECT_EQ(imageInfo(file("b.qcow2"))["full-backing-filename"], file("b.qcow2@" + sExt).string());
  EXPECT_TRUE(holds(file("b.qcow2"), "0xab"));

  // status: present, an age, the space used, what it is of.
  Outcome st = box.hostform({"status", "-f", declared, "-o", "json"});
  ASSERT_EQ(st.code, 0) << st.out << st.err;
  json status = json::parse(st.out);
  json fi = factsOf(status, sInt), fe = factsOf(status, sExt);
  EXPECT_EQ(fi["state"], "present");
  ASSERT_TRUE(fi["age"].is_number_integer()) << fi.dump();
  EXPECT_GE(fi["age"].get<int>(), 0);
  EXPECT_LT(fi["age"].get<int>(), 300);
  EXPECT_TRUE(fi["used"].is_null()) << "qcow2 counts no clusters per internal snapshot";
  EXPECT_EQ(fi["origin"], "volume " + pool + "/a.qcow2");
  EXPECT_EQ(fi["mode"], "internal");
  EXPECT_EQ(fe["state"], "present");
  ASSERT_TRUE(fe["used"].is_number()) << fe.dump();
  const double frozen = static_cast<double>(imageInfo(file("b.qcow2@" + sExt))["actual-size"].get<std::uint64_t>());
  EXPECT_NEAR(fe["used"].get<double>(), 100.0 * frozen / (64 << 20), 0.01);
  EXPECT_EQ(fe["origin"], "volume " + pool + "/b.qcow2");
  EXPECT_EQ(fe["mode"], "external");

  // Written since; restore puts the snapshot's bytes back, only with --allow-data-loss.
  write(file("a.qcow2"), "0xcd");
  write(file("b.qcow2"), "0xcd");
  Outcome r = box.hostform({"restore", sInt});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_TRUE(
      contains(r.out, "< Snapshot/" + sInt + "  restore Volume/" + pool + "/a.qcow2 to snapshot " + sInt + " taken "))
      << r.out;
  EXPECT_TRUE(contains(r.out, " ago: discards everything written since\n")) << r.out;
  EXPECT_TRUE(contains(r.out,
                       "  qemu-img snapshot -a: the image's content becomes the snapshot's; the snapshot "
                       "stays\n"))
      << r.out;
  EXPECT_EQ(r.err, "error: Snapshot/" + sInt + ": refused: restoring discards everything written to Volume/" + pool +
                       "/a.qcow2 since the snapshot; pass --allow-data-loss to accept the loss\n");
  EXPECT_TRUE(holds(file("a.qcow2"), "0xcd"));
  r = box.hostform({"restore", sInt, "--allow-data-loss", "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(holds(file("a.qcow2"), "0xcd"));
  r = box.hostform({"restore", sInt, "--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "Snapshot/" + sInt + ": restored Volume/" + pool + "/a.qcow2\n")) << r.out;
  EXPECT_TRUE(holds(file("a.qcow2"), "0xab"));
  r = box.hostform({"restore", sExt, "--allow-data-loss", "-f", declared});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "  the volume becomes a new empty overlay on b.qcow2@" + sExt + "; the snapshot stays\n"))
      << r.out;
  EXPECT_TRUE(holds(file("b.qcow2"), "0xab"));
  box.expectConverged(declared);

  // Pruned: data loss, refused without the flag; then gone from the images.
  const std::string only = box.manifest(volumes);
  Outcome p = box.hostform({"apply", "-f", only, "--prune"});
  EXPECT_EQ(p.code, 3) << p.out << p.err;
  EXPECT_TRUE(
      contains(p.out, "deleting snapshot " + sInt + " of volume " + pool + "/a.qcow2 drops the point in time it keeps"))
      << p.out;
  p = box.hostform({"apply", "-f", only, "--prune", "--allow-data-loss"});
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_EQ(imageInfo(file("a.qcow2")).count("snapshots"), 0u);
  EXPECT_FALSE(fs::exists(file("b.qcow2@" + sExt)));
  EXPECT_EQ(imageInfo(file("b.qcow2")).count("full-backing-filename"), 0u);
  EXPECT_TRUE(holds(file("a.qcow2"), "0xab"));
  EXPECT_TRUE(holds(file("b.qcow2"), "0xab"));
  box.expectConverged(only);
  std::ifstream records(box.dir().path() + "/state/kvm/snapshots.json");
  std::stringstream text;
  text << records.rdbuf();
  EXPECT_EQ(json::parse(text.str())["snapshots"], json::object());
}

TEST_F(KvmSnapshots, RunningVmSnapshotHoldsItsMemoryAndRestoreRunsItAgain) {
  const std::string snap = box.name("mem");
  const std::string base = box.poolDoc(pool) + box.volumeDoc(pool, "vm.qcow2", "capacity: 64MiB") +
                           box.vmDoc(vm, "  memory: 64MiB\n  shutdownTimeout: 1s\n  disks: [{volume: {pool: " + pool +
                                             ", name: vm.qcow2}}]\n");
  const std::string declared = box.manifest(base + snapshotDoc(snap, "{virtualMachine: " + vm + "}"));
  Outcome a = box.hostform({"apply", "-f", declared});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  ASSERT_GE(box.domainId(vm), 0);
  box.expectConverged(declared);

  // libvirt's own word: a running snapshot, with the memory, owned by this test.
  virDomainPtr dom = virDomainLookupByName(box.conn(), vm.c_str());
  ASSERT_NE(dom, nullptr);
  virDomainSnapshotPtr s = virDomainSnapshotLookupByName(dom, snap.c_str(), 0);
  ASSERT_NE(s, nullptr);
  char* raw = virDomainSnapshotGetXMLDesc(s, 0);
  const std::string xml = raw ? raw : "";
  free(raw);  // NOLINT(cppcoreguidelines-no-malloc)
  virDomainSnapshotFree(s);
  virDomainFree(dom);
  EXPECT_TRUE(contains(xml, "<state>running</state>")) << xml;
  EXPECT_TRUE(contains(xml, "<memory snapshot='internal'/>")) << xml;
  EXPECT_TRUE(contains(xml, "<description>hostform owner=" + box.owner() + "</description>")) << xml;

  Outcome st = box.hostform({"status", "-f", declared, "-o", "json"});
  ASSERT_EQ(st.code, 0) << st.out << st.err;
  json facts = factsOf(json::parse(st.out), snap);
  EXPECT_EQ(facts["state"], "present");
  EXPECT_EQ(facts["origin"], "virtualMachine " + vm);
  EXPECT_EQ(facts["mode"], "internal");
  json disk = imageInfo(file("vm.qcow2"));
  ASSERT_EQ(disk["snapshots"].size(), 1u);
  const auto vmState = disk["snapshots"][0]["vm-state-size"].get<std::uint64_t>();
  EXPECT_GT(vmState, 0u);
  EXPECT_EQ(facts["memory"], vmState);

  // The VM is stopped by hand; restoring runs it again, from the snapshot's memory.
  dom = virDomainLookupByName(box.conn(), vm.c_str());
  ASSERT_EQ(virDomainDestroy(dom), 0);
  virDomainFree(dom);
  Outcome r = box.hostform({"restore", snap, "--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "< Snapshot/" + snap + "  restore VirtualMachine/" + vm + " to snapshot " + snap))
      << r.out;
  EXPECT_TRUE(contains(r.out, "  the VM runs again from the moment of the snapshot, with the memory it had then\n"))
      << r.out;
  EXPECT_GE(box.domainId(vm), 0);
  box.expectConverged(declared);

  // Its disk cannot be snapshotted on its own while it runs; an external VM snapshot is refused.
  const std::string refused =
      box.manifest(base + snapshotDoc(box.name("disk"), "{volume: {pool: " + pool + ", name: vm.qcow2}}") +
                   snapshotDoc(box.name("ext"), "{virtualMachine: " + vm + "}", ", mode: external"));
  Outcome p = box.hostform({"plan", "-f", refused});
  EXPECT_EQ(p.code, 1) << p.out << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.source.volume: volume " + pool + "/vm.qcow2 is in use by running VM " + vm +
                                  ": qemu-img cannot change an image QEMU has open. Snapshot the VM instead (source: "
                                  "{virtualMachine: " +
                                  vm + "}), or stop it first.\n"))
      << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.mode: external snapshots of VM " + vm +
                                  " are not offered: libvirt moves the VM's disks onto new overlay files that its "
                                  "manifest does not name, and libvirt before 9.7 cannot revert to an external "
                                  "snapshot; use mode: internal, or snapshot its volumes with mode: external.\n"))
      << p.err;

  // A snapshot is never changed: the same name of another source is an error.
  const std::string changed =
      box.manifest(base + snapshotDoc(snap, "{virtualMachine: " + vm + "}", ", mode: external"));
  p = box.hostform({"plan", "-f", changed});
  EXPECT_EQ(p.code, 1) << p.out << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.mode: Snapshot/" + snap +
                                  " is internal on the host; a snapshot cannot be changed; declare a new name.\n"))
      << p.err;

  // Pruned with the flag: libvirt has no snapshot left, the disk no internal one.
  Outcome pr = box.hostform({"apply", "-f", box.manifest(base), "--prune", "--allow-data-loss"});
  ASSERT_EQ(pr.code, 0) << pr.out << pr.err;
  dom = virDomainLookupByName(box.conn(), vm.c_str());
  EXPECT_EQ(virDomainSnapshotNum(dom, 0), 0);
  virDomainFree(dom);
  EXPECT_EQ(imageInfo(file("vm.qcow2")).count("snapshots"), 0u);
}

TEST_F(KvmSnapshots, RawVolumeAndRawVmDiskAreRefusedAtPlanTime) {
  const std::string declared = box.manifest(
      box.poolDoc(pool) + box.volumeDoc(pool, "d.raw", "capacity: 8MiB, format: raw") +
      box.vmDoc(vm, "  memory: 64MiB\n  state: stopped\n  disks: [{volume: {pool: " + pool + ", name: d.raw}}]\n") +
      snapshotDoc(box.name("v"), "{volume: {pool: " + pool + ", name: d.raw}}") +
      snapshotDoc(box.name("m"), "{virtualMachine: " + vm + "}"));
  Outcome p = box.hostform({"plan", "-f", declared});
  EXPECT_EQ(p.code, 1) << p.out << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.source.volume: volume " + pool +
                                  "/d.raw is raw: internal snapshots live inside a qcow2 image; declare the volume "
                                  "with format: qcow2.\n"))
      << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.source.virtualMachine: disk #1 of VM " + vm + " (volume " + pool +
                                  "/d.raw) is raw: internal snapshots of a VM need every writable disk in qcow2.\n"))
      << p.err;
  // Once they exist, the same refusals come from the host's state.
  Outcome a =
      box.hostform({"apply", "-f",
                    box.manifest(box.poolDoc(pool) + box.volumeDoc(pool, "d.raw", "capacity: 8MiB, format: raw") +
                                 box.vmDoc(vm,
                                           "  memory: 64MiB\n  state: stopped\n  disks: "
                                           "[{volume: {pool: " +
                                               pool + ", name: d.raw}}]\n"))});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  p = box.hostform({"plan", "-f", declared});
  EXPECT_EQ(p.code, 1) << p.out << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.source.volume: volume " + pool +
                                  "/d.raw is raw: internal snapshots live "
                                  "inside a qcow2 image; declare the volume with format: qcow2.\n"))
      << p.err;
  EXPECT_TRUE(contains(p.err, "error: spec.source.virtualMachine: disk vda of VM " + vm + " (volume " + pool +
                                  "/d.raw) is raw: internal snapshots of a VM need every writable disk in qcow2.\n"))
      << p.err;
}

TEST_F(KvmSnapshots, DeletedVolumeIsKeptFirstAndRestoredByName) {
  const std::string volumes = box.poolDoc(pool) + box.volumeDoc(pool, "v.qcow2", "capacity: 64MiB") +
                              box.volumeDoc(pool, "w.qcow2", "capacity: 64MiB");
  Outcome a = box.hostform({"apply", "-f", box.manifest(volumes)});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  write(file("v.qcow2"), "0xab");

  // Pruned with --allow-data-loss: the file is kept whole, as the snapshot the plan names.
  const std::string onlyW = box.manifest(box.poolDoc(pool) + box.volumeDoc(pool, "w.qcow2", "capacity: 64MiB"));
  Outcome p = box.hostform({"apply", "-f", onlyW, "--prune", "--allow-data-loss"});
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_TRUE(contains(p.out, "; a snapshot is taken first: the volume's file, kept whole as " + pool +
                                  "/v.qcow2@v.qcow2-before-"))
      << p.out;
  EXPECT_FALSE(fs::exists(file("v.qcow2")));
  std::string kept;
  for (const auto& e : fs::directory_iterator(fs::path(box.dir().path()) / pool))
    if (e.path().filename().string().starts_with("v.qcow2@")) kept = e.path().filename().string();
  ASSERT_FALSE(kept.empty());
  const std::string name = kept.substr(std::string("v.qcow2@").size());
  EXPECT_TRUE(contains(p.out, "hostform restore " + name)) << p.out;
  EXPECT_TRUE(contains(p.out, "virsh vol-delete --pool " + pool + " " + kept)) << p.out;
  EXPECT_TRUE(holds(file(kept), "0xab"));
  // Not owned: no later prune deletes it, and the plan does not list it.
  box.expectConverged(onlyW);

  Outcome r = box.hostform({"restore", name, "--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "< Snapshot/" + name + "  restore Volume/" + pool + "/v.qcow2, deleted or refilled "
                                  "since, from snapshot " + name + " taken "))
      << r.out;
  EXPECT_TRUE(contains(r.out, "  the kept file " + kept + " becomes volume " + pool +
                                  "/v.qcow2 again (renamed back); declare it to own it again\n"))
      << r.out;
  EXPECT_FALSE(fs::exists(file(kept)));
  EXPECT_TRUE(holds(file("v.qcow2"), "0xab"));
  EXPECT_EQ(box.volumeCapacity(pool, "v.qcow2"), 64u << 20);

  // --no-snapshot: deleted, nothing kept.
  const std::string onlyV = box.manifest(box.poolDoc(pool) + box.volumeDoc(pool, "v.qcow2", "capacity: 64MiB"));
  p = box.hostform({"apply", "-f", onlyV, "--prune", "--allow-data-loss", "--no-snapshot"});
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_FALSE(contains(p.out, "a snapshot is taken first")) << p.out;
  EXPECT_FALSE(fs::exists(file("w.qcow2")));
  for (const auto& e : fs::directory_iterator(fs::path(box.dir().path()) / pool))
    EXPECT_FALSE(e.path().filename().string().starts_with("w.qcow2@")) << e.path();
}

}  // namespace
}  // namespace hostform::kvmtest
