#include "reconciler/kinds/logical_volume.h"

namespace hostform {
namespace {

constexpr EnumNames<LvType, 3> kLvType{{{LvType::Linear, "linear"}, {LvType::ThinPool, "thin-pool"}, {LvType::Thin, "thin"}}};

}  // namespace

HOSTFORM_DEFINE_ENUM_NAMES(LvType, kLvType)

LogicalVolumeSpec LogicalVolumeKind::read(SpecReader& in) const {
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

void LogicalVolumeKind::write(const LogicalVolumeSpec& s, SpecWriter& w) const {
  const LogicalVolumeSpec d;
  w.put("volumeGroup", s.volumeGroup);
  w.word("type", s.type, d.type);
  w.size("size", s.size);
  w.opt("thinPool", s.thinPool);
}

void LogicalVolumeKind::list(const LogicalVolumeSpec& s, FieldList& f) const {
  f.add("volumeGroup", s.volumeGroup);
  f.add("type", std::string(toString(s.type)));
  f.add("size", formatSize(s.size));
  f.add("thinPool", s.thinPool);
}

void LogicalVolumeKind::refer(const LogicalVolumeSpec& s, std::vector<Reference>& out) const {
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

HOSTFORM_REGISTER_KIND(kLogicalVolumeKind);

}  // namespace hostform
