// VirtualMachine media against a real libvirtd: cloud-init seeds, installer
// cdroms, direct kernel boot, and the serial console and guest-agent channel
// every new VM gets. Guests have no OS (see libvirtd_test.cpp).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/kvm/kvm_box.h"

namespace hostform::kvmtest {
namespace {

/// A file of `bytes` at `path`.
void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// The smallest x86 Linux boot image QEMU loads: a boot sector and one setup
/// sector with the "HdrS" header (boot protocol 2.06), whose real-mode entry
/// (offset 0x200) spins forever, and a few bytes of "kernel". Enough for a
/// domain with direct kernel boot to start and keep running.
std::string spinningKernel() {
  std::string image(2 * 512 + 512, '\0');
  image[0x1F1] = 1;  // setup_sects
  image[0x1FE] = static_cast<char>(0x55);
  image[0x1FF] = static_cast<char>(0xAA);
  image.replace(0x202, 4, "HdrS");
  image[0x206] = 0x06;  // protocol 2.06
  image[0x207] = 0x02;
  image[0x211] = 0x01;  // LOADED_HIGH
  image[0x22C] = static_cast<char>(0xFF);  // initrd_addr_max 0x37FFFFFF
  image[0x22D] = static_cast<char>(0xFF);
  image[0x22E] = static_cast<char>(0xFF);
  image[0x22F] = 0x37;
  image[0x200] = static_cast<char>(0xEB);  // jmp $
  image[0x201] = static_cast<char>(0xFE);
  return image;
}

/// The documents of a YAML stream that mention `name`, each ending in "---".
std::string documentsMentioning(const std::string& stream, const std::string& name) {
  std::string out, doc, line;
  std::istringstream in(stream);
  auto flush = [&] {
    if (contains(doc, name)) out += doc + "---\n";
    doc.clear();
  };
  while (std::getline(in, line)) {
    if (line == "---") flush();
    else doc += line + "\n";
  }
  flush();
  return out;
}

std::string run(const std::string& program, const std::vector<std::string>& args) {
  return testing::runProgram(program, args).out;
}

class VmMedia : public ::testing::Test {
 protected:
  std::string poolDir() const { return box.dir().path() + "/" + pool; }
  std::string seedFile() const { return poolDir() + "/" + vm + "-cidata.iso"; }
  std::string base() const {
    return box.bridgeDoc(br) + box.poolDoc(pool) + box.volumeDoc(pool, "vm.raw", "capacity: 16MiB, format: raw");
  }
  std::string vmDoc(const std::string& extra) const {
    return box.vmDoc(vm, "  memory: 64MiB\n  shutdownTimeout: 1s\n  interfaces: [{bridge: " + br + "}]\n" + extra);
  }
  static std::string cloudInit(const std::string& userDataLines) {
    return "  disks: [{volume: {pool: " "POOL" ", name: vm.raw}}]\n"
           "  cloudInit:\n    userData: |\n" + userDataLines +
           "    networkConfig: {version: 2, ethernets: {eth0: {addresses: [198.51.100.20/24]}}}\n";
  }
  std::string withPool(std::string s) const {
    for (auto at = s.find("POOL"); at != std::string::npos; at = s.find("POOL")) s.replace(at, 4, pool);
    return s;
  }

  KvmBox box;
  std::string br = box.name("br"), pool = box.name("pool"), vm = box.name("vm");
};

TEST_F(VmMedia, CloudInitSeedIsWrittenAttachedRewrittenAndDeletedWithTheVm) {
  const std::string v1 = "      #cloud-config\n      password: first-s3cret\n";
  const std::string file = box.manifest(base() + vmDoc(withPool(cloudInit(v1))));
  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_FALSE(contains(plan.out + plan.err, "first-s3cret")) << plan.out;

  Outcome r = box.hostform({"apply", "-f", file});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(contains(r.out + r.err, "first-s3cret")) << r.out << r.err;

  // The seed: a volume of its own, an ISO labelled cidata with the exact files.
  ASSERT_GT(box.volumeCapacity(pool, vm + "-cidata.iso"), 0u);
  EXPECT_EQ(run("/usr/sbin/blkid", {"-o", "value", "-s", "LABEL", seedFile()}), "cidata\n");
  EXPECT_EQ(run("/usr/bin/bsdtar", {"-xOf", seedFile(), "user-data"}), "#cloud-config\npassword: first-s3cret\n");
  EXPECT_EQ(run("/usr/bin/bsdtar", {"-xOf", seedFile(), "network-config"}),
            "{\"ethernets\":{\"eth0\":{\"addresses\":[\"198.51.100.20/24\"]}},\"version\":2}\n");
  const std::string meta = run("/usr/bin/bsdtar", {"-xOf", seedFile(), "meta-data"});
  EXPECT_TRUE(contains(meta, "\"local-hostname\":\"" + vm + "\"")) << meta;
  EXPECT_TRUE(contains(meta, "\"instance-id\":\"" + vm + "-")) << meta;

  // The running domain: the seed's cdrom, the serial console logged under the
  // state directory, and the guest agent's channel.
  const int id = box.domainId(vm);
  ASSERT_GT(id, 0);
  const std::string live = box.domainXml(vm);
  const std::string log = box.dir().path() + "/state/console/" + vm + ".log";
  EXPECT_TRUE(contains(live, "<disk type='volume' device='cdrom'>")) << live;
  EXPECT_TRUE(contains(live, "<source pool='" + pool + "' volume='" + vm + "-cidata.iso'")) << live;
  EXPECT_TRUE(contains(live, "<target dev='sda' bus='sata'/>")) << live;
  EXPECT_TRUE(contains(live, "<log file='" + log + "' append='on'/>")) << live;
  EXPECT_TRUE(contains(live, "<console type='pty'")) << live;
  EXPECT_TRUE(contains(live, "<target type='virtio' name='org.qemu.guest_agent.0'")) << live;
  EXPECT_TRUE(std::filesystem::exists(log)) << log;
  box.expectConverged(file);
  // The seed is the VM's: never a Volume to prune.
  Outcome pruned = box.hostform({"plan", "-f", file, "--prune", "--detailed-exitcode"});
  EXPECT_EQ(pruned.code, 0) << pruned.out << pruned.err;
  // Export reads the seed back: the VM with its cloudInit, and no Volume for the seed.
  Outcome exported = box.hostform({"export"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string mine = documentsMentioning(exported.out, box.prefix());
  EXPECT_TRUE(contains(mine, "  cloudInit:\n    userData: \"#cloud-config\\npassword: first-s3cret\\n\"\n")) << mine;
  EXPECT_TRUE(contains(mine, "    networkConfig:\n      ethernets:\n")) << mine;
  EXPECT_TRUE(contains(mine, "      version: 2\n")) << mine;
  EXPECT_FALSE(contains(mine, "cidata.iso")) << mine;
  box.expectConverged(box.manifest(mine));

  // New user data: the seed is rewritten, the guest keeps running, and the
  // plan says which instance cloud-init will see.
  const std::string v2 = "      #cloud-config\n      password: second-s3cret\n";
  const std::string changed = box.manifest(base() + vmDoc(withPool(cloudInit(v2))));
  Outcome plan2 = box.hostform({"plan", "-f", changed});
  ASSERT_EQ(plan2.code, 0) << plan2.out << plan2.err;
  EXPECT_FALSE(contains(plan2.out, "s3cret")) << plan2.out;
  EXPECT_TRUE(contains(plan2.out, "cloudInit.userData sha256:")) << plan2.out;
  EXPECT_TRUE(contains(plan2.out, " bytes) -> sha256:")) << plan2.out;
  EXPECT_TRUE(contains(plan2.out, "cloud-init reads the new seed at the guest's next boot as new instance " + vm + "-"))
      << plan2.out;
  EXPECT_FALSE(contains(plan2.out, "(restart)")) << plan2.out;
  Outcome r2 = box.hostform({"apply", "-f", changed});
  ASSERT_EQ(r2.code, 0) << r2.out << r2.err;
  EXPECT_EQ(run("/usr/bin/bsdtar", {"-xOf", seedFile(), "user-data"}), "#cloud-config\npassword: second-s3cret\n");
  EXPECT_EQ(box.domainId(vm), id) << "the VM was restarted";
  box.expectConverged(changed);

  // Pruned with its VM: the seed goes too.
  Outcome gone = box.hostform({"apply", "-f", box.manifest(base()), "--prune"});
  ASSERT_EQ(gone.code, 0) << gone.out << gone.err;
  EXPECT_FALSE(box.domainExists(vm));
  EXPECT_EQ(box.volumeCapacity(pool, vm + "-cidata.iso"), 0u);
  EXPECT_FALSE(std::filesystem::exists(seedFile()));
}

TEST_F(VmMedia, ASeedNeedsAPool) {
  const std::string file =
      box.manifest(box.bridgeDoc(br) + vmDoc("  cloudInit: {userData: \"#cloud-config\\n{}\\n\"}\n"));
  Outcome plan = box.hostform({"plan", "-f", file});
  EXPECT_NE(plan.code, 0);
  EXPECT_TRUE(contains(plan.err, "error: spec.cloudInit.pool: no storage pool for the cloud-init seed")) << plan.err;
  EXPECT_FALSE(box.domainExists(vm));

  // Nor may the seed's volume be declared as a Volume of its own.
  const std::string clash = box.manifest(base() + box.volumeDoc(pool, vm + "-cidata.iso", "capacity: 1MiB, format: raw") +
                                         vmDoc(withPool(cloudInit("      #cloud-config\n      {}\n"))));
  Outcome second = box.hostform({"plan", "-f", clash});
  EXPECT_NE(second.code, 0);
  EXPECT_TRUE(contains(second.err, "error: spec.cloudInit: the cloud-init seed of " + vm + " is the volume " + pool +
                                       "/" + vm + "-cidata.iso, which the manifests declare as a Volume"))
      << second.err;
  EXPECT_FALSE(box.domainExists(vm));
}

TEST_F(VmMedia, InstallerCdromBootsFirstAndAMissingIsoIsAPlanError) {
  const std::string iso = box.dir().path() + "/installer.iso";
  writeFile(iso, std::string(64 * 1024, '\0'));
  const std::string file = box.manifest(
      base() + vmDoc(withPool("  disks: [{volume: {pool: POOL, name: vm.raw}}, {path: " + iso +
                              ", device: cdrom}]\n  boot: [cdrom, hd]\n")));
  Outcome r = box.hostform({"apply", "-f", file});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string live = box.domainXml(vm);
  EXPECT_TRUE(contains(live, "<disk type='file' device='cdrom'>")) << live;
  EXPECT_TRUE(contains(live, "<source file='" + iso + "'")) << live;
  EXPECT_TRUE(contains(live, "<readonly/>")) << live;
  const std::string persistent = box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE);
  EXPECT_TRUE(contains(persistent, "<boot dev='cdrom'/>\n    <boot dev='hd'/>")) << persistent;
  EXPECT_GT(box.domainId(vm), 0);
  box.expectConverged(file);

  const std::string missing = box.manifest(
      base() + vmDoc(withPool("  disks: [{volume: {pool: POOL, name: vm.raw}}, {path: " + iso +
                              ".gone, device: cdrom}]\n  boot: [cdrom, hd]\n")));
  Outcome plan = box.hostform({"plan", "-f", missing});
  EXPECT_NE(plan.code, 0);
  EXPECT_TRUE(contains(plan.err, "error: spec.disks[1].path: " + iso + ".gone does not exist.")) << plan.err;
}

TEST_F(VmMedia, DirectKernelBootFromVolumesAndFiles) {
  // A kernel and initrd from files: the domain starts (the "kernel" spins).
  const std::string kernel = box.dir().path() + "/vmlinuz", initrd = box.dir().path() + "/initrd.img";
  writeFile(kernel, spinningKernel());
  writeFile(initrd, std::string(4096, '\0'));
  const std::string file = box.manifest(
      base() + vmDoc("  kernel: {path: " + kernel + ", initrd: {path: " + initrd + "}, cmdline: console=ttyS0}\n"));
  Outcome r = box.hostform({"apply", "-f", file});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string live = box.domainXml(vm);
  EXPECT_TRUE(contains(live, "<kernel>" + kernel + "</kernel>")) << live;
  EXPECT_TRUE(contains(live, "<initrd>" + initrd + "</initrd>")) << live;
  EXPECT_TRUE(contains(live, "<cmdline>console=ttyS0</cmdline>")) << live;
  EXPECT_GT(box.domainId(vm), 0);
  box.expectConverged(file);

  // From volumes: resolved to the volumes' paths (stopped: the volumes are empty).
  const std::string vols = box.manifest(
      base() + box.volumeDoc(pool, "kernel.raw", "capacity: 1MiB, format: raw") +
      box.volumeDoc(pool, "initrd.raw", "capacity: 1MiB, format: raw") +
      vmDoc("  state: stopped\n  kernel:\n    volume: {pool: " + pool + ", name: kernel.raw}\n    initrd: {volume: {pool: " +
            pool + ", name: initrd.raw}}\n    cmdline: console=ttyS0 root=/dev/vda\n"));
  Outcome plan = box.hostform({"plan", "-f", vols});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "kernel " + kernel + " -> " + poolDir() + "/kernel.raw")) << plan.out;
  Outcome r2 = box.hostform({"apply", "-f", vols});
  ASSERT_EQ(r2.code, 0) << r2.out << r2.err;
  const std::string persistent = box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE);
  EXPECT_TRUE(contains(persistent, "<kernel>" + poolDir() + "/kernel.raw</kernel>")) << persistent;
  EXPECT_TRUE(contains(persistent, "<initrd>" + poolDir() + "/initrd.raw</initrd>")) << persistent;
  EXPECT_TRUE(contains(persistent, "<cmdline>console=ttyS0 root=/dev/vda</cmdline>")) << persistent;
  box.expectConverged(vols);

  const std::string gone = box.manifest(base() + vmDoc("  kernel: {path: " + kernel + ".gone}\n"));
  Outcome bad = box.hostform({"plan", "-f", gone});
  EXPECT_NE(bad.code, 0);
  EXPECT_TRUE(contains(bad.err, "error: spec.kernel.path: the kernel " + kernel + ".gone is not a file on this host."))
      << bad.err;
}

// What a real guest needs, together: kernel and initrd from volumes, a
// cloud-init seed, a NIC on a bridge and the serial console. The volumes are
// filled by hand between two applies (hostform creates them empty).
TEST_F(VmMedia, KernelVolumesSeedNicAndConsoleStartTogether) {
  const std::string volumes = base() + box.volumeDoc(pool, "kernel.raw", "capacity: 1MiB, format: raw") +
                              box.volumeDoc(pool, "initrd.raw", "capacity: 1MiB, format: raw");
  auto vmSpec = [&](const std::string& state) {
    return vmDoc("  state: " + state + "\n  disks: [{volume: {pool: " + pool + ", name: vm.raw}}]\n" +
                 "  kernel:\n    volume: {pool: " + pool + ", name: kernel.raw}\n    initrd: {volume: {pool: " + pool +
                 ", name: initrd.raw}}\n    cmdline: console=ttyS0\n" +
                 "  cloudInit:\n    userData: \"#cloud-config\\nhostname: guest\\n\"\n");
  };
  Outcome defined = box.hostform({"apply", "-f", box.manifest(volumes + vmSpec("stopped"))});
  ASSERT_EQ(defined.code, 0) << defined.out << defined.err;
  {
    std::fstream k(poolDir() + "/kernel.raw", std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(k);
    k << spinningKernel();
  }

  const std::string file = box.manifest(volumes + vmSpec("running"));
  Outcome r = box.hostform({"apply", "-f", file});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_GT(box.domainId(vm), 0);
  const std::string live = box.domainXml(vm);
  EXPECT_TRUE(contains(live, "<kernel>" + poolDir() + "/kernel.raw</kernel>")) << live;
  EXPECT_TRUE(contains(live, "<initrd>" + poolDir() + "/initrd.raw</initrd>")) << live;
  EXPECT_TRUE(contains(live, "volume='" + vm + "-cidata.iso'")) << live;
  EXPECT_TRUE(contains(live, "<source bridge='" + br + "'/>")) << live;
  EXPECT_TRUE(contains(live, "<log file='" + box.dir().path() + "/state/console/" + vm + ".log' append='on'/>"))
      << live;
  EXPECT_EQ(box.bridgePorts(br).size(), 1u);
  EXPECT_EQ(run("/usr/bin/bsdtar", {"-xOf", seedFile(), "user-data"}), "#cloud-config\nhostname: guest\n");
  box.expectConverged(file);

  // Stopped again, on a terminal to see the progress: the guest agent is
  // asked first; no agent answers in a guest without an OS, so ACPI, then
  // forced off after shutdownTimeout.
  Outcome stop = testing::runOnTerminal(HOSTFORM_BINARY,
                                        {"apply", "--auto-approve", "-f", box.manifest(volumes + vmSpec("stopped")),
                                         "--state-dir", box.dir().path() + "/state", "--owner", box.owner(),
                                         "--libvirt-uri", "qemu:///system"},
                                        {{"TERM", "xterm"}, {"NO_COLOR", std::nullopt}});
  ASSERT_EQ(stop.code, 0) << stop.out;
  EXPECT_TRUE(contains(stop.out, "VirtualMachine/" + vm + ": domain " + vm + ": no guest agent answered (")) << stop.out;
  EXPECT_TRUE(contains(stop.out, "); shutting down by ACPI")) << stop.out;
  EXPECT_TRUE(contains(stop.out, "did not shut down within 1s; forcing it off")) << stop.out;
  EXPECT_EQ(box.domainId(vm), -1);
}

}  // namespace
}  // namespace hostform::kvmtest
