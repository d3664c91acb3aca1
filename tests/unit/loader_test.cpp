#include "reconciler/loader.h"

#include <gtest/gtest.h>

#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/manifest_writer.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using testing::loadYaml;
using testing::messages;
using Strings = std::vector<std::string>;

TEST(Loader, ReadsEveryDocumentOfAStreamWithDefaults) {
  LoadResult r = loadYaml(R"(# leading comment
apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0, labels: {tier: web}}
spec: {}
---
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: web1}
spec:
  memory: 512MiB
  vcpus: 2
...
)");
  ASSERT_TRUE(messages(r).empty()) << messages(r)[0];
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_EQ(r.documents, 2u);
  const auto& br = r.resources[0];
  EXPECT_EQ(br.id.str(), "Bridge/br0");
  EXPECT_EQ(br.labels.at("tier"), "web");
  const auto& b = br.as<BridgeSpec>();
  EXPECT_EQ(b.state, AdminState::Up);
  EXPECT_FALSE(b.mtu.has_value());
  EXPECT_EQ(b.stp, StpSpec{});
  EXPECT_EQ(b.stp.forwardDelay, Millis(15'000));
  const auto& vm = r.resources[1].as<VirtualMachineSpec>();
  EXPECT_EQ(vm.vcpus, 2u);
  EXPECT_EQ(vm.maxVcpus, 2u);  // defaults to vcpus
  EXPECT_EQ(vm.memory, 512 * MiB);
  EXPECT_EQ(vm.maxMemory, 512 * MiB);  // defaults to memory
  EXPECT_EQ(vm.machine, Machine::Q35);
  EXPECT_EQ(vm.firmware, Firmware::Bios);
  EXPECT_EQ(vm.cpuMode, CpuMode::Default);
  EXPECT_EQ(vm.state, VmState::Running);
  EXPECT_TRUE(vm.autostart);
  EXPECT_EQ(vm.shutdownTimeout, Millis(60'000));
  EXPECT_EQ(vm.boot, std::vector<BootDevice>{BootDevice::Hd});
  EXPECT_EQ(vm.graphics, Graphics::None);
  EXPECT_EQ(vm.restartPolicy, RestartPolicy::Never);
  EXPECT_EQ(r.resources[1].source.line, 8);
}

TEST(Loader, IdentityOfScopedKindsIncludesTheirContainer) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: Volume
metadata: {name: disk.qcow2}
spec: {pool: images, capacity: 10GiB}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 1073741824}
)");
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_EQ(r.resources[0].id.str(), "Volume/images/disk.qcow2");
  EXPECT_EQ(r.resources[0].as<VolumeSpec>().format, VolumeFormat::Qcow2);
  EXPECT_EQ(r.resources[0].as<VolumeSpec>().allocation, Allocation::Thin);
  EXPECT_EQ(r.resources[1].id.str(), "LogicalVolume/vg0/data");
  EXPECT_EQ(r.resources[1].as<LogicalVolumeSpec>().size, GiB);
}

TEST(Loader, ErrorsInLaterDocumentsKeepTheirFileLines) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec: {}
---
apiVersion: hostform/v1
kind: Bridge
metadata: {name: br1}
spec:
  mtu: 70000
)");
  EXPECT_EQ(messages(r), Strings{"test.yaml:10:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000"});
  EXPECT_EQ(r.resources.size(), 1u);  // the valid document still loads; callers stop on errors
}

TEST(Loader, ReportsYamlSyntaxErrorsWithPosition) {
  LoadResult r = loadYaml("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0\n");
  ASSERT_EQ(r.diagnostics.items().size(), 1u);
  const Diagnostic& d = r.diagnostics.items()[0];
  EXPECT_EQ(d.pos.file, "test.yaml");
  EXPECT_EQ(d.pos.line, 4);
  EXPECT_TRUE(d.message.starts_with("invalid YAML: ")) << d.message;
}

TEST(Loader, ChecksWhatSchemasCannotSay) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm1}
spec:
  vcpus: 4
  maxVcpus: 2
  memory: 2GiB
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm2}
spec:
  memory: 2GiB
  maxMemory: 1GiB
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm3}
spec:
  memory: 1000
---
apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec:
  stp: {enabled: true, forwardDelay: 45s, helloTime: 500ms}
---
apiVersion: hostform/v1
kind: VolumeGroup
metadata: {name: snapshot1}
spec: {physicalVolumes: [/dev/vdb], extentSize: 3MiB}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data_tmeta}
spec: {volumeGroup: vg0, size: 0}
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm4}
spec:
  memory: 1GiB
  disks:
    - {path: /a.img, target: vda}
    - {path: /b.img, target: vda}
  interfaces:
    - {bridge: br0, macAddress: "52:54:00:00:00:01"}
    - {bridge: br0, macAddress: "52:54:00:00:00:01"}
)");
  EXPECT_EQ(messages(r),
            (Strings{
                "test.yaml:6:13: error: spec.maxVcpus: expected at least vcpus (4), found 2",
                "test.yaml:14:14: error: spec.maxMemory: expected at least memory (2GiB), found 1GiB",
                "test.yaml:20:11: error: spec.memory: expected a whole number of KiB, found 1000",
                "test.yaml:26:38: error: spec.stp.forwardDelay: expected a duration from 2s to 30s, found 45s",
                "test.yaml:26:54: error: spec.stp.helloTime: expected a duration from 1s to 10s, found 500ms",
                "test.yaml:30:18: error: metadata.name: LVM reserves names starting with \"snapshot\" or \"pvmove\", "
                "found \"snapshot1\"",
                "test.yaml:31:49: error: spec.extentSize: expected a power of two from 1KiB to 1TiB (such as 4MiB), "
                "found 3MiB",
                "test.yaml:35:18: error: metadata.name: LVM reserves names containing \"_tmeta\", found \"data_tmeta\"",
                "test.yaml:36:32: error: spec.size: expected a size greater than 0, found 0",
                "test.yaml:45:30: error: spec.disks[1].target: target \"vda\" is already used by disk 0",
                "test.yaml:48:33: error: spec.interfaces[1].macAddress: MAC address 52:54:00:00:00:01 is already used "
                "by interface 0",
            }));
  EXPECT_TRUE(r.resources.empty());
}

TEST(Loader, DuplicateIdentitiesAreErrors) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 1GiB}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg1, size: 1GiB}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 2GiB}
)");
  Strings errors;
  for (const auto& d : r.diagnostics.items())
    if (d.severity == Severity::Error) errors.push_back(d.str());
  EXPECT_EQ(errors, Strings{"test.yaml:11:1: error: metadata.name: LogicalVolume/vg0/data is declared twice; first "
                            "at test.yaml:1:1"});
}

TEST(Loader, UnresolvedReferencesAreWarningsAndWrongTargetsErrors) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: pool0}
spec: {volumeGroup: vg0, size: 1GiB}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: thin1}
spec: {volumeGroup: vg0, size: 10GiB, type: thin, thinPool: pool0}
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm1}
spec:
  memory: 1GiB
  interfaces: [{bridge: br-missing}]
)");
  EXPECT_EQ(messages(r),
            (Strings{
                "test.yaml:4:21: warning: spec.volumeGroup: references VolumeGroup/vg0, which these manifests do not "
                "declare; plan requires it on the host",
                "test.yaml:9:21: warning: spec.volumeGroup: references VolumeGroup/vg0, which these manifests do not "
                "declare; plan requires it on the host",
                "test.yaml:9:61: error: spec.thinPool: references LogicalVolume/vg0/pool0, which is a linear volume; "
                "expected a thin-pool",
                "test.yaml:16:25: warning: spec.interfaces[0].bridge: references Bridge/br-missing, which these "
                "manifests do not declare; plan requires it on the host",
            }));
}

TEST(Loader, DependencyCyclesAreErrors) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: StoragePool
metadata: {name: p}
spec: {type: dir, target: /srv/p}
---
apiVersion: hostform/v1
kind: Volume
metadata: {name: a}
spec: {pool: p, capacity: 1GiB, backingVolume: {pool: p, name: b}}
---
apiVersion: hostform/v1
kind: Volume
metadata: {name: b}
spec: {pool: p, capacity: 1GiB, backingVolume: {pool: p, name: a}}
---
apiVersion: hostform/v1
kind: Volume
metadata: {name: c}
spec: {pool: p, capacity: 1GiB, backingVolume: {pool: p, name: c}}
)");
  // At the referencing field, so an editor jumps to what to change.
  EXPECT_EQ(messages(r), (Strings{"test.yaml:9:48: error: spec.backingVolume: dependency cycle: Volume/p/a -> "
                                  "Volume/p/b -> Volume/p/a",
                                  "test.yaml:19:48: error: spec.backingVolume: dependency cycle: Volume/p/c -> "
                                  "Volume/p/c"}));
}

TEST(Loader, ReadsDirectoriesSortedAndReportsMissingPaths) {
  testing::TempDir dir;
  dir.write("b/20-vm.yml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br2}\nspec: {}\n");
  dir.write("a/10-br.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br1}\nspec: {}\n");
  dir.write("a/notes.txt", "not a manifest");
  const std::string single =
      dir.write("extra.manifest", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n");
  LoadResult r = loadManifests({dir.path() + "/a", dir.path() + "/b", single, dir.path() + "/missing"});
  EXPECT_EQ(messages(r), Strings{dir.path() + "/missing: error: no such file or directory"});
  ASSERT_EQ(r.resources.size(), 3u);
  EXPECT_EQ(r.resources[0].id.name, "br1");
  EXPECT_EQ(r.resources[1].id.name, "br2");
  EXPECT_EQ(r.resources[2].id.name, "br0");
  EXPECT_EQ(r.resources[0].source.file, dir.path() + "/a/10-br.yaml");
}

TEST(Loader, ExportedManifestsLoadBackToTheSameResources) {
  const char* yaml = R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: "1234", labels: {site: "007"}}
spec:
  state: down
  mtu: 9000
  macAddress: "52:54:00:AA:bb:01"
  stp: {enabled: true, priority: 4096, forwardDelay: 4s, helloTime: 1s, maxAge: 6s}
  ports: [eth1, "42"]
  addresses: [10.0.0.1/24, "fd00::1/64"]
---
apiVersion: hostform/v1
kind: VolumeGroup
metadata: {name: vg0}
spec: {physicalVolumes: [/dev/vdb, /dev/vdc], extentSize: 8MiB, force: true}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: thin1}
spec: {volumeGroup: vg0, size: 100GiB, type: thin, thinPool: tp}
---
apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: tp}
spec: {volumeGroup: vg0, size: 10GiB, type: thin-pool}
---
apiVersion: hostform/v1
kind: StoragePool
metadata: {name: nfs}
spec: {type: netfs, target: /mnt/nfs, source: {host: nas, path: /export}, autostart: false, active: false}
---
apiVersion: hostform/v1
kind: Volume
metadata: {name: web.qcow2}
spec: {pool: nfs, capacity: 20GiB, allocation: full, backingVolume: {pool: nfs, name: base.raw}}
---
apiVersion: hostform/v1
kind: Volume
metadata: {name: base.raw}
spec: {pool: nfs, capacity: 1536MiB, format: raw}
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: web1}
spec:
  vcpus: 2
  maxVcpus: 4
  memory: 1GiB
  maxMemory: 2GiB
  machine: pc
  firmware: uefi
  cpuMode: host-model
  state: stopped
  autostart: false
  shutdownTimeout: 1m30s
  disks:
    - {volume: {pool: nfs, name: web.qcow2}, target: vda}
    - {logicalVolume: {volumeGroup: vg0, name: thin1}, bus: scsi, readOnly: true}
    - {path: /srv/iso/boot.iso, bus: sata}
  interfaces: [{bridge: "1234", macAddress: "52:54:00:12:34:56"}, {bridge: "1234"}]
  boot: [network, hd]
  graphics: vnc
  restartPolicy: auto
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: web2}
spec:
  memory: 1GiB
  machine: pc
  disks:
    - {volume: {pool: nfs, name: web.qcow2}}
    - {path: /srv/iso/install.iso, device: cdrom}
    - {volume: {pool: nfs, name: base.raw}, device: cdrom, bus: sata}
  boot: [cdrom, hd]
  kernel:
    volume: {pool: nfs, name: base.raw}
    initrd: {path: /boot/initrd.img}
    cmdline: console=ttyS0
  cloudInit:
    userData: |
      #cloud-config
      packages: [nginx]
    metaData: {local-hostname: www, zone: "123", tags: [a, 7, true, null], nested: {ratio: 0.5}}
    networkConfig: {version: 2, ethernets: {eth0: {dhcp4: true}}}
    pool: nfs
)";
  LoadResult first = loadYaml(yaml);
  ASSERT_TRUE(messages(first).empty()) << messages(first)[0];
  const std::string text = writeManifests(first.resources);
  LoadResult second = loadYaml(text);
  ASSERT_TRUE(messages(second).empty()) << messages(second)[0] << "\n" << text;
  ASSERT_EQ(second.resources.size(), first.resources.size());
  for (std::size_t i = 0; i < first.resources.size(); ++i) {
    EXPECT_EQ(second.resources[i].id, first.resources[i].id);
    EXPECT_EQ(second.resources[i].labels, first.resources[i].labels);
    EXPECT_TRUE(second.resources[i].spec == first.resources[i].spec) << first.resources[i].id.str() << "\n" << text;
  }
  EXPECT_EQ(first.resources[0].as<BridgeSpec>().macAddress, "52:54:00:aa:bb:01");  // normalised
}

TEST(Loader, CloudInitMapsAreKeptAsCanonicalJson) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: a}
spec:
  memory: 1GiB
  cloudInit:
    metaData: {zone: "7", count: 7, on: true, list: [x, 0x10]}
    networkConfig:
      version: 2
      ethernets: {eth0: {dhcp4: true}}
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: b}
spec:
  memory: 1GiB
  cloudInit:
    networkConfig: {ethernets: {eth0: {dhcp4: true}}, version: 2}
    metaData: {list: [x, 16], on: true, count: 7, zone: "7"}
)");
  ASSERT_TRUE(messages(r).empty()) << messages(r)[0];
  const auto& a = r.resources[0].as<VirtualMachineSpec>();
  const auto& b = r.resources[1].as<VirtualMachineSpec>();
  ASSERT_TRUE(a.cloudInit);
  EXPECT_EQ(a.cloudInit->metaData, R"({"count":7,"list":["x",16],"on":true,"zone":"7"})");
  EXPECT_EQ(a.cloudInit->networkConfig, R"({"ethernets":{"eth0":{"dhcp4":true}},"version":2})");
  EXPECT_EQ(a.cloudInit, b.cloudInit);
  EXPECT_FALSE(a.cloudInit->userData);
  // Plans show the user data's digest, never its text.
  EXPECT_EQ(userDataDigest("#cloud-config\n"), "sha256:88c95955b024 (14 bytes)");
}

TEST(Loader, CloudInitAndMediaAreChecked) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm1}
spec:
  memory: 1GiB
  cloudInit:
    userData: |
      users: [ops]
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm2}
spec:
  memory: 1GiB
  cloudInit:
    userData: "#cloud-config\n- a list\n"
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm3}
spec:
  memory: 1GiB
  cloudInit:
    networkConfig: {version: 1, config: []}
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm4}
spec:
  memory: 1GiB
  disks:
    - {path: /a.iso, device: cdrom, readOnly: false}
    - {path: /b.img, bus: ide}
    - {path: /c.iso, device: cdrom, bus: virtio}
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm5}
spec:
  memory: 1GiB
  cloudInit:
    userData: "#cloud-config\nusers: [ops\n"
---
apiVersion: hostform/v1
kind: VirtualMachine
metadata: {name: vm6}
spec:
  memory: 1GiB
  cloudInit:
    userData: "#!/bin/sh\necho hi\n"
  kernel: {path: /boot/vmlinuz, initrd: {path: /boot/initrd.img}, cmdline: "console=ttyS0"}
  disks: [{path: /d.iso, device: cdrom}]
)");
  EXPECT_EQ(messages(r),
            (Strings{
                "test.yaml:7:15: error: spec.cloudInit.userData: expected cloud-init user data: a first line "
                "#cloud-config (then a YAML mapping), a script (#!), or #include, #cloud-boothook, #part-handler, "
                "## template: jinja or Content-Type: multipart/...; found first line \"users: [ops]\"",
                "test.yaml:16:15: error: spec.cloudInit.userData: expected a YAML mapping after #cloud-config "
                "(cloud-config keys such as users: or packages:), found a list",
                "test.yaml:24:30: error: spec.cloudInit.networkConfig.version: expected 2 (cloud-init's network "
                "config version 2), found 1",
                "test.yaml:32:47: error: spec.disks[0].readOnly: expected true or nothing: a cdrom is always read-only",
                "test.yaml:33:27: error: spec.disks[1].bus: expected virtio, sata or scsi for a disk, found ide (ide is "
                "for cdroms)",
                "test.yaml:34:42: error: spec.disks[2].bus: expected sata, scsi or ide for a cdrom, found virtio",
                "test.yaml:42:15: error: spec.cloudInit.userData: expected a YAML mapping after #cloud-config, but "
                "line 3 column 1 of userData does not parse: did not find expected ',' or ']' while parsing a flow "
                "sequence",
            }));
  ASSERT_EQ(r.resources.size(), 1u);
  const auto& vm = r.resources[0].as<VirtualMachineSpec>();
  EXPECT_EQ(vm.disks.at(0).bus, DiskBus::Sata);  // a cdrom on q35
  EXPECT_TRUE(vm.disks.at(0).readOnly);
  ASSERT_TRUE(vm.kernel);
  EXPECT_EQ(std::get<std::string>(vm.kernel->image), "/boot/vmlinuz");
  EXPECT_EQ(vm.kernel->cmdline, "console=ttyS0");
}

TEST(Loader, ExportLeavesDefaultsOut) {
  LoadResult r = loadYaml(R"(apiVersion: hostform/v1
kind: LogicalVolume
metadata: {name: data}
spec: {volumeGroup: vg0, size: 10GiB, type: linear}
)");
  EXPECT_EQ(writeManifests(r.resources),
            "---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata:\n  name: data\nspec:\n  volumeGroup: vg0\n"
            "  size: 10GiB\n");
}

}  // namespace
}  // namespace hostform

namespace hostform {
namespace {

TEST(Loader, LargeFilesCheckedInParallelKeepFileOrder) {
  // Enough documents for many batches, with errors spread over several of them.
  std::string yaml;
  Strings expected;
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    const bool bad = i % 97 == 5;
    yaml += "---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br" + std::to_string(i) + "}\nspec: {mtu: " +
            (bad ? "7" : "1500") + "}\n";
    if (bad)
      expected.push_back("test.yaml:" + std::to_string(i * 5 + 5) +
                         ":13: error: spec.mtu: expected an integer from 68 to 65535, found 7");
  }
  for (int round = 0; round < 3; ++round) {
    LoadResult r = testing::loadYaml(yaml);
    EXPECT_EQ(messages(r), expected);
    ASSERT_EQ(r.resources.size(), n - expected.size());
    EXPECT_EQ(r.documents, static_cast<std::size_t>(n));
    std::size_t k = 0;
    for (int i = 0; i < n; ++i)
      if (i % 97 != 5) {
        ASSERT_EQ(r.resources[k++].id.name, "br" + std::to_string(i));
      }
  }
}

TEST(Loader, SyntaxErrorDeepInALargeFileIsReportedWithItsLine) {
  std::string yaml;
  for (int i = 0; i < 400; ++i)
    yaml += "---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br" + std::to_string(i) + "}\nspec: {}\n";
  yaml += "---\nkind: [unclosed\n";
  LoadResult r = testing::loadYaml(yaml);
  ASSERT_EQ(r.diagnostics.items().size(), 1u);
  EXPECT_EQ(r.diagnostics.items()[0].pos.line, 2003);
  EXPECT_TRUE(r.diagnostics.items()[0].message.starts_with("invalid YAML: ")) << r.diagnostics.items()[0].str();
}

}  // namespace
}  // namespace hostform
