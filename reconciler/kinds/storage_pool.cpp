#include "reconciler/kinds/storage_pool.h"

#include "reconciler/kinds/volume_group.h"

namespace hostform {

static StoragePoolSpec read(SpecReader& in) {
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

static void write(const StoragePoolSpec& s, SpecWriter& w) {
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

static void list(const StoragePoolSpec& s, FieldList& f) {
  f.add("type", std::string(toString(s.type)));
  f.add("target", s.target);
  f.add("source.volumeGroup", s.source.volumeGroup);
  f.add("source.host", s.source.host);
  f.add("source.path", s.source.path);
  f.add("autostart", s.autostart);
  f.add("active", s.active);
}

static void refer(const StoragePoolSpec& s, std::vector<Reference>& out) {
  if (s.type == PoolType::Logical && s.source.volumeGroup)
    out.push_back({ResourceId{kinds::VolumeGroup, "", *s.source.volumeGroup}, "spec.source.volumeGroup"});
}

// The words of its enums in manifests.
constexpr EnumNames<PoolType, 3> kPoolType{
    {{PoolType::Dir, "dir"}, {PoolType::Logical, "logical"}, {PoolType::Netfs, "netfs"}}};

HOSTFORM_DEFINE_ENUM_NAMES(PoolType, kPoolType)

HOSTFORM_KIND(kStoragePoolKind, StoragePoolSpec, "StoragePool", 40, "storage-pool.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer});

}  // namespace hostform
