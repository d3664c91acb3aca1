#include "reconciler/kinds/logical_volume.h"

namespace hostform {

static LogicalVolumeSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  LogicalVolumeSpec lv;
  lv.volumeGroup = in.text(s["volumeGroup"]);
  lv.type = in.choice(s["type"], lv.type);
  lv.size = in.positiveSize(s["size"], "spec.size");
  lv.thinPool = in.optText(s["thinPool"]);
  lv.active = in.flag(s["active"], lv.active);
  if (const yaml::Node& fs = s["filesystem"]) {
    FilesystemSpec f;
    f.type = in.choice(fs["type"], f.type);
    f.resize = in.flag(fs["resize"], f.resize);
    lv.filesystem = f;
  }
  if (const yaml::Node& a = s["autoExtend"])
    lv.autoExtend = AutoExtendSpec{in.number(a["threshold"]), in.number(a["percent"])};
  checkLvmName(in, s["volumeGroup"], lv.volumeGroup, "spec.volumeGroup");
  if (lv.thinPool) checkLvmName(in, s["thinPool"], *lv.thinPool, "spec.thinPool");
  checkLvmName(in, in.nameNode(), in.name(), "metadata.name");
  return lv;
}

static void write(const LogicalVolumeSpec& s, SpecWriter& w) {
  const LogicalVolumeSpec d;
  w.put("volumeGroup", s.volumeGroup);
  w.word("type", s.type, d.type);
  w.size("size", s.size);
  w.opt("thinPool", s.thinPool);
  w.changed("active", s.active, d.active);
  if (s.filesystem) {
    w.begin("filesystem");
    w.put("type", std::string(toString(s.filesystem->type)));
    w.changed("resize", s.filesystem->resize, FilesystemSpec{}.resize);
    w.end();
  }
  if (s.autoExtend) {
    w.begin("autoExtend");
    w.put("threshold", s.autoExtend->threshold);
    w.put("percent", s.autoExtend->percent);
    w.end();
  }
}

static void list(const LogicalVolumeSpec& s, FieldList& f) {
  f.add("volumeGroup", s.volumeGroup);
  f.add("type", std::string(toString(s.type)));
  f.add("size", formatSize(s.size));
  f.add("thinPool", s.thinPool);
  f.add("active", s.active);
  if (s.filesystem) {
    f.add("filesystem.type", std::string(toString(s.filesystem->type)));
    f.add("filesystem.resize", s.filesystem->resize);
  }
  if (s.autoExtend) {
    f.add("autoExtend.threshold", std::to_string(s.autoExtend->threshold) + "%");
    f.add("autoExtend.percent", std::to_string(s.autoExtend->percent) + "%");
  }
}

static void refer(const LogicalVolumeSpec& s, std::vector<Reference>& out) {
  out.push_back({ResourceId{kinds::VolumeGroup, "", s.volumeGroup}, "spec.volumeGroup"});
  if (s.thinPool)
    out.push_back({ResourceId{kinds::LogicalVolume, s.volumeGroup, *s.thinPool}, "spec.thinPool",
                   [](const Resource& target) -> std::optional<std::string> {
                     const LvType type = target.as<LogicalVolumeSpec>().type;
                     if (type == LvType::ThinPool) return std::nullopt;
                     return "references " + target.id.str() + ", which is a " + std::string(toString(type)) +
                            " volume; expected a thin-pool";
                   }});
}

/// Its identity is scoped by its volumeGroup.
static std::string scope(const LogicalVolumeSpec& s) { return s.volumeGroup; }

std::string showFilesystem(const std::optional<FilesystemSpec>& fs) {
  if (!fs) return "(none)";
  return std::string(toString(fs->type)) + (fs->resize ? "" : " (resize false)");
}

std::string showAutoExtend(const AutoExtendSpec& a) {
  return "threshold " + std::to_string(a.threshold) + "%, percent " + std::to_string(a.percent) + "%";
}

// The words of its enums in manifests.
constexpr EnumNames<LvType, 3> kLvType{
    {{LvType::Linear, "linear"}, {LvType::ThinPool, "thin-pool"}, {LvType::Thin, "thin"}}};
constexpr EnumNames<FsType, 2> kFsType{{{FsType::Ext4, "ext4"}, {FsType::Xfs, "xfs"}}};

HOSTFORM_DEFINE_ENUM_NAMES(LvType, kLvType)
HOSTFORM_DEFINE_ENUM_NAMES(FsType, kFsType)

HOSTFORM_KIND(kLogicalVolumeKind, LogicalVolumeSpec, "LogicalVolume", 30, "logical-volume.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer, .scope = scope});

}  // namespace hostform
