#include "reconciler/manifest_writer.h"

#include <yaml-cpp/yaml.h>

#include "reconciler/yaml_tree.h"

namespace hostform {
namespace {

/// A string that a YAML 1.2 reader would take for a number, boolean or null
/// must be quoted to stay a string ("123" as an interface name).
bool looksTyped(const std::string& s) { return yaml::resolvePlain(s) != yaml::PlainType::String; }

void scalar(YAML::Emitter& out, const std::string& s) {
  if (looksTyped(s)) out << YAML::DoubleQuoted;
  out << s.c_str();
}

/// Writes `key: value` only when the value differs from the default.
class MapWriter {
 public:
  explicit MapWriter(YAML::Emitter& out) : out_(out) {}

  template <class T>
  void put(const char* key, const T& value) {
    out_ << YAML::Key << key << YAML::Value << value;
  }
  void put(const char* key, const std::string& value) {
    out_ << YAML::Key << key << YAML::Value;
    scalar(out_, value);
  }
  template <class T>
  void changed(const char* key, const T& value, const T& fallback) {
    if (!(value == fallback)) put(key, value);
  }
  template <class E>
  void word(const char* key, E value, E fallback) {
    if (value != fallback) put(key, std::string(toString(value)));
  }
  void opt(const char* key, const std::optional<std::string>& value) {
    if (value) put(key, *value);
  }
  void size(const char* key, Bytes value) { put(key, formatSize(value)); }
  void duration(const char* key, Millis value, Millis fallback) {
    if (value != fallback) put(key, formatDuration(value));
  }
  void list(const char* key, const std::vector<std::string>& items) {
    if (items.empty()) return;
    out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const auto& i : items) scalar(out_, i);
    out_ << YAML::EndSeq;
  }
  void begin(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginMap; }
  void end() { out_ << YAML::EndMap; }

 private:
  YAML::Emitter& out_;
};

void writeSpec(MapWriter& w, YAML::Emitter& out, const BridgeSpec& s) {
  const BridgeSpec d;
  w.word("state", s.state, d.state);
  if (s.mtu) w.put("mtu", *s.mtu);
  w.opt("macAddress", s.macAddress);
  if (!(s.stp == d.stp)) {
    w.begin("stp");
    w.changed("enabled", s.stp.enabled, d.stp.enabled);
    w.changed("priority", s.stp.priority, d.stp.priority);
    w.duration("forwardDelay", s.stp.forwardDelay, d.stp.forwardDelay);
    w.duration("helloTime", s.stp.helloTime, d.stp.helloTime);
    w.duration("maxAge", s.stp.maxAge, d.stp.maxAge);
    w.end();
  }
  w.list("ports", s.ports);
  w.list("addresses", s.addresses);
  (void)out;
}

void writeSpec(MapWriter& w, YAML::Emitter&, const VolumeGroupSpec& s) {
  const VolumeGroupSpec d;
  w.list("physicalVolumes", s.physicalVolumes);
  if (s.extentSize != d.extentSize) w.size("extentSize", s.extentSize);
  w.changed("force", s.force, d.force);
}

void writeSpec(MapWriter& w, YAML::Emitter&, const LogicalVolumeSpec& s) {
  const LogicalVolumeSpec d;
  w.put("volumeGroup", s.volumeGroup);
  w.word("type", s.type, d.type);
  w.size("size", s.size);
  w.opt("thinPool", s.thinPool);
}

void writeSpec(MapWriter& w, YAML::Emitter&, const StoragePoolSpec& s) {
  const StoragePoolSpec d;
  w.put("type", std::string(toString(s.type)));
  w.opt("target", s.target);
  if (!(s.source == d.source)) {
    w.begin("source");
    w.opt("volumeGroup", s.source.volumeGroup);
    w.opt("host", s.source.host);
    w.opt("path", s.source.path);
    w.end();
  }
  w.changed("autostart", s.autostart, d.autostart);
  w.changed("active", s.active, d.active);
}

void writeSpec(MapWriter& w, YAML::Emitter&, const VolumeSpec& s) {
  const VolumeSpec d;
  w.put("pool", s.pool);
  w.size("capacity", s.capacity);
  w.word("format", s.format, d.format);
  w.word("allocation", s.allocation, d.allocation);
  if (s.backingVolume) {
    w.begin("backingVolume");
    w.put("pool", s.backingVolume->pool);
    w.put("name", s.backingVolume->name);
    w.end();
  }
}

void writeSpec(MapWriter& w, YAML::Emitter& out, const VirtualMachineSpec& s) {
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
    out << YAML::Key << "disks" << YAML::Value << YAML::BeginSeq;
    for (const DiskSpec& disk : s.disks) {
      out << YAML::BeginMap;
      MapWriter dw(out);
      if (auto* v = std::get_if<VolumeRef>(&disk.source)) {
        dw.begin("volume");
        dw.put("pool", v->pool);
        dw.put("name", v->name);
        dw.end();
      } else if (auto* lv = std::get_if<LogicalVolumeRef>(&disk.source)) {
        dw.begin("logicalVolume");
        dw.put("volumeGroup", lv->volumeGroup);
        dw.put("name", lv->name);
        dw.end();
      } else {
        dw.put("path", std::get<std::string>(disk.source));
      }
      dw.opt("target", disk.target);
      dw.word("bus", disk.bus, DiskBus::Virtio);
      dw.changed("readOnly", disk.readOnly, false);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!s.interfaces.empty()) {
    out << YAML::Key << "interfaces" << YAML::Value << YAML::BeginSeq;
    for (const InterfaceSpec& nic : s.interfaces) {
      out << YAML::BeginMap;
      MapWriter nw(out);
      nw.put("bridge", nic.bridge);
      nw.opt("macAddress", nic.macAddress);
      nw.changed("model", nic.model, std::string("virtio"));
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (s.boot != d.boot) {
    out << YAML::Key << "boot" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (BootDevice b : s.boot) out << std::string(toString(b));
    out << YAML::EndSeq;
  }
  w.word("graphics", s.graphics, d.graphics);
  w.word("restartPolicy", s.restartPolicy, d.restartPolicy);
}

}  // namespace

std::string writeManifests(const std::vector<Resource>& resources) {
  std::string text;
  for (const Resource& r : resources) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "apiVersion" << YAML::Value << "hostform/v1";
    out << YAML::Key << "kind" << YAML::Value << std::string(kindName(r.kind()));
    out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    scalar(out, r.id.name);
    if (!r.labels.empty()) {
      out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : r.labels) out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    MapWriter w(out);
    std::visit([&](const auto& spec) { writeSpec(w, out, spec); }, r.spec);
    out << YAML::EndMap << YAML::EndMap;
    text += "---\n";
    text += out.c_str();
    text += "\n";
  }
  return text;
}

}  // namespace hostform
