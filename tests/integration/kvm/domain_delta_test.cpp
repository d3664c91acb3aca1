// Plan and patch of every VirtualMachine field, as a table: for each field,
// a domain libvirt has defined (test:///default: the real libvirt XML parser
// and formatter, in-process) is compared with a spec that changes that field
// alone. The plan must name exactly that change, with the class a running
// domain gets; the patch written from the same delta, defined in libvirt and
// read back, must then compare as no change. A field the plan names but the
// patch does not write (a NIC model change once was) fails here.

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "providers/kvm/session.h"
#include "providers/kvm/plan.h"

namespace hostform::kvm {
namespace {

struct Row {
  std::string name;
  std::function<void(VirtualMachineSpec&)> change;
  std::vector<std::string> fields;  ///< the plan's changes, in order
  ChangeClass running;              ///< their class while the domain runs (Live when stopped)
};
void PrintTo(const Row& row, std::ostream* out) { *out << row.name; }

/// The base VM: every field set to something a row can move away from. State
/// and autostart match the domain as defined (and started, when `running`).
VirtualMachineSpec base(bool running) {
  VirtualMachineSpec s;
  s.state = running ? VmState::Running : VmState::Stopped;
  s.autostart = false;
  s.vcpus = 1;
  s.maxVcpus = 2;
  s.memory = 64 * MiB;
  s.maxMemory = 128 * MiB;
  s.disks = {DiskSpec{std::string("/srv/hf/a.img"), std::nullopt, DiskBus::Virtio, false},
             DiskSpec{std::string("/srv/hf/b.img"), std::string("sda"), DiskBus::Sata, false}};
  // e1000: what a domain made by other tools may have; the manifest model is virtio.
  s.interfaces = {InterfaceSpec{"br0", std::string("52:54:00:00:00:01"), "e1000"}};
  return s;
}

const std::vector<Row>& rows() {
  using C = ChangeClass;
  static const std::vector<Row> table{
      {"vcpus", [](auto& s) { s.vcpus = 2; }, {"vcpus"}, C::Live},
      {"maxVcpus", [](auto& s) { s.maxVcpus = 4; }, {"maxVcpus"}, C::Restart},
      {"memory", [](auto& s) { s.memory = 96 * MiB; }, {"memory"}, C::Live},
      {"maxMemory", [](auto& s) { s.maxMemory = 256 * MiB; }, {"maxMemory"}, C::Restart},
      {"machine", [](auto& s) { s.machine = Machine::Pc; }, {"machine"}, C::Restart},
      {"firmware", [](auto& s) { s.firmware = Firmware::Uefi; }, {"firmware"}, C::Restart},
      {"cpuMode", [](auto& s) { s.cpuMode = CpuMode::HostModel; }, {"cpuMode"}, C::Restart},
      {"accelerator", [](auto& s) { s.accelerator = Accelerator::Tcg; }, {"accelerator"}, C::Restart},
      {"boot", [](auto& s) { s.boot = {BootDevice::Network, BootDevice::Hd}; }, {"boot"}, C::Restart},
      {"graphics", [](auto& s) { s.graphics = Graphics::Vnc; }, {"graphics"}, C::Restart},
      {"shutdownTimeout", [](auto& s) { s.shutdownTimeout = Millis(5'000); }, {"shutdownTimeout"}, C::Live},
      {"restartPolicy", [](auto& s) { s.restartPolicy = RestartPolicy::Auto; }, {"restartPolicy"}, C::Live},
      {"disks.add",
       [](auto& s) { s.disks.push_back(DiskSpec{std::string("/srv/hf/c.img"), std::nullopt, DiskBus::Virtio, false}); },
       {"disks[vdb]"},
       C::Live},
      {"disks.remove", [](auto& s) { s.disks.erase(s.disks.begin()); }, {"disks[vda]"}, C::Live},
      {"disks.source", [](auto& s) { s.disks[0].source = std::string("/srv/hf/z.img"); }, {"disks[vda].source"}, C::Live},
      {"disks.bus", [](auto& s) { s.disks[1].bus = DiskBus::Scsi; }, {"disks[sda].bus"}, C::Restart},
      {"disks.readOnly", [](auto& s) { s.disks[0].readOnly = true; }, {"disks[vda].readOnly"}, C::Restart},
      {"interfaces.add",
       [](auto& s) { s.interfaces.push_back(InterfaceSpec{"br1", std::string("52:54:00:00:00:02"), "virtio"}); },
       {"interfaces[1]"},
       C::Live},
      {"interfaces.remove", [](auto& s) { s.interfaces.clear(); }, {"interfaces[52:54:00:00:00:01]"}, C::Live},
      {"interfaces.bridge", [](auto& s) { s.interfaces[0].bridge = "br1"; }, {"interfaces[0].bridge"}, C::Live},
      {"interfaces.model", [](auto& s) { s.interfaces[0].model = "virtio"; }, {"interfaces[0].model"}, C::Restart},
      {"interfaces.macAddress",
       [](auto& s) { s.interfaces[0].macAddress = "52:54:00:00:00:09"; },
       {"interfaces[0]", "interfaces[52:54:00:00:00:01]"},
       C::Live},
  };
  return table;
}

class DomainDelta : public ::testing::TestWithParam<Row> {
 protected:
  DomainDelta() : conn_(virConnectOpen("test:///default")) {}
  ~DomainDelta() override {
    if (DomainHandle dom{virDomainLookupByName(conn_.get(), name_.c_str())}) {
      if (virDomainIsActive(dom.get()) == 1) virDomainDestroy(dom.get());
      virDomainUndefine(dom.get());
    }
  }

  /// Defines `xml` in libvirt and reads the definition back as libvirt keeps it.
  DomainInfo define(const std::string& xml, bool running) {
    DomainHandle dom(virDomainDefineXML(conn_.get(), xml.c_str()));
    EXPECT_TRUE(dom) << lastError() << "\n" << xml;
    if (running && virDomainIsActive(dom.get()) != 1) {
      EXPECT_EQ(virDomainCreate(dom.get()), 0) << lastError();
    }
    definition_ = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
    auto config = parseDomainXml(definition_);
    EXPECT_TRUE(config) << config.error().message;
    return DomainInfo{*config, running, false, false};
  }

  /// The delta of `spec` against `live`, as the plan computes it for apply.
  DomainComparison delta(const VirtualMachineSpec& spec, const DomainInfo& live) {
    desired_.id = ResourceId{kinds::VirtualMachine, "", name_};
    desired_.spec = spec;
    return compareDomain(desired_, &live, PlanContext{}, KvmState{}, "tables");
  }

  std::string name_ = "hfdelta" + std::to_string(::getpid());
  ConnectHandle conn_;
  std::string definition_;
  Resource desired_;
};

TEST_P(DomainDelta, PlanNamesTheFieldAndThePatchWritesIt) {
  const Row& row = GetParam();
  for (const bool running : {false, true}) {
    SCOPED_TRACE(running ? "running" : "stopped");
    VirtualMachineSpec before = base(running);
    DomainWrite create{name_, &before, {}, {}, {"tables", before.shutdownTimeout, before.restartPolicy}, {}};
    DomainInfo blank;
    create.disks = delta(before, blank).delta.want.disks;  // resolved as apply resolves them
    for (const InterfaceSpec& n : before.interfaces) create.nics.push_back({n.bridge, *n.macAddress, n.model});
    const DomainInfo live = define(newDomainXml(create), running);
    for (const FieldChange& c : delta(before, live).changes) ADD_FAILURE() << "the base must converge: " << c.field;

    VirtualMachineSpec after = base(running);
    row.change(after);
    const DomainComparison planned = delta(after, live);
    std::vector<std::string> fields;
    for (const FieldChange& c : planned.changes) {
      fields.push_back(c.field);
      EXPECT_EQ(c.cls, running ? row.running : ChangeClass::Live) << c.field;
    }
    EXPECT_EQ(fields, row.fields);
    ASSERT_TRUE(planned.delta.configChanged);

    auto patched = patchDomainXml(definition_, planned.delta.want);
    ASSERT_TRUE(patched) << patched.error().message;
    const DomainInfo now = define(*patched, running);
    const DomainComparison again = delta(after, now);
    for (const FieldChange& c : again.changes)
      ADD_FAILURE() << "the patch did not write " << c.field << ": " << c.from.value_or("(none)") << " -> "
                    << c.to.value_or("(none)") << "\n" << definition_;

    if (DomainHandle dom{virDomainLookupByName(conn_.get(), name_.c_str())}) {
      if (virDomainIsActive(dom.get()) == 1) virDomainDestroy(dom.get());
      virDomainUndefine(dom.get());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryField, DomainDelta, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& param) {
                           std::string n = param.param.name;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

TEST(DomainDeltaTable, CoversEveryFieldOfTheModel) {
  // Every leaf of a VirtualMachine spec that lives in the domain definition
  // has a row; state and autostart are API calls, not XML, and are covered by
  // the engine tests.
  Resource vm;
  vm.id = ResourceId{kinds::VirtualMachine, "", "x"};
  vm.spec = base(false);
  std::set<std::string> covered;
  for (const Row& r : rows()) covered.insert(r.name.substr(0, r.name.find('.')));
  for (const Field& f : fields(vm)) {
    std::string top = f.path.substr(0, f.path.find_first_of(".["));
    if (top == "state" || top == "autostart") continue;
    EXPECT_TRUE(covered.contains(top)) << f.path << " has no row";
  }
}

// ---- What apply makes of the plan's delta (no libvirt) -----------------------

/// `spec` as a Resource named "hfpure".
Resource vmResource(const VirtualMachineSpec& spec) {
  Resource vm;
  vm.id = ResourceId{kinds::VirtualMachine, "", "hfpure"};
  vm.spec = spec;
  return vm;
}

/// A running domain defined exactly as `spec` says: hostform's own XML for it, read back.
DomainInfo runningAs(const VirtualMachineSpec& spec) {
  const Resource vm = vmResource(spec);
  DomainWrite write{"hfpure", &spec, {}, {}, {"tables", spec.shutdownTimeout, spec.restartPolicy}, {}};
  write.disks = compareDomain(vm, nullptr, PlanContext{}, KvmState{}, "tables").delta.want.disks;
  for (const InterfaceSpec& n : spec.interfaces) write.nics.push_back({n.bridge, *n.macAddress, n.model});
  auto config = parseDomainXml(newDomainXml(write));
  EXPECT_TRUE(config) << config.error().message;
  return DomainInfo{*config, true, false, spec.autostart};
}

DomainComparison compare(const VirtualMachineSpec& spec, const DomainInfo& live) {
  return compareDomain(vmResource(spec), &live, PlanContext{}, KvmState{}, "tables");
}

TEST(PlannedDelta, ANicWithoutAMacGetsOneAtApplyAndOnlyThatNic) {
  const VirtualMachineSpec before = base(true);
  const DomainInfo live = runningAs(before);
  ASSERT_TRUE(compare(before, live).changes.empty());

  VirtualMachineSpec after = before;
  after.interfaces.push_back(InterfaceSpec{"br1", std::nullopt, "virtio"});
  after.interfaces.push_back(InterfaceSpec{"br2", std::string("52:54:00:00:00:02"), "virtio"});
  const DomainComparison planned = compare(after, live);
  // The plan shows no MAC for the NIC the manifest gives none: none is chosen yet.
  ASSERT_EQ(planned.changes.size(), 2u);
  EXPECT_EQ(planned.changes[0].to, "br1");
  EXPECT_EQ(planned.changes[1].to, "br2 52:54:00:00:00:02");
  EXPECT_EQ(planned.delta.newMacs, std::vector<std::size_t>{1});
  EXPECT_EQ(planned.delta.want.nics.at(1).mac, kMacToGenerate);
  EXPECT_EQ(planned.delta.attachNics, (std::vector<std::size_t>{1, 2}));

  int generated = 0;
  const kvm::DomainDelta applied = withMacs(planned.delta, [&] {
    ++generated;
    return std::string("52:54:00:12:34:56");
  });
  EXPECT_EQ(generated, 1);
  EXPECT_TRUE(applied.newMacs.empty());
  ASSERT_EQ(applied.want.nics.size(), 3u);
  EXPECT_EQ(applied.want.nics[1], (DomainNic{"br1", "52:54:00:12:34:56", "virtio"}));
  // The rest is the plan's, untouched: declared MACs, disks, the NICs to attach
  // (by index, so the one attached is the one defined, with its new MAC).
  EXPECT_EQ(applied.want.nics[0], planned.delta.want.nics[0]);
  EXPECT_EQ(applied.want.nics[2], planned.delta.want.nics[2]);
  EXPECT_EQ(applied.want.disks, planned.delta.want.disks);
  EXPECT_EQ(applied.attachNics, planned.delta.attachNics);
  EXPECT_EQ(applied.configChanged, planned.delta.configChanged);

  const std::string mac = randomMac(KvmState{});
  EXPECT_TRUE(mac.starts_with("52:54:00:")) << mac;
  EXPECT_EQ(mac.size(), 17u) << mac;
}

TEST(PlannedDelta, LiveChangesAreThoseTheRunningDomainGetsAsPlanned) {
  const VirtualMachineSpec before = base(true);
  const DomainInfo live = runningAs(before);

  VirtualMachineSpec memory = before;
  memory.memory = 96 * MiB;
  const kvm::DomainDelta inPlace = compare(memory, live).delta;
  EXPECT_EQ(inPlace.liveMemory, 96 * MiB);
  EXPECT_FALSE(inPlace.restartNow);
  EXPECT_TRUE(inPlace.hasLiveChanges());

  // A restart applies the definition: nothing is changed live before it.
  VirtualMachineSpec restarted = memory;
  restarted.machine = Machine::Pc;
  restarted.restartPolicy = RestartPolicy::Auto;
  const DomainComparison restart = compare(restarted, live);
  EXPECT_TRUE(restart.delta.restartNow);
  EXPECT_FALSE(restart.delta.hasLiveChanges());
  EXPECT_EQ(restart.changes.back().to, "now (restartPolicy: auto)");

  // Without restartPolicy auto the restart-class change waits, the live one is made.
  restarted.restartPolicy = RestartPolicy::Never;
  EXPECT_FALSE(compare(restarted, live).delta.restartNow);
  EXPECT_EQ(compare(restarted, live).delta.liveMemory, 96 * MiB);

  // A domain that is to stop gets no live changes: its definition has them.
  VirtualMachineSpec stopped = memory;
  stopped.state = VmState::Stopped;
  EXPECT_FALSE(compare(stopped, live).delta.hasLiveChanges());

  // Autostart is set only where it differs.
  EXPECT_FALSE(inPlace.autostart);
  VirtualMachineSpec autostart = before;
  autostart.autostart = true;
  EXPECT_EQ(compare(autostart, live).delta.autostart, true);
}

}  // namespace
}  // namespace hostform::kvm
