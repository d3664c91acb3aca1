#include "reconciler/kinds/logical_volume.h"

namespace hostform {

static LogicalVolumeSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  LogicalVolumeSpec lv;
  lv.volumeGroup = in.text(s["volumeGroup"]);
  lv.type = in.choice(s["type"], lv.type);
  lv.size = in.positiveSize(s["size"], "spec.size");
  lv.thinPool = in.optText(s["thinPool"]);
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
}

static void list(const LogicalVolumeSpec& s, FieldList& f) {
  f.add("volumeGroup", s.volumeGroup);
  f.add("type", std::string(toString(s.type)));
  f.add("size", formatSize(s.size));
  f.add("thinPool", s.thinPool);
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

// The words of its enums in manifests.
constexpr EnumNames<LvType, 3> kLvType{
    {{LvType::Linear, "linear"}, {LvType::ThinPool, "thin-pool"}, {LvType::Thin, "thin"}}};

HOSTFORM_DEFINE_ENUM_NAMES(LvType, kLvType)

HOSTFORM_KIND(kLogicalVolumeKind, LogicalVolumeSpec, "LogicalVolume", 30, "logical-volume.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer, .scope = scope});

}  // namespace hostform
