#include "reconciler/kinds/volume_group.h"

namespace hostform {

void checkLvmName(SpecReader& in, const yaml::Node& at, const std::string& name, const std::string& path) {
  if (name == "." || name == "..") {
    in.error(at, path, "\"" + name + "\" is not a valid LVM name");
    return;
  }
  if (name.starts_with("snapshot") || name.starts_with("pvmove")) {
    in.error(at, path, "LVM reserves names starting with \"snapshot\" or \"pvmove\", found \"" + name + "\"");
    return;
  }
  static constexpr std::string_view kReserved[] = {"_cdata", "_cmeta", "_corig", "_cpool", "_cvol",  "_imeta",
                                                   "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta",
                                                   "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig"};
  for (std::string_view r : kReserved)
    if (name.find(r) != std::string::npos) {
      in.error(at, path, "LVM reserves names containing \"" + std::string(r) + "\", found \"" + name + "\"");
      return;
    }
}

static VolumeGroupSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  VolumeGroupSpec vg;
  vg.physicalVolumes = in.texts(s["physicalVolumes"]);
  for (std::size_t i = 0; i < s["physicalVolumes"].size(); ++i)
    in.checkPath(s["physicalVolumes"][i], "spec.physicalVolumes[" + std::to_string(i) + "]");
  vg.extentSize = in.size(s["extentSize"], "spec.extentSize", vg.extentSize);
  const Bytes e = vg.extentSize;
  // lvm2 takes extents from 1KiB to 1TiB (vgcreate -s refuses 2TiB).
  if (s["extentSize"] && !in.failed() && (e < KiB || e > TiB || (e & (e - 1)) != 0))
    in.error(s["extentSize"], "spec.extentSize",
             "expected a power of two from 1KiB to 1TiB (such as 4MiB), found " + in.shown(s["extentSize"]));
  vg.force = in.flag(s["force"], vg.force);
  checkLvmName(in, in.nameNode(), in.name(), "metadata.name");
  return vg;
}

static void write(const VolumeGroupSpec& s, SpecWriter& w) {
  const VolumeGroupSpec d;
  w.list("physicalVolumes", s.physicalVolumes);
  if (s.extentSize != d.extentSize) w.size("extentSize", s.extentSize);
  w.changed("force", s.force, d.force);
}

static void list(const VolumeGroupSpec& s, FieldList& f) {
  f.add("physicalVolumes", showList(s.physicalVolumes));
  f.add("extentSize", formatSize(s.extentSize));
}

HOSTFORM_KIND(kVolumeGroupKind, VolumeGroupSpec, "VolumeGroup", 20, "volume-group.schema.json",
              {.read = read, .write = write, .list = list});

}  // namespace hostform
