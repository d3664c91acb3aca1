#include "reconciler/model.h"

#include <array>
#include <utility>

namespace hostform {
namespace {

template <class E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Kind, 6> kKindNames{{{Kind::Bridge, "Bridge"},
                                      {Kind::VolumeGroup, "VolumeGroup"},
                                      {Kind::LogicalVolume, "LogicalVolume"},
                                      {Kind::StoragePool, "StoragePool"},
                                      {Kind::Volume, "Volume"},
                                      {Kind::VirtualMachine, "VirtualMachine"}}};

// One table per enum: the YAML spelling is the only spelling.
constexpr Names<AdminState, 2> kAdminState{{{AdminState::Up, "up"}, {AdminState::Down, "down"}}};
constexpr Names<LvType, 3> kLvType{{{LvType::Linear, "linear"}, {LvType::ThinPool, "thin-pool"}, {LvType::Thin, "thin"}}};
constexpr Names<PoolType, 3> kPoolType{{{PoolType::Dir, "dir"}, {PoolType::Logical, "logical"}, {PoolType::Netfs, "netfs"}}};
constexpr Names<VolumeFormat, 2> kVolumeFormat{{{VolumeFormat::Qcow2, "qcow2"}, {VolumeFormat::Raw, "raw"}}};
constexpr Names<Allocation, 2> kAllocation{{{Allocation::Thin, "thin"}, {Allocation::Full, "full"}}};
constexpr Names<Machine, 2> kMachine{{{Machine::Pc, "pc"}, {Machine::Q35, "q35"}}};
constexpr Names<Firmware, 2> kFirmware{{{Firmware::Bios, "bios"}, {Firmware::Uefi, "uefi"}}};
constexpr Names<CpuMode, 3> kCpuMode{
    {{CpuMode::Default, "default"}, {CpuMode::HostModel, "host-model"}, {CpuMode::HostPassthrough, "host-passthrough"}}};
constexpr Names<Accelerator, 2> kAccelerator{{{Accelerator::Kvm, "kvm"}, {Accelerator::Tcg, "tcg"}}};
constexpr Names<VmState, 2> kVmState{{{VmState::Running, "running"}, {VmState::Stopped, "stopped"}}};
constexpr Names<BootDevice, 3> kBootDevice{
    {{BootDevice::Hd, "hd"}, {BootDevice::Network, "network"}, {BootDevice::Cdrom, "cdrom"}}};
constexpr Names<Graphics, 2> kGraphics{{{Graphics::None, "none"}, {Graphics::Vnc, "vnc"}}};
constexpr Names<RestartPolicy, 2> kRestartPolicy{{{RestartPolicy::Never, "never"}, {RestartPolicy::Auto, "auto"}}};
constexpr Names<DiskBus, 3> kDiskBus{{{DiskBus::Virtio, "virtio"}, {DiskBus::Sata, "sata"}, {DiskBus::Scsi, "scsi"}}};

template <class E, std::size_t N>
std::string_view nameIn(const Names<E, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
bool parseIn(const Names<E, N>& table, std::string_view text, E& out) {
  for (const auto& [v, name] : table)
    if (name == text) {
      out = v;
      return true;
    }
  return false;
}

std::string str(bool b) { return b ? "true" : "false"; }

template <class T, class F>
std::string listOf(const std::vector<T>& items, F&& show) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += show(items[i]);
  }
  return out + "]";
}

std::string identity(const std::string& s) { return s; }

/// Collects fields below one prefix, leaving unset optionals out.
class FieldList {
 public:
  explicit FieldList(std::vector<Field>& out) : out_(out) {}
  void add(std::string path, std::string value) { out_.push_back({std::move(path), std::move(value)}); }
  void add(std::string path, const std::optional<std::string>& value) {
    if (value) add(std::move(path), *value);
  }

 private:
  std::vector<Field>& out_;
};

void bridgeFields(const BridgeSpec& s, FieldList& f) {
  f.add("state", std::string(toString(s.state)));
  if (s.mtu) f.add("mtu", std::to_string(*s.mtu));
  f.add("macAddress", s.macAddress);
  f.add("stp.enabled", str(s.stp.enabled));
  f.add("stp.priority", std::to_string(s.stp.priority));
  f.add("stp.forwardDelay", formatDuration(s.stp.forwardDelay));
  f.add("stp.helloTime", formatDuration(s.stp.helloTime));
  f.add("stp.maxAge", formatDuration(s.stp.maxAge));
  f.add("ports", listOf(s.ports, identity));
  f.add("addresses", listOf(s.addresses, identity));
}

void volumeGroupFields(const VolumeGroupSpec& s, FieldList& f) {
  f.add("physicalVolumes", listOf(s.physicalVolumes, identity));
  f.add("extentSize", formatSize(s.extentSize));
}

void logicalVolumeFields(const LogicalVolumeSpec& s, FieldList& f) {
  f.add("volumeGroup", s.volumeGroup);
  f.add("type", std::string(toString(s.type)));
  f.add("size", formatSize(s.size));
  f.add("thinPool", s.thinPool);
}

void storagePoolFields(const StoragePoolSpec& s, FieldList& f) {
  f.add("type", std::string(toString(s.type)));
  f.add("target", s.target);
  f.add("source.volumeGroup", s.source.volumeGroup);
  f.add("source.host", s.source.host);
  f.add("source.path", s.source.path);
  f.add("autostart", str(s.autostart));
  f.add("active", str(s.active));
}

void volumeFields(const VolumeSpec& s, FieldList& f) {
  f.add("pool", s.pool);
  f.add("capacity", formatSize(s.capacity));
  f.add("format", std::string(toString(s.format)));
  f.add("allocation", std::string(toString(s.allocation)));
  if (s.backingVolume) f.add("backingVolume", s.backingVolume->pool + "/" + s.backingVolume->name);
}

std::string diskSource(const DiskSpec& d) {
  if (auto* v = std::get_if<VolumeRef>(&d.source)) return "volume " + v->pool + "/" + v->name;
  if (auto* lv = std::get_if<LogicalVolumeRef>(&d.source)) return "logicalVolume " + lv->volumeGroup + "/" + lv->name;
  return "path " + std::get<std::string>(d.source);
}

void virtualMachineFields(const VirtualMachineSpec& s, FieldList& f) {
  f.add("vcpus", std::to_string(s.vcpus));
  f.add("maxVcpus", std::to_string(s.maxVcpus));
  f.add("memory", formatSize(s.memory));
  f.add("maxMemory", formatSize(s.maxMemory));
  f.add("machine", std::string(toString(s.machine)));
  f.add("firmware", std::string(toString(s.firmware)));
  f.add("cpuMode", std::string(toString(s.cpuMode)));
  f.add("accelerator", std::string(toString(s.accelerator)));
  f.add("state", std::string(toString(s.state)));
  f.add("autostart", str(s.autostart));
  f.add("shutdownTimeout", formatDuration(s.shutdownTimeout));
  for (std::size_t i = 0; i < s.disks.size(); ++i) {
    const DiskSpec& d = s.disks[i];
    const std::string p = "disks[" + std::to_string(i) + "].";
    f.add(p + "source", diskSource(d));
    f.add(p + "target", d.target);
    f.add(p + "bus", std::string(toString(d.bus)));
    f.add(p + "readOnly", str(d.readOnly));
  }
  for (std::size_t i = 0; i < s.interfaces.size(); ++i) {
    const InterfaceSpec& n = s.interfaces[i];
    const std::string p = "interfaces[" + std::to_string(i) + "].";
    f.add(p + "bridge", n.bridge);
    f.add(p + "macAddress", n.macAddress);
    f.add(p + "model", n.model);
  }
  f.add("boot", listOf(s.boot, [](BootDevice b) { return std::string(toString(b)); }));
  f.add("graphics", std::string(toString(s.graphics)));
  f.add("restartPolicy", std::string(toString(s.restartPolicy)));
}

}  // namespace

std::string_view kindName(Kind kind) { return nameIn(kKindNames, kind); }

std::optional<Kind> parseKind(std::string_view name) {
  Kind k{};
  if (parseIn(kKindNames, name, k)) return k;
  return std::nullopt;
}

std::string ResourceId::str() const {
  std::string out(kindName(kind));
  out += '/';
  if (!scope.empty()) out += scope + '/';
  return out + name;
}

#define HOSTFORM_ENUM_NAMES(E, table)                                          \
  std::string_view toString(E value) { return nameIn(table, value); }          \
  bool fromString(std::string_view text, E & out) { return parseIn(table, text, out); }

HOSTFORM_ENUM_NAMES(AdminState, kAdminState)
HOSTFORM_ENUM_NAMES(LvType, kLvType)
HOSTFORM_ENUM_NAMES(PoolType, kPoolType)
HOSTFORM_ENUM_NAMES(VolumeFormat, kVolumeFormat)
HOSTFORM_ENUM_NAMES(Allocation, kAllocation)
HOSTFORM_ENUM_NAMES(Machine, kMachine)
HOSTFORM_ENUM_NAMES(Firmware, kFirmware)
HOSTFORM_ENUM_NAMES(CpuMode, kCpuMode)
HOSTFORM_ENUM_NAMES(Accelerator, kAccelerator)
HOSTFORM_ENUM_NAMES(VmState, kVmState)
HOSTFORM_ENUM_NAMES(BootDevice, kBootDevice)
HOSTFORM_ENUM_NAMES(Graphics, kGraphics)
HOSTFORM_ENUM_NAMES(RestartPolicy, kRestartPolicy)
HOSTFORM_ENUM_NAMES(DiskBus, kDiskBus)
#undef HOSTFORM_ENUM_NAMES

ResourceId identityOf(Kind kind, const std::string& name, const Spec& spec) {
  ResourceId id{kind, {}, name};
  if (auto* lv = std::get_if<LogicalVolumeSpec>(&spec)) id.scope = lv->volumeGroup;
  if (auto* vol = std::get_if<VolumeSpec>(&spec)) id.scope = vol->pool;
  return id;
}

std::vector<Reference> references(const Resource& r) {
  std::vector<Reference> refs;
  auto add = [&](Kind kind, std::string scope, std::string name, std::string field) {
    refs.push_back({ResourceId{kind, std::move(scope), std::move(name)}, std::move(field)});
  };
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, LogicalVolumeSpec>) {
          add(Kind::VolumeGroup, "", s.volumeGroup, "spec.volumeGroup");
          if (s.thinPool) add(Kind::LogicalVolume, s.volumeGroup, *s.thinPool, "spec.thinPool");
        } else if constexpr (std::is_same_v<S, StoragePoolSpec>) {
          if (s.type == PoolType::Logical && s.source.volumeGroup)
            add(Kind::VolumeGroup, "", *s.source.volumeGroup, "spec.source.volumeGroup");
        } else if constexpr (std::is_same_v<S, VolumeSpec>) {
          add(Kind::StoragePool, "", s.pool, "spec.pool");
          if (s.backingVolume)
            add(Kind::Volume, s.backingVolume->pool, s.backingVolume->name, "spec.backingVolume");
        } else if constexpr (std::is_same_v<S, VirtualMachineSpec>) {
          for (std::size_t i = 0; i < s.disks.size(); ++i) {
            const std::string at = "spec.disks[" + std::to_string(i) + "]";
            if (auto* v = std::get_if<VolumeRef>(&s.disks[i].source))
              add(Kind::Volume, v->pool, v->name, at + ".volume");
            else if (auto* lv = std::get_if<LogicalVolumeRef>(&s.disks[i].source))
              add(Kind::LogicalVolume, lv->volumeGroup, lv->name, at + ".logicalVolume");
          }
          for (std::size_t i = 0; i < s.interfaces.size(); ++i)
            add(Kind::Bridge, "", s.interfaces[i].bridge, "spec.interfaces[" + std::to_string(i) + "].bridge");
        }
      },
      r.spec);
  return refs;
}

std::vector<Field> fields(const Resource& r) {
  std::vector<Field> out;
  FieldList f(out);
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, BridgeSpec>) bridgeFields(s, f);
        else if constexpr (std::is_same_v<S, VolumeGroupSpec>) volumeGroupFields(s, f);
        else if constexpr (std::is_same_v<S, LogicalVolumeSpec>) logicalVolumeFields(s, f);
        else if constexpr (std::is_same_v<S, StoragePoolSpec>) storagePoolFields(s, f);
        else if constexpr (std::is_same_v<S, VolumeSpec>) volumeFields(s, f);
        else virtualMachineFields(s, f);
      },
      r.spec);
  return out;
}

}  // namespace hostform
