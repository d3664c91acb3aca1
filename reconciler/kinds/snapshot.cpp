#include "reconciler/kinds/snapshot.h"

#include "reconciler/kinds/virtual_machine.h"

namespace hostform {

ResourceId SnapshotSource::id() const {
  if (logicalVolume) return {kinds::LogicalVolume, logicalVolume->volumeGroup, logicalVolume->name};
  if (volume) return {kinds::Volume, volume->pool, volume->name};
  return {kinds::VirtualMachine, "", virtualMachine.value_or("")};
}

std::string SnapshotSource::shown() const {
  if (logicalVolume) return "logicalVolume " + logicalVolume->volumeGroup + "/" + logicalVolume->name;
  if (volume) return "volume " + volume->pool + "/" + volume->name;
  return "virtualMachine " + virtualMachine.value_or("");
}

static SnapshotSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  SnapshotSpec snap;
  const yaml::Node src = s["source"];
  if (const yaml::Node lv = src["logicalVolume"]) {
    snap.source.logicalVolume = LogicalVolumeRef{in.text(lv["volumeGroup"]), in.text(lv["name"])};
    checkLvmName(in, lv["volumeGroup"], snap.source.logicalVolume->volumeGroup, "spec.source.logicalVolume.volumeGroup");
    checkLvmName(in, lv["name"], snap.source.logicalVolume->name, "spec.source.logicalVolume.name");
    // The snapshot is an LV of the same volume group, named after the snapshot.
    checkLvmName(in, in.nameNode(), in.name(), "metadata.name");
  }
  if (const yaml::Node v = src["volume"]) snap.source.volume = VolumeRef{in.text(v["pool"]), in.text(v["name"])};
  if (const yaml::Node vm = src["virtualMachine"]) snap.source.virtualMachine = in.text(vm);
  if (const yaml::Node size = s["size"]) snap.size = in.positiveSize(size, "spec.size");
  snap.mode = in.choice(s["mode"], snap.mode);
  // Checked here, not in the schema: the reference generator
  // (tools/reference_doc.cpp) documents conditions on const and enum only.
  if (snap.source.logicalVolume && s["mode"])
    in.error(s["mode"], "spec.mode", "field \"mode\" is not allowed for a logicalVolume source (an LVM snapshot has no mode)");
  if (!snap.source.logicalVolume && s["size"])
    in.error(s["size"], "spec.size", std::string("field \"size\" is not allowed for a ") +
                                         (snap.source.volume ? "volume" : "virtualMachine") +
                                         " source (only a thick LVM snapshot has a size)");
  return snap;
}

static void write(const SnapshotSpec& s, SpecWriter& w) {
  const SnapshotSpec d;
  w.begin("source");
  if (s.source.logicalVolume) {
    w.begin("logicalVolume");
    w.put("volumeGroup", s.source.logicalVolume->volumeGroup);
    w.put("name", s.source.logicalVolume->name);
    w.end();
  }
  if (s.source.volume) {
    w.begin("volume");
    w.put("pool", s.source.volume->pool);
    w.put("name", s.source.volume->name);
    w.end();
  }
  w.opt("virtualMachine", s.source.virtualMachine);
  w.end();
  if (s.size) w.size("size", *s.size);
  if (!s.source.logicalVolume) w.word("mode", s.mode, d.mode);
}

static void list(const SnapshotSpec& s, FieldList& f) {
  f.add("source", s.source.shown());
  if (s.size) f.add("size", formatSize(*s.size));
  if (!s.source.logicalVolume) f.add("mode", std::string(toString(s.mode)));
}

static void refer(const SnapshotSpec& s, std::vector<Reference>& out) {
  std::string field = s.source.logicalVolume ? "spec.source.logicalVolume"
                      : s.source.volume      ? "spec.source.volume"
                                             : "spec.source.virtualMachine";
  out.push_back({s.source.id(), std::move(field)});
}

constexpr EnumNames<SnapshotMode, 2> kSnapshotMode{
    {{SnapshotMode::Internal, "internal"}, {SnapshotMode::External, "external"}}};

HOSTFORM_DEFINE_ENUM_NAMES(SnapshotMode, kSnapshotMode)

HOSTFORM_KIND(kSnapshotKind, SnapshotSpec, "Snapshot", 70, "snapshot.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
