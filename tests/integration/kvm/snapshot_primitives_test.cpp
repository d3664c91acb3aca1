// The KVM snapshot primitives (providers/kvm/snapshot.h) against real
// qemu-img and the real libvirtd: qcow2 internal and external snapshots of a
// volume, with content written and read back by qemu-io; libvirt snapshots
// of a running tiny TCG guest, with its memory; and what is refused, with the
// exact words.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "providers/kvm/observe.h"
#include "providers/kvm/snapshot.h"
#include "tests/integration/kvm/kvm_box.h"

namespace hostform::kvmtest {
namespace {

namespace fs = std::filesystem;
using namespace hostform::kvm;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// qemu-io on an image: "write -P 0xab 0 64k" or "read -P 0xab 0 64k".
Outcome qemuIo(const fs::path& image, const std::string& command) {
  return testing::runProgram("/usr/bin/qemu-io", {"-f", "qcow2", "-c", command, image.string()});
}

/// Whether the first 64 KiB of `image` hold `pattern`, as qemu-io reads them.
bool holds(const fs::path& image, const std::string& pattern) {
  Outcome r = qemuIo(image, "read -P " + pattern + " 0 64k");
  return r.code == 0 && !contains(r.out, "Pattern verification failed");
}

void write(const fs::path& image, const std::string& pattern) {
  Outcome r = qemuIo(image, "write -P " + pattern + " 0 64k");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
}

fs::path newImage(const KvmBox& box, const std::string& name) {
  const fs::path file = fs::path(box.dir().path()) / name;
  Outcome r = testing::runProgram("/usr/bin/qemu-img", {"create", "-q", "-f", "qcow2", file.string(), "64M"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  return file;
}

TEST(KvmSnapshotPrimitives, Qcow2InternalSnapshotTakenListedRestoredDeleted) {
  KvmBox box;
  const fs::path image = newImage(box, "a.qcow2");
  write(image, "0xab");
  const std::int64_t before = now();
  ASSERT_TRUE(createImageSnapshot(image, "s1"));

  auto listed = readImageSnapshots(image);
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->format, "qcow2");
  ASSERT_EQ(listed->snapshots.size(), 1u);
  EXPECT_EQ(listed->snapshots[0].name, "s1");
  EXPECT_EQ(listed->snapshots[0].vmStateSize, 0u);  // no VM: disk only
  EXPECT_GE(listed->snapshots[0].dateSec, before - 1);
  EXPECT_LE(listed->snapshots[0].dateSec, now());

  // A second snapshot of the same name: qemu-img would take it; hostform does not.
  auto twice = createImageSnapshot(image, "s1");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, image.string() +
                                       " already holds an internal snapshot named s1; hostform takes no second one of "
                                       "that name (qemu-img would).");

  write(image, "0xcd");
  EXPECT_TRUE(holds(image, "0xcd"));
  ASSERT_TRUE(revertImageSnapshot(image, "s1"));
  EXPECT_TRUE(holds(image, "0xab"));

  ASSERT_TRUE(deleteImageSnapshot(image, "s1"));
  EXPECT_TRUE(readImageSnapshots(image)->snapshots.empty());
  EXPECT_TRUE(holds(image, "0xab"));  // deleting a snapshot leaves the image as it is

  auto missing = deleteImageSnapshot(image, "s1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "qemu-img snapshot --image-opts -d s1 driver=qcow2,file.driver=file,file.filename=" + image.string() +
                " failed with exit code 1: qemu-img: Could not delete snapshot 's1': "
                "snapshot not found");
}

TEST(KvmSnapshotPrimitives, RawImageHasNoInternalSnapshot) {
  KvmBox box;
  const fs::path raw = fs::path(box.dir().path()) / "r.raw";
  ASSERT_EQ(testing::runProgram("/usr/bin/qemu-img", {"create", "-q", "-f", "raw", raw.string(), "1M"}).code, 0);
  auto r = createImageSnapshot(raw, "s1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, raw.string() + " is a raw image; internal snapshots need qcow2.");
}

TEST(KvmSnapshotPrimitives, Qcow2ExternalSnapshotFreezesTheFileAndKeepsTheVolumePath) {
  KvmBox box;
  const fs::path image = newImage(box, "v.qcow2");
  const fs::path e1 = fs::path(box.dir().path()) / "v.qcow2@e1", e2 = fs::path(box.dir().path()) / "v.qcow2@e2";
  write(image, "0xab");
  ASSERT_TRUE(createExternalVolumeSnapshot(image, "e1"));
  // The volume's path is now an empty overlay on the frozen file, which reads the same.
  EXPECT_EQ(readImageSnapshots(image)->backingFile, e1.string());
  EXPECT_TRUE(holds(image, "0xab"));
  struct stat st {};
  ASSERT_EQ(::stat(e1.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u) << "the frozen file is read-only";

  write(image, "0xcd");
  EXPECT_TRUE(holds(e1, "0xab"));  // the frozen file keeps the point in time
  ASSERT_TRUE(revertExternalVolumeSnapshot(image, "e1"));
  EXPECT_TRUE(holds(image, "0xab"));

  // A newer snapshot between: restoring the older one is refused.
  write(image, "0x11");
  ASSERT_TRUE(createExternalVolumeSnapshot(image, "e2"));
  EXPECT_EQ(readImageSnapshots(e2)->backingFile, e1.string());
  auto older = revertExternalVolumeSnapshot(image, "e1");
  ASSERT_FALSE(older);
  EXPECT_EQ(older.error().message, image.string() + " is not backed by " + e1.string() + " but by " + e2.string() +
                                       ": a newer external snapshot lies between them. Delete the newer snapshots "
                                       "first, or restore the newest.");
  write(image, "0x22");

  // Deleting the older one merges it into the newer frozen file; the content stays.
  ASSERT_TRUE(deleteExternalVolumeSnapshot(image, "e1"));
  EXPECT_FALSE(fs::exists(e1));
  EXPECT_EQ(readImageSnapshots(e2)->backingFile, "");
  EXPECT_TRUE(holds(e2, "0x11"));
  EXPECT_TRUE(holds(image, "0x22"));
  // Deleting the newest merges it into the volume, which stands alone again.
  ASSERT_TRUE(deleteExternalVolumeSnapshot(image, "e2"));
  EXPECT_FALSE(fs::exists(e2));
  EXPECT_EQ(readImageSnapshots(image)->backingFile, "");
  EXPECT_TRUE(holds(image, "0x22"));

  auto gone = deleteExternalVolumeSnapshot(image, "e2");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message,
            e2.string() + " is not in the backing chain of " + image.string() + "; nothing was changed.");
}

TEST(KvmSnapshotPrimitives, VolumeSnapshotRecordsSurviveAndDrop) {
  KvmBox box;
  const fs::path state = fs::path(box.dir().path()) / "records";
  EXPECT_TRUE(readVolumeSnapshotRecords(state)->empty());
  VolumeSnapshotRecord r{"p", "v.qcow2", true, "alice", 1796592959};
  ASSERT_TRUE(writeVolumeSnapshotRecord(state, "s1", r));
  auto read = readVolumeSnapshotRecords(state);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ(read->at("s1"), r);
  ASSERT_TRUE(writeVolumeSnapshotRecord(state, "s1", std::nullopt));
  EXPECT_TRUE(readVolumeSnapshotRecords(state)->empty());
}

class KvmDomainSnapshot : public ::testing::Test {
 protected:
  KvmBox box;
  std::string pool = box.name("pool"), vm = box.name("vm");

  /// A pool, a qcow2 volume, a raw volume and a running tiny VM on the qcow2 one.
  void SetUp() override {
    const std::string declared =
        box.poolDoc(pool) + box.volumeDoc(pool, "vm.qcow2", "capacity: 64MiB") +
        box.volumeDoc(pool, "data.raw", "capacity: 8MiB, format: raw") +
        box.vmDoc(
            vm, "  memory: 64MiB\n  shutdownTimeout: 1s\n  disks: [{volume: {pool: " + pool + ", name: vm.qcow2}}]\n");
    Outcome a = box.hostform({"apply", "-f", box.manifest(declared)});
    ASSERT_EQ(a.code, 0) << a.out << a.err;
    ASSERT_GE(box.domainId(vm), 0);
  }
  KvmState state() {
    auto s = readState(box.conn(), true);
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : KvmState{};
  }
  fs::path volumePath(const std::string& name) const { return fs::path(box.dir().path()) / pool / name; }
};

TEST_F(KvmDomainSnapshot, RunningGuestSnapshotHoldsMemoryAndReverts) {
  const std::int64_t before = now();
  ASSERT_TRUE(createDomainSnapshot(box.conn(), vm, "s1", box.owner()));
  auto all = readDomainSnapshots(box.conn());
  ASSERT_TRUE(all) << all.error().message;
  std::vector<DomainSnapshotInfo> mine;
  for (const auto& s : *all)
    if (s.domain == vm) mine.push_back(s);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].name, "s1");
  EXPECT_EQ(mine[0].state, "running");
  EXPECT_TRUE(mine[0].memory);
  EXPECT_FALSE(mine[0].external);
  EXPECT_EQ(mine[0].owner, box.owner());
  EXPECT_EQ(mine[0].disks, std::vector<std::string>{"vda"});
  EXPECT_GE(mine[0].creationTime, before - 1);
  EXPECT_LE(mine[0].creationTime, now());

  // The memory lives in the qcow2 disk as the internal snapshot's VM state.
  auto image = readImageSnapshots(volumePath("vm.qcow2"));
  ASSERT_TRUE(image) << image.error().message;
  ASSERT_EQ(image->snapshots.size(), 1u);
  EXPECT_EQ(image->snapshots[0].name, "s1");
  EXPECT_GT(image->snapshots[0].vmStateSize, 0u);

  // Reverted while stopped: it runs again, from the snapshot's memory.
  ASSERT_EQ(virDomainDestroy(virDomainLookupByName(box.conn(), vm.c_str())), 0);
  ASSERT_TRUE(revertDomainSnapshot(box.conn(), vm, "s1"));
  EXPECT_GE(box.domainId(vm), 0);

  ASSERT_TRUE(deleteDomainSnapshot(box.conn(), vm, "s1"));
  EXPECT_TRUE(readImageSnapshots(volumePath("vm.qcow2"))->snapshots.empty());
  auto missing = deleteDomainSnapshot(box.conn(), vm, "s1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cannot find snapshot s1 of domain " + vm +
                                         ": Domain snapshot not found: no domain snapshot with matching name 's1'");
}

TEST_F(KvmDomainSnapshot, PlanTimeRefusalsSayWhatToDo) {
  const KvmState s = state();
  const VolumeInfo* used = s.findVolume(pool, "vm.qcow2");
  const VolumeInfo* raw = s.findVolume(pool, "data.raw");
  const DomainInfo* dom = s.findDomain(vm);
  ASSERT_TRUE(used && raw && dom);
  EXPECT_EQ(volumeSnapshotRefusal(*used, s, SnapshotStorage::Internal, true),
            "volume " + pool + "/vm.qcow2 is in use by running VM " + vm +
                ": qemu-img cannot change an image QEMU has open. Snapshot the VM instead (source: {virtualMachine: " +
                vm + "}), or stop it first.");
  EXPECT_EQ(volumeSnapshotRefusal(*raw, s, SnapshotStorage::Internal, true),
            "volume " + pool +
                "/data.raw is raw: internal snapshots live inside a qcow2 image; declare the volume "
                "with format: qcow2.");
  EXPECT_EQ(volumeSnapshotRefusal(*raw, s, SnapshotStorage::External, true),
            "volume " + pool +
                "/data.raw is raw: an external snapshot would turn it into a qcow2 overlay; declare "
                "the volume with format: qcow2.");
  EXPECT_EQ(volumeSnapshotRefusal(*used, s, SnapshotStorage::Internal, false),
            "libvirt runs on another host: hostform takes volume snapshots with qemu-img on the volume's file, which "
            "it can reach only on this host.");
  EXPECT_EQ(domainSnapshotRefusal(*dom, s, SnapshotStorage::Internal), std::nullopt);
  EXPECT_EQ(domainSnapshotRefusal(*dom, s, SnapshotStorage::External),
            "external snapshots of VM " + vm +
                " are not offered: libvirt moves the VM's disks onto new overlay files that its manifest does not "
                "name, and libvirt before 9.7 cannot revert to an external snapshot; use mode: internal, or snapshot "
                "its volumes with mode: external.");

  // A VM with a raw disk: no internal snapshot; libvirt agrees.
  Outcome a = box.hostform(
      {"apply", "-f",
       box.manifest(box.poolDoc(pool) + box.volumeDoc(pool, "vm.qcow2", "capacity: 64MiB") +
                    box.volumeDoc(pool, "data.raw", "capacity: 8MiB, format: raw") +
                    box.vmDoc(vm,
                              "  memory: 64MiB\n  shutdownTimeout: 1s\n  state: stopped\n"
                              "  disks: [{volume: {pool: " +
                                  pool + ", name: vm.qcow2}}, {volume: {pool: " + pool + ", name: data.raw}}]\n"))});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  const KvmState after = state();
  EXPECT_EQ(domainSnapshotRefusal(*after.findDomain(vm), after, SnapshotStorage::Internal),
            "disk vdb of VM " + vm + " (volume " + pool +
                "/data.raw) is raw: internal snapshots of a VM need every writable disk in qcow2.");
  auto tried = createDomainSnapshot(box.conn(), vm, "s1", box.owner());
  ASSERT_FALSE(tried);
  EXPECT_TRUE(contains(tried.error().message, "cannot take snapshot s1 of domain " + vm + ": "))
      << tried.error().message;
  // Stopped: its qcow2 volume may be snapshotted on its own now.
  EXPECT_EQ(volumeSnapshotRefusal(*after.findVolume(pool, "vm.qcow2"), after, SnapshotStorage::Internal, true),
            std::nullopt);
}

}  // namespace
}  // namespace hostform::kvmtest
