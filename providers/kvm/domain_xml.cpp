#include "providers/kvm/domain_xml.h"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "providers/kvm/capabilities.h"
#include "providers/kvm/xml_util.h"

namespace hostform::kvm {
namespace {

/// Spare PCIe root ports a new q35 domain gets, so NICs and disks can be
/// hot-plugged later: on q35 every hot-plugged PCI device needs a free port,
/// and libvirt adds ports only for the devices defined at define time.
constexpr int kSpareRootPorts = 8;

const char* bootName(BootDevice b) {
  switch (b) {
    case BootDevice::Hd: return "hd";
    case BootDevice::Network: return "network";
    case BootDevice::Cdrom: return "cdrom";
  }
  return "hd";
}

/// A disk the manifest model can describe: a plain disk from a file, block
/// device or pool volume on a bus hostform knows, or a cdrom with a medium.
/// Other disks (floppies, empty cdrom trays, network disks) are left out of
/// the diff and never touched.
bool isManagedDisk(const pugi::xml_node& disk) {
  const std::string_view device = disk.attribute("device").as_string("disk");
  const std::string_view type = disk.attribute("type").as_string("file");
  if (type != "file" && type != "block" && type != "volume") return false;
  const std::string_view bus = disk.child("target").attribute("bus").value();
  const std::string_view target = disk.child("target").attribute("dev").value();
  if (device == "cdrom") {
    pugi::xml_node src = disk.child("source");
    const bool medium = src.attribute("file") || src.attribute("dev") || src.attribute("volume");
    if (!medium) return false;
    if (bus.empty()) return target.starts_with("sd") || target.starts_with("hd");
    return bus == "sata" || bus == "scsi" || bus == "ide";
  }
  if (device != "disk") return false;
  if (bus.empty()) return target.starts_with("vd") || target.starts_with("sd");
  return bus == "virtio" || bus == "sata" || bus == "scsi";
}

bool isBridgeNic(const pugi::xml_node& nic) { return std::string_view(nic.attribute("type").value()) == "bridge"; }

DomainDisk readDisk(const pugi::xml_node& d) {
  DomainDisk disk;
  disk.type = d.attribute("type").as_string("file");
  disk.device = d.attribute("device").as_string("disk");
  pugi::xml_node src = d.child("source");
  if (disk.type == "volume") {
    disk.pool = src.attribute("pool").value();
    disk.volume = src.attribute("volume").value();
  } else if (disk.type == "block") {
    disk.source = src.attribute("dev").value();
  } else if (disk.type == "file") {
    disk.source = src.attribute("file").value();
  } else {
    disk.source = src.attribute("name").value();
  }
  disk.driverType = d.child("driver").attribute("type").value();
  disk.target = d.child("target").attribute("dev").value();
  disk.bus = d.child("target").attribute("bus").value();
  if (disk.bus.empty()) {
    // libvirt derives the bus from the target's prefix when it is not given.
    if (disk.target.starts_with("vd")) disk.bus = "virtio";
    else if (disk.target.starts_with("sd")) disk.bus = "sata";
    else if (disk.target.starts_with("hd")) disk.bus = "ide";
  }
  disk.readOnly = d.child("readonly") || disk.device == "cdrom";  // libvirt's cdroms are read-only
  return disk;
}

DomainNic readNic(const pugi::xml_node& n) {
  DomainNic nic;
  nic.bridge = n.child("source").attribute("bridge").value();
  nic.mac = lower(n.child("mac").attribute("address").value());
  nic.model = n.child("model").attribute("type").value();
  return nic;
}

/// <metadata>'s child in hostform's namespace, whatever prefix it was given.
pugi::xml_node findMetadata(const pugi::xml_node& domain) {
  for (pugi::xml_node child : domain.child("metadata").children()) {
    for (pugi::xml_attribute a : child.attributes()) {
      std::string_view name = a.name();
      if ((name == "xmlns" || name.starts_with("xmlns:")) && std::string_view(a.value()) == kMetadataUri) return child;
    }
  }
  return {};
}

std::string localName(std::string_view name) {
  auto colon = name.find(':');
  return std::string(colon == std::string_view::npos ? name : name.substr(colon + 1));
}

DomainMetadata readMetadata(const pugi::xml_node& domain) {
  DomainMetadata meta;
  pugi::xml_node root = findMetadata(domain);
  for (pugi::xml_node child : root.children()) {
    const std::string name = localName(child.name());
    const std::string text = child.text().get();
    if (name == "owner") {
      meta.owner = text;
    } else if (name == "shutdownTimeout") {
      if (auto d = parseDuration(text)) meta.shutdownTimeout = *d;
    } else if (name == "restartPolicy") {
      RestartPolicy p{};
      if (fromString(text, p)) meta.restartPolicy = p;
    } else if (name == "seed") {
      SeedRecord seed;
      seed.pool = child.attribute("pool").value();
      seed.volume = child.attribute("volume").value();
      seed.digest = child.attribute("digest").value();
      seed.instanceId = child.attribute("instance-id").value();
      seed.userData = child.attribute("user-data").value();
      seed.metaData = child.attribute("meta-data").value();
      seed.networkConfig = child.attribute("network-config").value();
      if (!seed.pool.empty() && !seed.volume.empty()) meta.seed = std::move(seed);
    }
  }
  return meta;
}

bool isSeedDisk(const pugi::xml_node& d, const std::optional<SeedRecord>& seed) {
  if (!seed) return false;
  pugi::xml_node src = d.child("source");
  return std::string_view(d.attribute("type").value()) == "volume" && seed->pool == src.attribute("pool").value() &&
         seed->volume == src.attribute("volume").value();
}

void writeDisk(pugi::xml_node d, const DomainDisk& disk) {
  d.append_attribute("type") = disk.type.c_str();
  d.append_attribute("device") = disk.device.empty() ? "disk" : disk.device.c_str();
  pugi::xml_node driver = d.append_child("driver");
  driver.append_attribute("name") = "qemu";
  driver.append_attribute("type") = disk.driverType.empty() ? "raw" : disk.driverType.c_str();
  pugi::xml_node src = d.append_child("source");
  if (disk.type == "volume") {
    src.append_attribute("pool") = disk.pool.c_str();
    src.append_attribute("volume") = disk.volume.c_str();
  } else if (disk.type == "block") {
    src.append_attribute("dev") = disk.source.c_str();
  } else {
    src.append_attribute("file") = disk.source.c_str();
  }
  pugi::xml_node target = d.append_child("target");
  target.append_attribute("dev") = disk.target.c_str();
  target.append_attribute("bus") = disk.bus.c_str();
  if (disk.readOnly) d.append_child("readonly");
}

void writeNic(pugi::xml_node n, const DomainNic& nic) {
  n.append_attribute("type") = "bridge";
  n.append_child("mac").append_attribute("address") = nic.mac.c_str();
  n.append_child("source").append_attribute("bridge") = nic.bridge.c_str();
  n.append_child("model").append_attribute("type") = nic.model.empty() ? "virtio" : nic.model.c_str();
}

void writeMetadata(pugi::xml_node parent, const DomainMetadata& meta) {
  const std::string prefix(kMetadataPrefix);
  pugi::xml_node root = parent.append_child((prefix + ":domain").c_str());
  root.append_attribute(("xmlns:" + prefix).c_str()) = std::string(kMetadataUri).c_str();
  root.append_child((prefix + ":owner").c_str()).text() = meta.owner.c_str();
  if (meta.shutdownTimeout)
    root.append_child((prefix + ":shutdownTimeout").c_str()).text() = formatDuration(*meta.shutdownTimeout).c_str();
  if (meta.restartPolicy)
    root.append_child((prefix + ":restartPolicy").c_str()).text() = std::string(toString(*meta.restartPolicy)).c_str();
  if (meta.seed) {
    pugi::xml_node seed = root.append_child((prefix + ":seed").c_str());
    seed.append_attribute("pool") = meta.seed->pool.c_str();
    seed.append_attribute("volume") = meta.seed->volume.c_str();
    seed.append_attribute("digest") = meta.seed->digest.c_str();
    seed.append_attribute("instance-id") = meta.seed->instanceId.c_str();
    seed.append_attribute("user-data") = meta.seed->userData.c_str();
    if (!meta.seed->metaData.empty()) seed.append_attribute("meta-data") = meta.seed->metaData.c_str();
    if (!meta.seed->networkConfig.empty())
      seed.append_attribute("network-config") = meta.seed->networkConfig.c_str();
  }
}

/// A serial console on a pty, logged to `log`, as the console; and the QEMU
/// guest agent's channel (libvirt chooses the socket's path).
void addConsole(pugi::xml_node devices, const std::string& log) {
  pugi::xml_node serial = devices.append_child("serial");
  serial.append_attribute("type") = "pty";
  if (!log.empty()) {
    pugi::xml_node l = serial.append_child("log");
    l.append_attribute("file") = log.c_str();
    l.append_attribute("append") = "on";
  }
  serial.append_child("target").append_attribute("port") = 0;
  pugi::xml_node console = devices.append_child("console");
  console.append_attribute("type") = "pty";
  pugi::xml_node ct = console.append_child("target");
  ct.append_attribute("type") = "serial";
  ct.append_attribute("port") = 0;
  pugi::xml_node channel = devices.append_child("channel");
  channel.append_attribute("type") = "unix";
  pugi::xml_node target = channel.append_child("target");
  target.append_attribute("type") = "virtio";
  target.append_attribute("name") = "org.qemu.guest_agent.0";
}

pugi::xml_node ensureChild(pugi::xml_node parent, const char* name) {
  pugi::xml_node n = parent.child(name);
  return n ? n : parent.append_child(name);
}

/// Spare PCIe root ports (q35 only), so devices can be hot-plugged later.
void addRootPorts(pugi::xml_node devices) {
  pugi::xml_node root = devices.append_child("controller");
  root.append_attribute("type") = "pci";
  root.append_attribute("index") = 0;
  root.append_attribute("model") = "pcie-root";
  for (int i = 0; i < kSpareRootPorts; ++i) {
    pugi::xml_node port = devices.append_child("controller");
    port.append_attribute("type") = "pci";
    port.append_attribute("model") = "pcie-root-port";
  }
}

/// PCI topology and device addresses belong to a machine type: a domain moved
/// from q35 to pc (or back) gets them anew from libvirt.
void rebusForMachine(pugi::xml_node devices, Machine machine) {
  for (pugi::xml_node dev = devices.first_child(); dev;) {
    pugi::xml_node next = dev.next_sibling();
    const std::string_view name = dev.name();
    const std::string_view type = dev.attribute("type").value();
    if (name == "controller" && (type == "pci" || type == "sata" || type == "ide")) devices.remove_child(dev);
    else dev.remove_child("address");
    dev = next;
  }
  if (machine == Machine::Q35) addRootPorts(devices);
}

void setKiB(pugi::xml_node domain, const char* name, Bytes bytes) {
  pugi::xml_node n = ensureChild(domain, name);
  n.remove_attribute("unit");
  n.append_attribute("unit") = "KiB";
  n.text() = std::to_string(bytes / KiB).c_str();
}

/// Sets the parts of `domain` that `want.parts` names to `want`, leaving every
/// other part (and everything unmodelled) untouched.
void patch(pugi::xml_node domain, const DomainWrite& want) {
  const VirtualMachineSpec& spec = *want.spec;
  const DomainParts& parts = want.parts;

  // The seed the definition has now, before its record is replaced: its
  // cdrom is never one of the modelled disks.
  const std::optional<SeedRecord> oldSeed = readMetadata(domain).seed;
  auto isSeed = [&](const pugi::xml_node& d) { return isSeedDisk(d, oldSeed) || isSeedDisk(d, want.meta.seed); };

  // <metadata>: hostform's element replaced, others' kept.
  pugi::xml_node metadata = ensureChild(domain, "metadata");
  if (pugi::xml_node old = findMetadata(domain)) metadata.remove_child(old);
  writeMetadata(metadata, want.meta);

  if (parts.accelerator) {
    domain.remove_attribute("type");
    domain.prepend_attribute("type") = std::string(virtTypeOf(spec.accelerator)).c_str();
  }
  if (parts.memory) {
    setKiB(domain, "memory", spec.maxMemory);
    setKiB(domain, "currentMemory", spec.memory);
  }
  if (parts.vcpus) {
    pugi::xml_node vcpu = ensureChild(domain, "vcpu");
    vcpu.text() = std::to_string(spec.maxVcpus).c_str();
    vcpu.remove_attribute("current");
    if (spec.vcpus < spec.maxVcpus) vcpu.append_attribute("current") = spec.vcpus;
    // Per-vCPU hot-plug state describes the old counts; libvirt rebuilds it.
    domain.remove_child("vcpus");
  }

  pugi::xml_node os = ensureChild(domain, "os");
  pugi::xml_node type = ensureChild(os, "type");
  if (!type.text()) type.text() = "hvm";
  if (parts.machine) {
    const bool hadMachine = !std::string_view(type.attribute("machine").value()).empty();
    type.remove_attribute("machine");
    type.append_attribute("machine") = spec.machine == Machine::Q35 ? "q35" : "pc";
    if (hadMachine) rebusForMachine(ensureChild(domain, "devices"), spec.machine);
  }
  if (!type.attribute("arch")) type.append_attribute("arch") = "x86_64";

  if (parts.kernel) {
    os.remove_child("kernel");
    os.remove_child("initrd");
    os.remove_child("cmdline");
    if (!want.kernel.kernel.empty()) {
      os.append_child("kernel").text() = want.kernel.kernel.c_str();
      if (!want.kernel.initrd.empty()) os.append_child("initrd").text() = want.kernel.initrd.c_str();
      if (!want.kernel.cmdline.empty()) os.append_child("cmdline").text() = want.kernel.cmdline.c_str();
    }
  }

  if (parts.firmware) {
    os.remove_attribute("firmware");
    if (spec.firmware == Firmware::Uefi) {
      os.append_attribute("firmware") = "efi";
    } else {
      os.remove_child("loader");
      os.remove_child("nvram");
    }
  }

  if (parts.cpuMode) {
    domain.remove_child("cpu");
    if (spec.cpuMode != CpuMode::Default) {
      pugi::xml_node cpu = domain.append_child("cpu");
      cpu.append_attribute("mode") = std::string(toString(spec.cpuMode)).c_str();
    }
  }

  pugi::xml_node features = ensureChild(domain, "features");
  ensureChild(features, "acpi");  // ACPI shutdown needs it

  pugi::xml_node devices = ensureChild(domain, "devices");
  if (parts.boot) {
    while (os.remove_child("boot")) {
    }
    // os/boot and per-device <boot order> exclude each other.
    for (pugi::xml_node dev : devices.children()) dev.remove_child("boot");
    for (BootDevice b : spec.boot) os.append_child("boot").append_attribute("dev") = bootName(b);
  }

  if (parts.graphics) {
    for (pugi::xml_node g = devices.child("graphics"); g;) {
      pugi::xml_node next = g.next_sibling("graphics");
      if (std::string_view(g.attribute("type").value()) == "vnc") devices.remove_child(g);
      g = next;
    }
    if (spec.graphics == Graphics::Vnc) {
      pugi::xml_node g = devices.append_child("graphics");
      g.append_attribute("type") = "vnc";
      g.append_attribute("port") = "-1";
      g.append_attribute("autoport") = "yes";
      g.append_attribute("listen") = "127.0.0.1";
      pugi::xml_node listen = g.append_child("listen");
      listen.append_attribute("type") = "address";
      listen.append_attribute("address") = "127.0.0.1";
    }
  }

  if (parts.disks) {
    // Disks by target: unchanged nodes stay as they are (with their addresses).
    for (pugi::xml_node d = devices.child("disk"); d;) {
      pugi::xml_node next = d.next_sibling("disk");
      if (isManagedDisk(d) && !isSeed(d)) {
        DomainDisk current = readDisk(d);
        auto it = std::ranges::find(want.disks, current.target, &DomainDisk::target);
        if (it == want.disks.end() || !(*it == current)) devices.remove_child(d);
      }
      d = next;
    }
    for (const DomainDisk& disk : want.disks) {
      bool present = false;
      for (pugi::xml_node d : devices.children("disk"))
        if (isManagedDisk(d) && !isSeed(d) && readDisk(d) == disk) present = true;
      if (!present) writeDisk(devices.append_child("disk"), disk);
    }
  }

  if (parts.seed) {
    for (pugi::xml_node d = devices.child("disk"); d;) {
      pugi::xml_node next = d.next_sibling("disk");
      if (isSeed(d) && (!want.seedDisk || !(readDisk(d) == *want.seedDisk))) devices.remove_child(d);
      d = next;
    }
    if (want.seedDisk) {
      bool present = false;
      for (pugi::xml_node d : devices.children("disk"))
        if (isSeed(d) && readDisk(d) == *want.seedDisk) present = true;
      if (!present) writeDisk(devices.append_child("disk"), *want.seedDisk);
    }
  }

  if (parts.console) addConsole(devices, want.consoleLog);

  if (parts.nics) {
    // Bridge NICs by MAC: a NIC keeps its node (and PCI address) when its
    // bridge or model changes.
    for (pugi::xml_node n = devices.child("interface"); n;) {
      pugi::xml_node next = n.next_sibling("interface");
      if (isBridgeNic(n)) {
        DomainNic current = readNic(n);
        auto it = std::ranges::find(want.nics, current.mac, &DomainNic::mac);
        if (it == want.nics.end()) {
          devices.remove_child(n);
        } else {
          if (it->bridge != current.bridge) {
            pugi::xml_node source = ensureChild(n, "source");
            source.remove_attribute("bridge");
            source.append_attribute("bridge") = it->bridge.c_str();
          }
          if (it->model != current.model) {
            pugi::xml_node model = ensureChild(n, "model");
            model.remove_attribute("type");
            model.append_attribute("type") = it->model.empty() ? "virtio" : it->model.c_str();
          }
        }
      }
      n = next;
    }
    for (const DomainNic& nic : want.nics) {
      bool present = false;
      for (pugi::xml_node n : devices.children("interface"))
        if (isBridgeNic(n) && readNic(n).mac == nic.mac) present = true;
      if (!present) writeNic(devices.append_child("interface"), nic);
    }
  }
}

Result<pugi::xml_document> load(std::string_view xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) return fail(std::string("libvirt returned XML that does not parse: ") + parsed.description());
  return doc;
}

}  // namespace

Machine machineFamily(std::string_view machine) {
  return machine.find("q35") != std::string_view::npos ? Machine::Q35 : Machine::Pc;
}

Result<DomainConfig> parseDomainXml(std::string_view xml) {
  auto doc = load(xml);
  if (!doc) return hostform::unexpected(doc.error());
  pugi::xml_node domain = doc->child("domain");
  if (!domain) return fail("domain XML has no <domain> element");
  DomainConfig c;
  c.name = domain.child_value("name");
  c.uuid = domain.child_value("uuid");

  pugi::xml_node vcpu = domain.child("vcpu");
  c.maxVcpus = vcpu ? vcpu.text().as_uint(1) : 1;
  c.vcpus = vcpu.attribute("current") ? vcpu.attribute("current").as_uint(c.maxVcpus) : c.maxVcpus;

  pugi::xml_node memory = domain.child("memory");
  c.maxMemory = sizeIn(memory.text().get(), memory.attribute("unit").as_string("KiB"));
  pugi::xml_node current = domain.child("currentMemory");
  c.memory = current ? sizeIn(current.text().get(), current.attribute("unit").as_string("KiB")) : c.maxMemory;

  pugi::xml_node os = domain.child("os");
  c.machine = os.child("type").attribute("machine").value();
  const std::string_view fw = os.attribute("firmware").value();
  const std::string_view loader = os.child("loader").attribute("type").value();
  c.firmware = (fw == "efi" || loader == "pflash") ? Firmware::Uefi : Firmware::Bios;

  c.accelerator = std::string_view(domain.attribute("type").value()) == "qemu" ? Accelerator::Tcg : Accelerator::Kvm;
  const std::string_view cpuMode = domain.child("cpu").attribute("mode").value();
  c.cpuMode = cpuMode == "host-model"         ? CpuMode::HostModel
              : cpuMode == "host-passthrough" ? CpuMode::HostPassthrough
                                              : CpuMode::Default;

  std::vector<BootDevice> boot;
  for (pugi::xml_node b : os.children("boot")) {
    BootDevice dev{};
    if (fromString(b.attribute("dev").value(), dev)) boot.push_back(dev);
  }
  if (!boot.empty()) c.boot = std::move(boot);

  c.kernel.kernel = os.child_value("kernel");
  c.kernel.initrd = os.child_value("initrd");
  c.kernel.cmdline = os.child_value("cmdline");

  c.meta = readMetadata(domain);
  pugi::xml_node devices = domain.child("devices");
  for (pugi::xml_node g : devices.children("graphics"))
    if (std::string_view(g.attribute("type").value()) == "vnc") c.graphics = Graphics::Vnc;
  for (pugi::xml_node d : devices.children("disk")) {
    if (isSeedDisk(d, c.meta.seed)) c.seedDisk = readDisk(d);
    else if (isManagedDisk(d)) c.disks.push_back(readDisk(d));
    else if (const char* t = d.child("target").attribute("dev").value(); *t) c.otherTargets.emplace_back(t);
  }
  for (pugi::xml_node n : devices.children("interface"))
    if (isBridgeNic(n)) c.nics.push_back(readNic(n));
  return c;
}

DomainParts DomainParts::all() {
  return {true, true, true, true, true, true, true, true, true, true, true, true, true};
}

bool DomainParts::any() const {
  return accelerator || memory || vcpus || machine || firmware || cpuMode || boot || graphics || disks || nics ||
         kernel || seed || console;
}

std::string newDomainXml(const DomainWrite& want) {
  pugi::xml_document doc;
  pugi::xml_node domain = doc.append_child("domain");
  domain.append_attribute("type") = std::string(virtTypeOf(want.spec->accelerator)).c_str();
  domain.append_child("name").text() = want.name.c_str();
  pugi::xml_node os = domain.append_child("os");
  os.append_child("type").text() = "hvm";
  domain.append_child("features").append_child("apic");
  domain.append_child("clock").append_attribute("offset") = "utc";
  domain.append_child("on_poweroff").text() = "destroy";
  domain.append_child("on_reboot").text() = "restart";
  domain.append_child("on_crash").text() = "destroy";
  pugi::xml_node devices = domain.append_child("devices");
  if (want.spec->machine == Machine::Q35) addRootPorts(devices);
  devices.append_child("memballoon").append_attribute("model") = "virtio";
  DomainWrite all = want;
  all.parts = DomainParts::all();
  patch(domain, all);
  return serialize(doc);
}

Result<std::string> patchDomainXml(std::string_view current, const DomainWrite& want) {
  auto doc = load(current);
  if (!doc) return hostform::unexpected(doc.error());
  pugi::xml_node domain = doc->child("domain");
  if (!domain) return fail("domain XML has no <domain> element");
  patch(domain, want);
  return serialize(*doc);
}

std::string diskDeviceXml(const DomainDisk& disk) {
  pugi::xml_document doc;
  writeDisk(doc.append_child("disk"), disk);
  return serialize(doc);
}

std::string nicDeviceXml(const DomainNic& nic) {
  pugi::xml_document doc;
  writeNic(doc.append_child("interface"), nic);
  return serialize(doc);
}

}  // namespace hostform::kvm
