// cloud-init seeds: the files and instance-id hostform derives from a
// manifest, and the NoCloud ISO as a real ISO reader (bsdtar, blkid) sees it.

#include "providers/kvm/cloud_init.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "providers/kvm/plan.h"

#include <nlohmann/json.hpp>

#include "tests/support/manifests.h"
#include "tests/support/process.h"

namespace hostform::kvm {
namespace {

CloudInitSpec spec(std::string userData) {
  CloudInitSpec c;
  c.userData = std::move(userData);
  return c;
}

TEST(CloudInitSeed, DefaultsInstanceIdAndHostnameFromTheVm) {
  const Seed seed = seedFor("web1", spec("#cloud-config\npackages: [nginx]\n"));
  EXPECT_EQ(seed.files.userData, "#cloud-config\npackages: [nginx]\n");
  ASSERT_EQ(seed.instanceId.size(), std::string("web1-").size() + 8) << seed.instanceId;
  EXPECT_TRUE(seed.instanceId.starts_with("web1-")) << seed.instanceId;
  EXPECT_FALSE(seed.instanceIdDeclared);
  const auto meta = nlohmann::json::parse(seed.files.metaData);
  EXPECT_EQ(meta.at("instance-id"), seed.instanceId);
  EXPECT_EQ(meta.at("local-hostname"), "web1");
  EXPECT_TRUE(seed.files.networkConfig.empty());  // no file: cloud-init's default networking
  EXPECT_EQ(seed.digest, seedDigest(seed.files));
  EXPECT_EQ(seed.digest.size(), 64u);
}

TEST(CloudInitSeed, AnyChangeGivesANewInstanceIdUnlessMetaDataSetsOne) {
  const Seed a = seedFor("web1", spec("#cloud-config\n{}\n"));
  const Seed b = seedFor("web1", spec("#cloud-config\nruncmd: [true]\n"));
  CloudInitSpec withNet = spec("#cloud-config\n{}\n");
  withNet.networkConfig = R"({"ethernets":{"eth0":{"dhcp4":true}},"version":2})";
  const Seed c = seedFor("web1", withNet);
  EXPECT_NE(a.instanceId, b.instanceId);
  EXPECT_NE(a.instanceId, c.instanceId);
  EXPECT_NE(a.digest, b.digest);
  EXPECT_EQ(c.files.networkConfig, std::string(*withNet.networkConfig) + "\n");
  EXPECT_EQ(seedFor("web1", spec("#cloud-config\n{}\n")).instanceId, a.instanceId);  // stable

  CloudInitSpec pinned = spec("#cloud-config\n{}\n");
  pinned.metaData = R"({"instance-id":"iid-web1","local-hostname":"www"})";
  CloudInitSpec pinnedChanged = pinned;
  pinnedChanged.userData = "#cloud-config\nruncmd: [true]\n";
  const Seed p = seedFor("web1", pinned), q = seedFor("web1", pinnedChanged);
  EXPECT_TRUE(p.instanceIdDeclared);
  EXPECT_EQ(p.instanceId, "iid-web1");
  EXPECT_EQ(q.instanceId, "iid-web1");
  EXPECT_NE(p.digest, q.digest);  // the seed is still rewritten
  EXPECT_EQ(nlohmann::json::parse(p.files.metaData).at("local-hostname"), "www");
}

TEST(CloudInitSeed, IsoIsANoCloudSeedThatIsoReadersRead) {
  testing::TempDir dir;
  CloudInitSpec c = spec("#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys: [ssh-ed25519 AAAA ops]\n");
  c.networkConfig = R"({"ethernets":{"eth0":{"addresses":["198.51.100.7/24"]}},"version":2})";
  const Seed seed = seedFor("db1", c);
  const std::string iso = dir.path() + "/seed.iso";
  auto ok = writeSeedIso(seed.files, iso);
  ASSERT_TRUE(ok) << ok.error().message;

  EXPECT_LT(std::filesystem::file_size(iso), 256u * 1024);  // small: observe reads it back
  const auto label = testing::runProgram("/usr/sbin/blkid", {"-o", "value", "-s", "LABEL", iso});
  EXPECT_EQ(label.out, "cidata\n") << label.err;
  const auto type = testing::runProgram("/usr/sbin/blkid", {"-o", "value", "-s", "TYPE", iso});
  EXPECT_EQ(type.out, "iso9660\n") << type.err;
  for (const auto& [name, content] : {std::pair{"user-data", seed.files.userData},
                                      std::pair{"meta-data", seed.files.metaData},
                                      std::pair{"network-config", seed.files.networkConfig}}) {
    const auto read = testing::runProgram("/usr/bin/bsdtar", {"-xOf", iso, name});
    EXPECT_EQ(read.code, 0) << name << ": " << read.err;
    EXPECT_EQ(read.out, content) << name;
  }
  // libisofs reads back what it wrote (observe does, for export).
  std::ifstream in(iso, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto back = readSeedIso(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->userData, seed.files.userData);
  EXPECT_EQ(back->metaData, seed.files.metaData);
  EXPECT_EQ(back->networkConfig, seed.files.networkConfig);
  EXPECT_FALSE(readSeedIso(std::string(64 * 1024, 'x')));

  // Without networkConfig there is no network-config file.
  const std::string bare = dir.path() + "/bare.iso";
  ASSERT_TRUE(writeSeedIso(seedFor("db1", spec("#!/bin/sh\necho hi\n")).files, bare));
  const auto list = testing::runProgram("/usr/bin/bsdtar", {"-tf", bare});
  EXPECT_EQ(list.out.find("network-config"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("user-data"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("meta-data"), std::string::npos) << list.out;
}

/// A VM "seeded" with a cloudInit whose domain already has the seed `live` describes.
struct SeededVm {
  VirtualMachineSpec spec;
  Resource resource;
  DomainInfo live;
  KvmState state;

  explicit SeededVm(const CloudInitSpec& before) {
    spec.memory = spec.maxMemory = 64 * MiB;
    spec.accelerator = Accelerator::Tcg;
    spec.cloudInit = before;
    spec.cloudInit->pool = "seeds";
    resource.id = ResourceId{kinds::VirtualMachine, "", "vm1"};
    resource.spec = spec;
    state.volumes.push_back({"seeds", VolumeConfig{"vm1-cidata.iso", "", "/srv/seeds/vm1-cidata.iso", "raw"}});
    state.sort();
    // The domain as hostform wrote it for `before`.
    DomainComparison created = compareDomain(resource, nullptr, PlanContext{}, state, "o");
    live.config.name = "vm1";
    live.config.machine = "q35";
    live.config.accelerator = Accelerator::Tcg;
    live.config.memory = live.config.maxMemory = 64 * MiB;
    live.config.meta = created.delta.want.meta;
    live.config.seedDisk = created.delta.want.seedDisk;
    live.active = true;
    live.autostart = spec.autostart;
  }
  DomainComparison compare(const CloudInitSpec* after) {
    VirtualMachineSpec next = spec;
    if (after) {
      next.cloudInit = *after;
      next.cloudInit->pool = "seeds";
    } else {
      next.cloudInit.reset();
    }
    resource.spec = next;
    return compareDomain(resource, &live, PlanContext{}, state, "o");
  }
};

const FieldChange* changeOf(const DomainComparison& c, const std::string& field) {
  auto it = std::ranges::find(c.changes, field, &FieldChange::field);
  return it == c.changes.end() ? nullptr : &*it;
}

TEST(CloudInitPlan, InSyncSeedPlansNothing) {
  SeededVm vm(spec("#cloud-config\n{}\n"));
  const CloudInitSpec same = spec("#cloud-config\n{}\n");
  const DomainComparison c = vm.compare(&same);
  EXPECT_TRUE(c.changes.empty()) << c.changes.front().field;
  EXPECT_FALSE(c.delta.seed);
  EXPECT_FALSE(c.delta.configChanged);
}

TEST(CloudInitPlan, NewUserDataRewritesTheSeedLiveUnderANewInstanceId) {
  SeededVm vm(spec("#cloud-config\npassword: one\n"));
  const CloudInitSpec next = spec("#cloud-config\npassword: two\n");
  const DomainComparison c = vm.compare(&next);
  ASSERT_TRUE(c.delta.seed);
  EXPECT_EQ(c.delta.seed->volume, "vm1-cidata.iso");
  EXPECT_EQ(c.delta.seed->files.userData, "#cloud-config\npassword: two\n");
  EXPECT_TRUE(c.delta.configChanged);          // the record in <metadata>
  EXPECT_FALSE(c.delta.want.parts.seed);       // the cdrom stays as it is
  const FieldChange* user = changeOf(c, "cloudInit.userData");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->from, userDataDigest("#cloud-config\npassword: one\n"));
  EXPECT_EQ(user->to, userDataDigest("#cloud-config\npassword: two\n"));
  EXPECT_EQ(user->cls, ChangeClass::Live);
  const FieldChange* id = changeOf(c, "cloudInit.instanceId");
  ASSERT_TRUE(id);
  const std::string newId = seedFor("vm1", next).instanceId;
  EXPECT_EQ(id->to, "cloud-init reads the new seed at the guest's next boot as new instance " + newId);
  for (const FieldChange& f : c.changes) {
    EXPECT_EQ(f.from.value_or("").find("password"), std::string::npos) << f.field;
    EXPECT_EQ(f.to.value_or("").find("password"), std::string::npos) << f.field;
  }
}

TEST(CloudInitPlan, APinnedInstanceIdIsSaidToStay) {
  CloudInitSpec before = spec("#cloud-config\n{}\n");
  before.metaData = R"({"instance-id":"iid-1"})";
  SeededVm vm(before);
  CloudInitSpec after = before;
  after.networkConfig = R"({"ethernets":{"eth0":{"dhcp4":true}},"version":2})";
  const DomainComparison c = vm.compare(&after);
  ASSERT_TRUE(c.delta.seed);
  const FieldChange* net = changeOf(c, "cloudInit.networkConfig");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->from, "(none)");
  EXPECT_EQ(net->to, *after.networkConfig);
  const FieldChange* id = changeOf(c, "cloudInit.instanceId");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->to, "instance-id iid-1 unchanged: cloud-init applies only per-boot settings");
}

TEST(CloudInitPlan, RemovingCloudInitDetachesAndDeletesTheSeed) {
  SeededVm vm(spec("#cloud-config\n{}\n"));
  const DomainComparison c = vm.compare(nullptr);
  EXPECT_TRUE(c.delta.want.parts.seed);
  EXPECT_FALSE(c.delta.want.seedDisk);
  EXPECT_FALSE(c.delta.want.meta.seed);
  ASSERT_TRUE(c.delta.deleteSeed);
  EXPECT_EQ(*c.delta.deleteSeed, (VolumeRef{"seeds", "vm1-cidata.iso"}));
  const FieldChange* gone = changeOf(c, "cloudInit");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->cls, ChangeClass::Restart);  // a sata cdrom on a running VM
}

}  // namespace
}  // namespace hostform::kvm
