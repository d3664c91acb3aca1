#include "reconciler/kinds/storage_pool.h"

#include "reconciler/kinds/volume_group.h"

namespace hostform {
namespace {

constexpr EnumNames<PoolType, 3> kPoolType{{{PoolType::Dir, "dir"}, {PoolType::Logical, "logical"}, {PoolType::Netfs, "netfs"}}};

}  // namespace

HOSTFORM_DEFINE_ENUM_NAMES(PoolType, kPoolType)

StoragePoolSpec StoragePoolKind::read(SpecReader& in) const {
  const yaml::Node& s = in.spec();
  StoragePoolSpec p;
  p.type = in.choice(s["type"], p.type);
  p.target = in.optText(s["target"]);
  in.checkPath(s["target"], "spec.target");
  if (const yaml::Node src = s["source"]) {
    p.source.volumeGroup = in.optText(src["volumeGroup"]);
    p.source.host = in.optText(src["host"]);
    p.source.path = in.optText(src["path"]);
  }
  p.autostart = in.flag(s["autostart"], p.autostart);
  p.active = in.flag(s["active"], p.active);
  return p;
}

void StoragePoolKind::write(const StoragePoolSpec& s, SpecWriter& w) const {
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

void StoragePoolKind::list(const StoragePoolSpec& s, FieldList& f) const {
  f.add("type", std::string(toString(s.type)));
  f.add("target", s.target);
  f.add("source.volumeGroup", s.source.volumeGroup);
  f.add("source.host", s.source.host);
  f.add("source.path", s.source.path);
  f.add("autostart", s.autostart);
  f.add("active", s.active);
}

void StoragePoolKind::refer(const StoragePoolSpec& s, std::vector<Reference>& out) const {
  if (s.type == PoolType::Logical && s.source.volumeGroup)
    out.push_back({ResourceId{kinds::VolumeGroup, "", *s.source.volumeGroup}, "spec.source.volumeGroup"});
}

HOSTFORM_REGISTER_KIND(kStoragePoolKind);

}  // namespace hostform
