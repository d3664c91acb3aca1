#include "reconciler/kinds/virtual_machine.h"

#include <map>
#include <optional>

namespace hostform {

static std::string diskSource(const DiskSpec& d) {
  if (auto* v = std::get_if<VolumeRef>(&d.source)) return "volume " + v->pool + "/" + v->name;
  if (auto* lv = std::get_if<LogicalVolumeRef>(&d.source)) return "logicalVolume " + lv->volumeGroup + "/" + lv->name;
  return "path " + std::get<std::string>(d.source);
}

/// The index of the earlier item of a list that already used `key`, if any.
static std::optional<std::size_t> usedBefore(std::map<std::string, std::size_t>& seen, const std::string& key,
                                             std::size_t i) {
  auto [it, fresh] = seen.emplace(key, i);
  if (fresh) return std::nullopt;
  return it->second;
}

static std::vector<std::string> bootWords(const std::vector<BootDevice>& boot) {
  std::vector<std::string> out;
  for (BootDevice b : boot) out.emplace_back(toString(b));
  return out;
}

static VirtualMachineSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  VirtualMachineSpec vm;
  if (s["vcpus"]) vm.vcpus = in.number(s["vcpus"]);
  vm.maxVcpus = s["maxVcpus"] ? in.number(s["maxVcpus"]) : vm.vcpus;
  if (vm.maxVcpus < vm.vcpus)
    in.error(s["maxVcpus"], "spec.maxVcpus",
             "expected at least vcpus (" + std::to_string(vm.vcpus) + "), found " + std::to_string(vm.maxVcpus));
  vm.memory = in.positiveSize(s["memory"], "spec.memory");
  vm.maxMemory = s["maxMemory"] ? in.positiveSize(s["maxMemory"], "spec.maxMemory") : vm.memory;
  if (!in.failed() && vm.memory % KiB != 0)
    in.error(s["memory"], "spec.memory", "expected a whole number of KiB, found " + in.shown(s["memory"]));
  if (!in.failed() && vm.maxMemory % KiB != 0)
    in.error(s["maxMemory"], "spec.maxMemory", "expected a whole number of KiB, found " + in.shown(s["maxMemory"]));
  if (!in.failed() && vm.maxMemory < vm.memory)
    in.error(s["maxMemory"], "spec.maxMemory",
             "expected at least memory (" + formatSize(vm.memory) + "), found " + formatSize(vm.maxMemory));
  vm.machine = in.choice(s["machine"], vm.machine);
  vm.firmware = in.choice(s["firmware"], vm.firmware);
  vm.cpuMode = in.choice(s["cpuMode"], vm.cpuMode);
  vm.accelerator = in.choice(s["accelerator"], vm.accelerator);
  vm.state = in.choice(s["state"], vm.state);
  vm.autostart = in.flag(s["autostart"], vm.autostart);
  vm.shutdownTimeout = in.duration(s["shutdownTimeout"], "spec.shutdownTimeout", vm.shutdownTimeout);
  std::map<std::string, std::size_t> targets;
  if (const yaml::Node disks = s["disks"])
    for (std::size_t i = 0; i < disks.size(); ++i) {
      const yaml::Node d = disks[i];
      DiskSpec disk;
      if (const yaml::Node v = d["volume"]) disk.source = VolumeRef{in.text(v["pool"]), in.text(v["name"])};
      else if (const yaml::Node lv = d["logicalVolume"])
        disk.source = LogicalVolumeRef{in.text(lv["volumeGroup"]), in.text(lv["name"])};
      else {
        disk.source = in.text(d["path"]);
        in.checkPath(d["path"], "spec.disks[" + std::to_string(i) + "].path");
      }
      disk.target = in.optText(d["target"]);
      disk.bus = in.choice(d["bus"], disk.bus);
      disk.readOnly = in.flag(d["readOnly"], disk.readOnly);
      if (auto first = disk.target ? usedBefore(targets, *disk.target, i) : std::nullopt)
        in.error(d["target"], "spec.disks[" + std::to_string(i) + "].target",
                 "target \"" + *disk.target + "\" is already used by disk " + std::to_string(*first));
      vm.disks.push_back(std::move(disk));
    }
  std::map<std::string, std::size_t> macs;
  if (const yaml::Node nics = s["interfaces"])
    for (std::size_t i = 0; i < nics.size(); ++i) {
      const yaml::Node n = nics[i];
      InterfaceSpec nic;
      nic.bridge = in.text(n["bridge"]);
      nic.macAddress = in.mac(n["macAddress"]);
      if (n["model"]) nic.model = in.text(n["model"]);
      if (auto first = nic.macAddress ? usedBefore(macs, *nic.macAddress, i) : std::nullopt)
        in.error(n["macAddress"], "spec.interfaces[" + std::to_string(i) + "].macAddress",
                 "MAC address " + *nic.macAddress + " is already used by interface " + std::to_string(*first));
      vm.interfaces.push_back(std::move(nic));
    }
  if (const yaml::Node boot = s["boot"]) {
    vm.boot.clear();
    for (std::size_t i = 0; i < boot.size(); ++i) vm.boot.push_back(in.choice(boot[i], BootDevice::Hd));
  }
  vm.graphics = in.choice(s["graphics"], vm.graphics);
  vm.restartPolicy = in.choice(s["restartPolicy"], vm.restartPolicy);
  return vm;
}

static void write(const VirtualMachineSpec& s, SpecWriter& w) {
  const VirtualMachineSpec d;
  w.changed("vcpus", s.vcpus, d.vcpus);
  w.changed("maxVcpus", s.maxVcpus, s.vcpus);
  w.size("memory", s.memory);
  if (s.maxMemory != s.memory) w.size("maxMemory", s.maxMemory);
  w.word("machine", s.machine, d.machine);
  w.word("firmware", s.firmware, d.firmware);
  w.word("cpuMode", s.cpuMode, d.cpuMode);
  w.word("accelerator", s.accelerator, d.accelerator);
  w.word("state", s.state, d.state);
  w.changed("autostart", s.autostart, d.autostart);
  w.duration("shutdownTimeout", s.shutdownTimeout, d.shutdownTimeout);
  if (!s.disks.empty()) {
    w.beginList("disks");
    for (const DiskSpec& disk : s.disks) {
      w.beginItem();
      if (auto* v = std::get_if<VolumeRef>(&disk.source)) {
        w.begin("volume");
        w.put("pool", v->pool);
        w.put("name", v->name);
        w.end();
      } else if (auto* lv = std::get_if<LogicalVolumeRef>(&disk.source)) {
        w.begin("logicalVolume");
        w.put("volumeGroup", lv->volumeGroup);
        w.put("name", lv->name);
        w.end();
      } else {
        w.put("path", std::get<std::string>(disk.source));
      }
      w.opt("target", disk.target);
      w.word("bus", disk.bus, DiskBus::Virtio);
      w.changed("readOnly", disk.readOnly, false);
      w.endItem();
    }
    w.endList();
  }
  if (!s.interfaces.empty()) {
    w.beginList("interfaces");
    for (const InterfaceSpec& nic : s.interfaces) {
      w.beginItem();
      w.put("bridge", nic.bridge);
      w.opt("macAddress", nic.macAddress);
      w.changed("model", nic.model, std::string("virtio"));
      w.endItem();
    }
    w.endList();
  }
  if (s.boot != d.boot) w.flowList("boot", bootWords(s.boot));
  w.word("graphics", s.graphics, d.graphics);
  w.word("restartPolicy", s.restartPolicy, d.restartPolicy);
}

static void list(const VirtualMachineSpec& s, FieldList& f) {
  f.add("vcpus", std::to_string(s.vcpus));
  f.add("maxVcpus", std::to_string(s.maxVcpus));
  f.add("memory", formatSize(s.memory));
  f.add("maxMemory", formatSize(s.maxMemory));
  f.add("machine", std::string(toString(s.machine)));
  f.add("firmware", std::string(toString(s.firmware)));
  f.add("cpuMode", std::string(toString(s.cpuMode)));
  f.add("accelerator", std::string(toString(s.accelerator)));
  f.add("state", std::string(toString(s.state)));
  f.add("autostart", s.autostart);
  f.add("shutdownTimeout", formatDuration(s.shutdownTimeout));
  for (std::size_t i = 0; i < s.disks.size(); ++i) {
    const DiskSpec& d = s.disks[i];
    const std::string p = "disks[" + std::to_string(i) + "].";
    f.add(p + "source", diskSource(d));
    f.add(p + "target", d.target);
    f.add(p + "bus", std::string(toString(d.bus)));
    f.add(p + "readOnly", d.readOnly);
  }
  for (std::size_t i = 0; i < s.interfaces.size(); ++i) {
    const InterfaceSpec& n = s.interfaces[i];
    const std::string p = "interfaces[" + std::to_string(i) + "].";
    f.add(p + "bridge", n.bridge);
    f.add(p + "macAddress", n.macAddress);
    f.add(p + "model", n.model);
  }
  f.add("boot", showList(bootWords(s.boot)));
  f.add("graphics", std::string(toString(s.graphics)));
  f.add("restartPolicy", std::string(toString(s.restartPolicy)));
}

static void refer(const VirtualMachineSpec& s, std::vector<Reference>& out) {
  for (std::size_t i = 0; i < s.disks.size(); ++i) {
    const std::string at = "spec.disks[" + std::to_string(i) + "]";
    if (auto* v = std::get_if<VolumeRef>(&s.disks[i].source))
      out.push_back({ResourceId{kinds::Volume, v->pool, v->name}, at + ".volume"});
    else if (auto* lv = std::get_if<LogicalVolumeRef>(&s.disks[i].source))
      out.push_back({ResourceId{kinds::LogicalVolume, lv->volumeGroup, lv->name}, at + ".logicalVolume"});
  }
  for (std::size_t i = 0; i < s.interfaces.size(); ++i)
    out.push_back({ResourceId{kinds::Bridge, "", s.interfaces[i].bridge},
                   "spec.interfaces[" + std::to_string(i) + "].bridge"});
}

// The words of its enums in manifests.
constexpr EnumNames<Machine, 2> kMachine{{{Machine::Pc, "pc"}, {Machine::Q35, "q35"}}};
constexpr EnumNames<Firmware, 2> kFirmware{{{Firmware::Bios, "bios"}, {Firmware::Uefi, "uefi"}}};
constexpr EnumNames<CpuMode, 3> kCpuMode{{{CpuMode::Default, "default"},
                                          {CpuMode::HostModel, "host-model"},
                                          {CpuMode::HostPassthrough, "host-passthrough"}}};
constexpr EnumNames<Accelerator, 2> kAccelerator{{{Accelerator::Kvm, "kvm"}, {Accelerator::Tcg, "tcg"}}};
constexpr EnumNames<VmState, 2> kVmState{{{VmState::Running, "running"}, {VmState::Stopped, "stopped"}}};
constexpr EnumNames<BootDevice, 3> kBootDevice{
    {{BootDevice::Hd, "hd"}, {BootDevice::Network, "network"}, {BootDevice::Cdrom, "cdrom"}}};
constexpr EnumNames<Graphics, 2> kGraphics{{{Graphics::None, "none"}, {Graphics::Vnc, "vnc"}}};
constexpr EnumNames<RestartPolicy, 2> kRestartPolicy{{{RestartPolicy::Never, "never"}, {RestartPolicy::Auto, "auto"}}};
constexpr EnumNames<DiskBus, 3> kDiskBus{
    {{DiskBus::Virtio, "virtio"}, {DiskBus::Sata, "sata"}, {DiskBus::Scsi, "scsi"}}};

HOSTFORM_DEFINE_ENUM_NAMES(Machine, kMachine)
HOSTFORM_DEFINE_ENUM_NAMES(Firmware, kFirmware)
HOSTFORM_DEFINE_ENUM_NAMES(CpuMode, kCpuMode)
HOSTFORM_DEFINE_ENUM_NAMES(Accelerator, kAccelerator)
HOSTFORM_DEFINE_ENUM_NAMES(VmState, kVmState)
HOSTFORM_DEFINE_ENUM_NAMES(BootDevice, kBootDevice)
HOSTFORM_DEFINE_ENUM_NAMES(Graphics, kGraphics)
HOSTFORM_DEFINE_ENUM_NAMES(RestartPolicy, kRestartPolicy)
HOSTFORM_DEFINE_ENUM_NAMES(DiskBus, kDiskBus)

HOSTFORM_KIND(kVirtualMachineKind, VirtualMachineSpec, "VirtualMachine", 60, "virtual-machine.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
