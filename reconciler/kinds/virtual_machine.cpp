#include "reconciler/kinds/virtual_machine.h"


#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "reconciler/digest.h"
#include "reconciler/kinds/storage_pool.h"

namespace hostform {

DiskBus defaultBus(DiskDevice device, Machine machine) {
  if (device == DiskDevice::Disk) return DiskBus::Virtio;
  return machine == Machine::Q35 ? DiskBus::Sata : DiskBus::Ide;
}

std::string userDataDigest(const std::string& userData) {
  return "sha256:" + sha256Hex(userData).substr(0, 12) + " (" + std::to_string(userData.size()) + " bytes)";
}

namespace {

/// A plain scalar as YAML 1.2's core schema reads it, as JSON.
nlohmann::json plainJson(const std::string& text) {
  switch (yaml::resolvePlain(text)) {
    case yaml::PlainType::Null: return nullptr;
    case yaml::PlainType::Boolean: return text[0] == 't' || text[0] == 'T';
    case yaml::PlainType::Integer: {
      try {
        std::size_t at = 0;
        const bool negative = text[0] == '-';
        const std::size_t sign = (text[0] == '-' || text[0] == '+') ? 1 : 0;
        const std::string digits = text.substr(sign);
        long long v = 0;
        if (digits.starts_with("0x")) v = std::stoll(digits.substr(2), &at, 16);
        else if (digits.starts_with("0o")) v = std::stoll(digits.substr(2), &at, 8);
        else v = std::stoll(digits, &at, 10);
        return negative ? -v : v;
      } catch (const std::exception&) {
        return text;  // beyond 64 bits: kept as written
      }
    }
    case yaml::PlainType::Float: {
      try {
        const double v = std::stod(text);
        if (std::isfinite(v)) return v;
      } catch (const std::exception&) {
      }
      return text;  // .inf, .nan: JSON has no such numbers
    }
    case yaml::PlainType::String: break;
  }
  return text;
}

/// A YAML tree as JSON: maps, lists and scalars as YAML 1.2's core schema reads them.
nlohmann::json toJson(const yaml::Node& n) {
  switch (n.type()) {
    case yaml::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (std::size_t i = 0; i < n.size(); ++i) out[n.key(i).scalar()] = toJson(n.value(i));
      return out;
    }
    case yaml::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t i = 0; i < n.size(); ++i) out.push_back(toJson(n[i]));
      return out;
    }
    case yaml::NodeType::Null: return nullptr;
    case yaml::NodeType::Scalar: break;
  }
  return n.plain() ? plainJson(n.scalar()) : nlohmann::json(n.scalar());
}

/// cloud-init's user-data formats other than #cloud-config, by their first line.
constexpr std::string_view kOtherUserDataFormats[] = {
    "#!", "#include", "#cloud-boothook", "#part-handler", "## template: jinja", "Content-Type: multipart/",
    "#cloud-config-archive", "#cloud-config-jsonp", "#upstart-job"};

/// userData must be a format cloud-init reads: a #cloud-config document whose
/// body is a YAML mapping, or one of the others (not checked further).
void checkUserData(SpecReader& in, const yaml::Node& n) {
  const std::string& text = n.scalar();
  std::string first = text.substr(0, text.find('\n'));
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ' || first.back() == '\t')) first.pop_back();
  const std::string path = "spec.cloudInit.userData";
  if (first == "#cloud-config") {
    yaml::StreamParser parser(text, 1);
    std::optional<yaml::Document> doc = parser.next();
    if (!doc && parser.error()) {
      const yaml::ParseError& e = *parser.error();
      in.error(n, path,
               "expected a YAML mapping after #cloud-config, but line " + std::to_string(e.mark.line + 1) +
                   " column " + std::to_string(e.mark.column + 1) + " of userData does not parse: " + e.message);
    } else if (doc && !doc->empty() && !doc->root().isMap()) {
      in.error(n, path, "expected a YAML mapping after #cloud-config (cloud-config keys such as users: or "
                        "packages:), found a " + std::string(doc->root().isSequence() ? "list" : "scalar"));
    }
    return;
  }
  for (std::string_view format : kOtherUserDataFormats)
    if (first.starts_with(format)) return;
  in.error(n, path,
           "expected cloud-init user data: a first line #cloud-config (then a YAML mapping), a script (#!), or "
           "#include, #cloud-boothook, #part-handler, ## template: jinja or Content-Type: multipart/...; found "
           "first line " + (first.empty() ? std::string("(empty)") : "\"" + first.substr(0, 60) + "\""));
}

BootFile readBootFile(SpecReader& in, const yaml::Node& n, const std::string& path) {
  if (const yaml::Node v = n["volume"]) return VolumeRef{in.text(v["pool"]), in.text(v["name"])};
  in.checkPath(n["path"], path + ".path");
  return in.text(n["path"]);
}

void writeBootFile(SpecWriter& w, const BootFile& f) {
  if (auto* v = std::get_if<VolumeRef>(&f)) {
    w.begin("volume");
    w.put("pool", v->pool);
    w.put("name", v->name);
    w.end();
  } else {
    w.put("path", std::get<std::string>(f));
  }
}

std::string describeBootFile(const BootFile& f) {
  if (auto* v = std::get_if<VolumeRef>(&f)) return "volume " + v->pool + "/" + v->name;
  return "path " + std::get<std::string>(f);
}

}  // namespace

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
      const std::string at = "spec.disks[" + std::to_string(i) + "]";
      disk.target = in.optText(d["target"]);
      disk.device = in.choice(d["device"], disk.device);
      disk.bus = in.choice(d["bus"], defaultBus(disk.device, vm.machine));
      disk.readOnly = in.flag(d["readOnly"], disk.device == DiskDevice::Cdrom);
      if (disk.device == DiskDevice::Cdrom && !disk.readOnly)
        in.error(d["readOnly"], at + ".readOnly", "expected true or nothing: a cdrom is always read-only");
      if (disk.device == DiskDevice::Cdrom && disk.bus == DiskBus::Virtio)
        in.error(d["bus"], at + ".bus", "expected sata, scsi or ide for a cdrom, found virtio");
      if (disk.device == DiskDevice::Disk && disk.bus == DiskBus::Ide)
        in.error(d["bus"], at + ".bus", "expected virtio, sata or scsi for a disk, found ide (ide is for cdroms)");
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
  if (const yaml::Node k = s["kernel"]) {
    KernelSpec kernel;
    kernel.image = readBootFile(in, k, "spec.kernel");
    if (const yaml::Node initrd = k["initrd"]) kernel.initrd = readBootFile(in, initrd, "spec.kernel.initrd");
    kernel.cmdline = in.optText(k["cmdline"]);
    vm.kernel = std::move(kernel);
  }
  if (const yaml::Node ci = s["cloudInit"]) {
    CloudInitSpec c;
    if (const yaml::Node u = ci["userData"]) {
      c.userData = in.text(u);
      checkUserData(in, u);
    }
    if (const yaml::Node m = ci["metaData"]) c.metaData = toJson(m).dump();
    if (const yaml::Node nc = ci["networkConfig"]) {
      c.networkConfig = toJson(nc).dump();
      const yaml::Node version = nc["version"];
      if (!version)
        in.error(nc, "spec.cloudInit.networkConfig.version", "expected version: 2 (cloud-init's network config "
                                                             "version 2), found no version");
      else if (!version.isScalar() || !version.plain() || version.scalar() != "2")
        in.error(version, "spec.cloudInit.networkConfig.version",
                 "expected 2 (cloud-init's network config version 2), found " + in.shown(version));
    }
    c.pool = in.optText(ci["pool"]);
    vm.cloudInit = std::move(c);
  }
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
      w.word("device", disk.device, DiskDevice::Disk);
      w.opt("target", disk.target);
      w.word("bus", disk.bus, defaultBus(disk.device, s.machine));
      w.changed("readOnly", disk.readOnly, disk.device == DiskDevice::Cdrom);
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
  if (s.kernel) {
    w.begin("kernel");
    writeBootFile(w, s.kernel->image);
    if (s.kernel->initrd) {
      w.begin("initrd");
      writeBootFile(w, *s.kernel->initrd);
      w.end();
    }
    w.opt("cmdline", s.kernel->cmdline);
    w.end();
  }
  if (s.cloudInit) {
    w.begin("cloudInit");
    w.opt("userData", s.cloudInit->userData);
    if (s.cloudInit->metaData) w.json("metaData", *s.cloudInit->metaData);
    if (s.cloudInit->networkConfig) w.json("networkConfig", *s.cloudInit->networkConfig);
    w.opt("pool", s.cloudInit->pool);
    w.end();
  }
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
    if (d.device != DiskDevice::Disk) f.add(p + "device", std::string(toString(d.device)));
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
  if (s.kernel) {
    f.add("kernel.source", describeBootFile(s.kernel->image));
    if (s.kernel->initrd) f.add("kernel.initrd", describeBootFile(*s.kernel->initrd));
    f.add("kernel.cmdline", s.kernel->cmdline);
  }
  if (s.cloudInit) {
    // Never the user data itself: it holds passwords and keys.
    if (s.cloudInit->userData) f.add("cloudInit.userData", userDataDigest(*s.cloudInit->userData));
    f.add("cloudInit.metaData", s.cloudInit->metaData);
    f.add("cloudInit.networkConfig", s.cloudInit->networkConfig);
    f.add("cloudInit.pool", s.cloudInit->pool);
  }
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
  if (s.kernel) {
    if (auto* v = std::get_if<VolumeRef>(&s.kernel->image))
      out.push_back({ResourceId{kinds::Volume, v->pool, v->name}, "spec.kernel.volume"});
    if (auto* v = s.kernel->initrd ? std::get_if<VolumeRef>(&*s.kernel->initrd) : nullptr)
      out.push_back({ResourceId{kinds::Volume, v->pool, v->name}, "spec.kernel.initrd.volume"});
  }
  if (s.cloudInit && s.cloudInit->pool)
    out.push_back({ResourceId{kinds::StoragePool, "", *s.cloudInit->pool}, "spec.cloudInit.pool"});
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
constexpr EnumNames<DiskBus, 4> kDiskBus{
    {{DiskBus::Virtio, "virtio"}, {DiskBus::Sata, "sata"}, {DiskBus::Scsi, "scsi"}, {DiskBus::Ide, "ide"}}};
constexpr EnumNames<DiskDevice, 2> kDiskDevice{{{DiskDevice::Disk, "disk"}, {DiskDevice::Cdrom, "cdrom"}}};

HOSTFORM_DEFINE_ENUM_NAMES(Machine, kMachine)
HOSTFORM_DEFINE_ENUM_NAMES(Firmware, kFirmware)
HOSTFORM_DEFINE_ENUM_NAMES(CpuMode, kCpuMode)
HOSTFORM_DEFINE_ENUM_NAMES(Accelerator, kAccelerator)
HOSTFORM_DEFINE_ENUM_NAMES(VmState, kVmState)
HOSTFORM_DEFINE_ENUM_NAMES(BootDevice, kBootDevice)
HOSTFORM_DEFINE_ENUM_NAMES(Graphics, kGraphics)
HOSTFORM_DEFINE_ENUM_NAMES(RestartPolicy, kRestartPolicy)
HOSTFORM_DEFINE_ENUM_NAMES(DiskBus, kDiskBus)
HOSTFORM_DEFINE_ENUM_NAMES(DiskDevice, kDiskDevice)

HOSTFORM_KIND(kVirtualMachineKind, VirtualMachineSpec, "VirtualMachine", 60, "virtual-machine.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
