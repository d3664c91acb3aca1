// The KVM provider's XML code: any libvirt domain parses, unmodelled devices
// survive updates, and what hostform writes reads back as what it meant.

#include <gtest/gtest.h>

#include "providers/kvm/domain_xml.h"
#include "providers/kvm/storage_xml.h"

namespace hostform::kvm {
namespace {

// A domain as virt-install and an operator leave it: a cdrom, a SPICE console,
// a NIC on a libvirt network, an rbd disk, per-vCPU state and a custom CPU.
constexpr const char* kForeignDomain = R"(<domain type='kvm'>
  <name>legacy</name>
  <uuid>2b2a3d40-4a0c-4a52-9d3e-3c1b6f0b8a11</uuid>
  <metadata><app:info xmlns:app="http://example.com/app"><app:team>db</app:team></app:info></metadata>
  <memory unit='GiB'>4</memory>
  <currentMemory unit='MiB'>2048</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact'><model>Skylake-Client</model></cpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/legacy.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'><source file='/isos/debian.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='block' device='disk'><source dev='/dev/vg0/data'/><target dev='vdc' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/></interface>
    <interface type='bridge'><mac address='52:54:00:AB:CD:EF'/><source bridge='br0'/><model type='virtio'/></interface>
    <graphics type='spice' autoport='yes'/>
    <console type='pty'/>
  </devices>
</domain>)";

TEST(DomainXml, ReadsTheModelledPartsOfAnyDomain) {
  auto c = parseDomainXml(kForeignDomain);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->name, "legacy");
  EXPECT_EQ(c->maxMemory, 4ULL << 30);
  EXPECT_EQ(c->memory, 2048ULL << 20);
  EXPECT_EQ(c->vcpus, 2u);
  EXPECT_EQ(c->maxVcpus, 4u);
  EXPECT_EQ(machineFamily(c->machine), Machine::Pc);
  EXPECT_EQ(c->cpuMode, CpuMode::Default);
  EXPECT_EQ(c->boot, (std::vector<BootDevice>{BootDevice::Cdrom, BootDevice::Hd}));
  EXPECT_EQ(c->graphics, Graphics::None);  // SPICE is not modelled
  ASSERT_EQ(c->disks.size(), 3u);          // the rbd disk is not
  EXPECT_EQ(c->disks[0].source, "/var/lib/libvirt/images/legacy.qcow2");
  EXPECT_EQ(c->disks[1].device, "cdrom");  // a cdrom with a medium is
  EXPECT_EQ(c->disks[1].source, "/isos/debian.iso");
  EXPECT_EQ(c->disks[1].bus, "sata");
  EXPECT_TRUE(c->disks[1].readOnly);
  EXPECT_EQ(c->disks[2].type, "block");
  EXPECT_EQ(c->disks[2].target, "vdc");
  EXPECT_EQ(c->otherTargets, std::vector<std::string>{"vdb"});
  EXPECT_FALSE(c->seedDisk);
  ASSERT_EQ(c->nics.size(), 1u);  // the network NIC is not
  EXPECT_EQ(c->nics[0].mac, "52:54:00:ab:cd:ef");
  EXPECT_EQ(c->meta.owner, "");
}

TEST(DomainXml, RejectsOnlyXmlThatDoesNotParse) {
  EXPECT_FALSE(parseDomainXml("<domain><name>x</name>"));
  EXPECT_FALSE(parseDomainXml("<pool/>"));
  EXPECT_TRUE(parseDomainXml("<domain><name>bare</name></domain>"));
}

TEST(DomainXml, PatchKeepsEveryUnmodelledDevice) {
  auto have = parseDomainXml(kForeignDomain);
  ASSERT_TRUE(have);
  VirtualMachineSpec spec;
  spec.vcpus = 3;
  spec.maxVcpus = 4;
  spec.memory = 3ULL << 30;
  spec.maxMemory = 4ULL << 30;
  spec.machine = Machine::Pc;
  spec.boot = have->boot;
  // The parts compareDomain would mark for this spec: counts, memory, the NIC.
  DomainParts parts;
  parts.vcpus = parts.memory = parts.nics = true;
  DomainWrite want{"legacy", &spec, have->disks, {}, {"ops", Millis(5000), RestartPolicy::Auto}, parts};
  want.nics = {{"br1", "52:54:00:ab:cd:ef", "virtio"}};  // the same NIC, moved to br1
  auto patched = patchDomainXml(kForeignDomain, want);
  ASSERT_TRUE(patched) << patched.error().message;
  for (const char* kept : {"debian.iso", "protocol=\"rbd\"", "source network=\"default\"", "graphics type=\"spice\"",
                           "<console type=\"pty\"", "Skylake-Client", "app:team", "slot=\"0x07\""})
    EXPECT_NE(patched->find(kept), std::string::npos) << kept << " lost in\n" << *patched;

  auto again = parseDomainXml(*patched);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->vcpus, 3u);
  EXPECT_EQ(again->memory, 3ULL << 30);
  EXPECT_EQ(again->nics.at(0).bridge, "br1");
  EXPECT_EQ(again->nics.at(0).mac, "52:54:00:ab:cd:ef");
  EXPECT_EQ(again->meta.owner, "ops");
  EXPECT_EQ(again->meta.shutdownTimeout, Millis(5000));
  EXPECT_EQ(again->meta.restartPolicy, RestartPolicy::Auto);
  EXPECT_EQ(again->disks, have->disks);
}

TEST(DomainXml, NewDomainReadsBackAsDeclared) {
  VirtualMachineSpec spec;
  spec.vcpus = 1;
  spec.maxVcpus = 2;
  spec.memory = 96 * MiB;
  spec.maxMemory = 128 * MiB;
  spec.firmware = Firmware::Uefi;
  spec.cpuMode = CpuMode::HostModel;
  spec.boot = {BootDevice::Network, BootDevice::Hd};
  spec.graphics = Graphics::Vnc;
  DomainWrite want{"web1", &spec, {}, {}, {"default", std::nullopt, std::nullopt}, {}};
  want.disks = {{"volume", "", "images", "web1.qcow2", "qcow2", "vda", "virtio", false},
                {"block", "/dev/vg0/data", "", "", "raw", "vdb", "virtio", true}};
  want.nics = {{"br0", "52:54:00:01:02:03", "virtio"}};
  const std::string xml = newDomainXml(want);
  EXPECT_NE(xml.find("listen=\"127.0.0.1\""), std::string::npos) << xml;  // VNC on loopback only
  EXPECT_NE(xml.find("<acpi"), std::string::npos) << xml;              // ACPI shutdown needs it
  EXPECT_NE(xml.find("pcie-root-port"), std::string::npos) << xml;     // hot-plug slots on q35
  auto c = parseDomainXml(xml);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->name, "web1");
  EXPECT_EQ(c->vcpus, 1u);
  EXPECT_EQ(c->maxVcpus, 2u);
  EXPECT_EQ(c->memory, 96 * MiB);
  EXPECT_EQ(c->maxMemory, 128 * MiB);
  EXPECT_EQ(machineFamily(c->machine), Machine::Q35);
  EXPECT_EQ(c->firmware, Firmware::Uefi);
  EXPECT_EQ(c->cpuMode, CpuMode::HostModel);
  EXPECT_EQ(c->boot, spec.boot);
  EXPECT_EQ(c->graphics, Graphics::Vnc);
  EXPECT_EQ(c->disks, want.disks);
  EXPECT_EQ(c->nics, want.nics);
  EXPECT_EQ(c->meta.owner, "default");
}

TEST(DomainXml, MachineChangeDropsTheOldPciTopology) {
  VirtualMachineSpec spec;
  spec.memory = spec.maxMemory = 64 * MiB;
  DomainWrite want{"m", &spec, {}, {}, {"o", std::nullopt, std::nullopt}, {}};
  const std::string q35 = newDomainXml(want);
  spec.machine = Machine::Pc;
  want.parts.machine = true;
  auto pc = patchDomainXml(q35, want);
  ASSERT_TRUE(pc);
  EXPECT_EQ(pc->find("pcie-root"), std::string::npos) << *pc;
  EXPECT_NE(pc->find("machine=\"pc\""), std::string::npos) << *pc;
}

/// A new domain with an installer cdrom, direct kernel boot and a cloud-init seed.
DomainWrite mediaDomain(const VirtualMachineSpec& spec) {
  DomainWrite want{"media1", &spec, {}, {}, {"ops", std::nullopt, std::nullopt}, {}};
  want.disks = {{"volume", "", "images", "media1.qcow2", "qcow2", "vda", "virtio", false},
                {"file", "/isos/installer.iso", "", "", "raw", "sda", "sata", true, "cdrom"}};
  want.meta.seed = SeedRecord{"images", "media1-cidata.iso", std::string(64, 'a'), "media1-0123abcd",
                              "sha256:0123456789ab (20 bytes)", R"({"local-hostname":"m"})", ""};
  want.seedDisk = DomainDisk{"volume", "", "images", "media1-cidata.iso", "raw", "sdb", "sata", true, "cdrom"};
  want.kernel = {"/boot/vmlinuz", "/boot/initrd.img", "console=ttyS0 root=/dev/vda1"};
  want.consoleLog = "/var/lib/hostform/console/media1.log";
  return want;
}

TEST(DomainXml, CdromKernelSeedAndConsoleOfANewDomainReadBack) {
  VirtualMachineSpec spec;
  spec.memory = spec.maxMemory = 64 * MiB;
  spec.boot = {BootDevice::Cdrom, BootDevice::Hd};
  const DomainWrite want = mediaDomain(spec);
  const std::string xml = newDomainXml(want);
  // The spec's default accelerator: what this host (no /dev/kvm) never boots, written and read all the same.
  ASSERT_EQ(spec.accelerator, Accelerator::Kvm);
  for (const char* expected :
       {"<domain type=\"kvm\"", "<kernel>/boot/vmlinuz</kernel>", "<initrd>/boot/initrd.img</initrd>",
        "<cmdline>console=ttyS0 root=/dev/vda1</cmdline>", "<boot dev=\"cdrom\"/>",
        "<log file=\"/var/lib/hostform/console/media1.log\" append=\"on\"/>", "<console type=\"pty\">",
        "<target type=\"serial\"", "<channel type=\"unix\">", "name=\"org.qemu.guest_agent.0\"",
        "<disk type=\"volume\" device=\"cdrom\">", "<hostform:seed pool=\"images\" volume=\"media1-cidata.iso\""})
    EXPECT_NE(xml.find(expected), std::string::npos) << expected << " missing in\n" << xml;
  auto c = parseDomainXml(xml);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->disks, want.disks);  // the seed's cdrom is not one of them
  ASSERT_TRUE(c->seedDisk);
  EXPECT_EQ(*c->seedDisk, *want.seedDisk);
  ASSERT_TRUE(c->meta.seed);
  EXPECT_EQ(*c->meta.seed, *want.meta.seed);
  EXPECT_EQ(c->kernel, want.kernel);
  EXPECT_EQ(c->boot, spec.boot);
  EXPECT_EQ(c->accelerator, Accelerator::Kvm);
}

TEST(DomainXml, PatchMovesTheSeedAndNeverTouchesTheConsole) {
  VirtualMachineSpec spec;
  spec.memory = spec.maxMemory = 64 * MiB;
  DomainWrite want = mediaDomain(spec);
  const std::string xml = newDomainXml(want);

  // The disks rewritten: the seed's cdrom stays (it is not a modelled disk).
  DomainWrite disksOnly = want;
  disksOnly.parts = {};
  disksOnly.parts.disks = true;
  disksOnly.disks.pop_back();  // the installer cdrom removed
  auto patched = patchDomainXml(xml, disksOnly);
  ASSERT_TRUE(patched) << patched.error().message;
  auto c = parseDomainXml(*patched);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->disks, disksOnly.disks);
  ASSERT_TRUE(c->seedDisk);
  EXPECT_EQ(c->seedDisk->volume, "media1-cidata.iso");
  EXPECT_EQ(patched->find("installer.iso"), std::string::npos) << *patched;

  // The seed moved to another pool: the old cdrom goes, the new one comes.
  DomainWrite moved = disksOnly;
  moved.parts = {};
  moved.parts.seed = true;
  moved.meta.seed->pool = "seeds";
  moved.seedDisk->pool = "seeds";
  auto second = patchDomainXml(*patched, moved);
  ASSERT_TRUE(second);
  auto m = parseDomainXml(*second);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->seedDisk);
  EXPECT_EQ(m->seedDisk->pool, "seeds");
  EXPECT_EQ(second->find("pool=\"images\" volume=\"media1-cidata.iso\""), std::string::npos) << *second;

  // cloudInit removed: no seed cdrom, no record; the console is as it was.
  DomainWrite none = moved;
  none.meta.seed.reset();
  none.seedDisk.reset();
  auto third = patchDomainXml(*second, none);
  ASSERT_TRUE(third);
  auto n = parseDomainXml(*third);
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->seedDisk);
  EXPECT_FALSE(n->meta.seed);
  EXPECT_EQ(third->find("device=\"cdrom\""), std::string::npos) << *third;
  std::size_t serials = 0;
  for (std::size_t at = third->find("<serial"); at != std::string::npos; at = third->find("<serial", at + 1)) ++serials;
  EXPECT_EQ(serials, 1u) << *third;

  // An existing domain never gets a console from a patch.
  auto legacy = patchDomainXml(kForeignDomain, none);
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->find("<serial"), std::string::npos) << *legacy;
  EXPECT_EQ(legacy->find("guest_agent"), std::string::npos) << *legacy;
}

TEST(StorageXml, PoolsOfEveryTypeReadBack) {
  StoragePoolSpec dir;
  dir.type = PoolType::Dir;
  dir.target = "/srv/images";
  auto d = parsePoolXml(newPoolXml("images", dir));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "dir");
  EXPECT_EQ(d->target, "/srv/images");

  StoragePoolSpec lvm;
  lvm.type = PoolType::Logical;
  lvm.source.volumeGroup = "vg0";
  auto l = parsePoolXml(newPoolXml("vms", lvm));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->sourceName, "vg0");
  EXPECT_EQ(l->target, "/dev/vg0");

  StoragePoolSpec nfs;
  nfs.type = PoolType::Netfs;
  nfs.target = "/mnt/iso";
  nfs.source.host = "nas.example.com";
  nfs.source.path = "/export/iso";
  auto n = parsePoolXml(newPoolXml("iso", nfs));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->sourceHost, "nas.example.com");
  EXPECT_EQ(n->sourceDir, "/export/iso");
  EXPECT_EQ(n->target, "/mnt/iso");
}

TEST(StorageXml, VolumeWithBackingStoreAndPreallocation) {
  VolumeWrite want{"web1.qcow2", 20ULL << 30, VolumeFormat::Qcow2, true, true, "/srv/images/base.qcow2", "qcow2"};
  auto v = parseVolumeXml(newVolumeXml(want));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->name, "web1.qcow2");
  EXPECT_EQ(v->capacity, 20ULL << 30);
  EXPECT_EQ(v->allocation, 20ULL << 30);
  EXPECT_EQ(v->format, "qcow2");
  EXPECT_EQ(v->backingPath, "/srv/images/base.qcow2");
}

}  // namespace
}  // namespace hostform::kvm
