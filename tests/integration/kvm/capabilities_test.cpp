// What the plan refuses because the hypervisor cannot do it, decided from
// libvirt's own reports. The fixtures are this project's CI machine's reports,
// captured with `virsh capabilities` and `virsh domcapabilities --virttype qemu
// --machine q35` on a host without /dev/kvm; a KVM host's are the same reports
// with the kvm domain type and host-passthrough that such a host adds.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "providers/kvm/capabilities.h"

namespace hostform::kvm {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(HOSTFORM_KVM_FIXTURES) + "/" + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

/// The captured host, without KVM.
CapabilityReport tcgHost() {
  CapabilityReport r;
  r.host = *parseHostCapabilities(fixture("capabilities-tcg.xml"));
  r.domain = *parseDomainCapabilities(fixture("domcaps-qemu-q35.xml"));
  return r;
}

/// The same host with KVM: libvirt adds the kvm domain type to x86_64 guests
/// (after the qemu one), and host-passthrough becomes supported.
CapabilityReport kvmHost() {
  const std::string caps = fixture("capabilities-tcg.xml");
  const auto x86 = caps.find("<arch name='x86_64'>");
  const auto qemu = caps.find("<domain type='qemu'/>", x86);
  std::string withKvm = caps;
  withKvm.insert(qemu + std::string("<domain type='qemu'/>").size(), "<domain type='kvm'/>");
  CapabilityReport r;
  r.host = *parseHostCapabilities(withKvm);
  r.domain = *parseDomainCapabilities(replaced(fixture("domcaps-qemu-q35.xml"),
                                               "<mode name='host-passthrough' supported='no'/>",
                                               "<mode name='host-passthrough' supported='yes'/>"));
  return r;
}

VirtualMachineSpec vm(Accelerator accelerator) {
  VirtualMachineSpec spec;
  spec.memory = spec.maxMemory = 64 * MiB;
  spec.accelerator = accelerator;
  return spec;
}

std::vector<std::string> fields(const std::vector<Diff::Problem>& problems) {
  std::vector<std::string> out;
  for (const Diff::Problem& p : problems) out.push_back(p.field);
  return out;
}

TEST(Capabilities, TheCapturedReportsReadAsLibvirtWroteThem) {
  auto host = parseHostCapabilities(fixture("capabilities-tcg.xml"));
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_TRUE(host->qemuDriver);
  EXPECT_EQ(host->domainTypes, std::set<std::string>{"qemu"});
  for (const char* m : {"pc", "q35", "pc-q35-7.2", "pc-i440fx-7.2"}) EXPECT_TRUE(host->machines.contains(m)) << m;
  auto domain = parseDomainCapabilities(fixture("domcaps-qemu-q35.xml"));
  ASSERT_TRUE(domain) << domain.error().message;
  EXPECT_TRUE(domain->efi);
  EXPECT_EQ(domain->cpuModes, (std::set<std::string>{"custom", "host-model", "maximum"}));
  EXPECT_TRUE(kvmHost().host->domainTypes.contains("kvm"));
  EXPECT_FALSE(parseHostCapabilities("<capabilities"));
}

TEST(Capabilities, KvmWithoutKvmIsRefusedNamingTcg) {
  const auto problems = capabilityProblems("VirtualMachine/web1", vm(Accelerator::Kvm), tcgHost());
  ASSERT_EQ(fields(problems), std::vector<std::string>{"spec.accelerator"});
  EXPECT_EQ(problems[0].message,
            "this host has no KVM: libvirt offers no kvm domain type for x86_64 guests (/dev/kvm is missing or QEMU "
            "cannot use it). Declare `accelerator: tcg` to run VirtualMachine/web1 under QEMU's emulation, which "
            "works without KVM but is much slower.");
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", vm(Accelerator::Tcg), tcgHost()).empty());
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", vm(Accelerator::Kvm), kvmHost()).empty());
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", vm(Accelerator::Tcg), kvmHost()).empty());
}

TEST(Capabilities, UefiWithoutFirmwareIsRefused) {
  VirtualMachineSpec spec = vm(Accelerator::Tcg);
  spec.firmware = Firmware::Uefi;
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", spec, tcgHost()).empty());
  // The report of a host without the ovmf package: no firmware to autoselect.
  CapabilityReport noOvmf = tcgHost();
  noOvmf.domain = *parseDomainCapabilities(
      "<domainCapabilities><os supported='yes'><enum name='firmware'/><loader supported='yes'><enum "
      "name='type'><value>rom</value><value>pflash</value></enum></loader></os></domainCapabilities>");
  const auto problems = capabilityProblems("VirtualMachine/web1", spec, noOvmf);
  ASSERT_EQ(fields(problems), std::vector<std::string>{"spec.firmware"});
  EXPECT_EQ(problems[0].message,
            "libvirt finds no UEFI firmware for q35 guests on this host (on Debian it comes with the ovmf package); "
            "install it, or declare `firmware: bios`.");
  spec.firmware = Firmware::Bios;
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", spec, noOvmf).empty());
}

TEST(Capabilities, CpuModesTheEmulatorLacksAreRefused) {
  VirtualMachineSpec spec = vm(Accelerator::Tcg);
  spec.cpuMode = CpuMode::HostPassthrough;
  const auto problems = capabilityProblems("VirtualMachine/web1", spec, tcgHost());
  ASSERT_EQ(fields(problems), std::vector<std::string>{"spec.cpuMode"});
  EXPECT_EQ(problems[0].message,
            "libvirt reports CPU mode host-passthrough as unsupported for qemu guests on this host (passing the "
            "host's CPU through needs KVM); declare `cpuMode: default` for the hypervisor's own model.");
  spec.accelerator = Accelerator::Kvm;
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", spec, kvmHost()).empty());
  spec.cpuMode = CpuMode::HostModel;
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", spec, kvmHost()).empty());
}

TEST(Capabilities, AMachineTypeTheEmulatorLacksIsRefused) {
  // An emulator built without q35 (as some distributions' minimal QEMUs are).
  std::string caps = fixture("capabilities-tcg.xml");
  for (std::string::size_type at; (at = caps.find(">q35<")) != std::string::npos;) caps.replace(at, 5, ">x35<");
  for (std::string::size_type at; (at = caps.find("pc-q35")) != std::string::npos;) caps.replace(at, 6, "pc-x35");
  CapabilityReport report;
  report.host = *parseHostCapabilities(caps);
  const auto problems = capabilityProblems("VirtualMachine/web1", vm(Accelerator::Tcg), report);
  ASSERT_EQ(fields(problems), std::vector<std::string>{"spec.machine"});
  EXPECT_EQ(problems[0].message,
            "QEMU on this host has no q35 machine type for x86_64 guests (libvirt's capabilities do not list it); "
            "declare the other machine type.");
  VirtualMachineSpec pc = vm(Accelerator::Tcg);
  pc.machine = Machine::Pc;
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", pc, report).empty());
}

TEST(Capabilities, ADriverThatReportsNoQemuGuestsChecksNothing) {
  // libvirt's test:///default driver describes "test" domains only.
  CapabilityReport test;
  test.host = *parseHostCapabilities(
      "<capabilities><guest><os_type>hvm</os_type><arch name='x86_64'><domain type='test'/></arch></guest>"
      "</capabilities>");
  EXPECT_FALSE(test.host->qemuDriver);
  VirtualMachineSpec spec = vm(Accelerator::Kvm);
  spec.firmware = Firmware::Uefi;
  spec.cpuMode = CpuMode::HostPassthrough;
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", spec, test).empty());
  EXPECT_TRUE(capabilityProblems("VirtualMachine/web1", spec, CapabilityReport{}).empty());
}

}  // namespace
}  // namespace hostform::kvm
