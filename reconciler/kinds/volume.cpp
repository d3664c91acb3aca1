#include "reconciler/kinds/volume.h"

namespace hostform {

static VolumeSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  VolumeSpec v;
  v.pool = in.text(s["pool"]);
  v.capacity = in.positiveSize(s["capacity"], "spec.capacity");
  v.format = in.choice(s["format"], v.format);
  // QEMU's qcow2 (64KiB clusters, the size it creates) addresses at most 2PiB.
  if (!in.failed() && v.format == VolumeFormat::Qcow2 && v.capacity > 2 * PiB)
    in.error(s["capacity"], "spec.capacity",
             "expected at most 2PiB for a qcow2 volume (QEMU's limit), found " + in.shown(s["capacity"]));
  v.allocation = in.choice(s["allocation"], v.allocation);
  if (const yaml::Node b = s["backingVolume"]) v.backingVolume = VolumeRef{in.text(b["pool"]), in.text(b["name"])};
  return v;
}

static void write(const VolumeSpec& s, SpecWriter& w) {
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

static void list(const VolumeSpec& s, FieldList& f) {
  f.add("pool", s.pool);
  f.add("capacity", formatSize(s.capacity));
  f.add("format", std::string(toString(s.format)));
  f.add("allocation", std::string(toString(s.allocation)));
  if (s.backingVolume) f.add("backingVolume", s.backingVolume->pool + "/" + s.backingVolume->name);
}

static void refer(const VolumeSpec& s, std::vector<Reference>& out) {
  out.push_back({ResourceId{kinds::StoragePool, "", s.pool}, "spec.pool"});
  if (s.backingVolume)
    out.push_back({ResourceId{kinds::Volume, s.backingVolume->pool, s.backingVolume->name}, "spec.backingVolume"});
}

/// Its identity is scoped by its pool.
static std::string scope(const VolumeSpec& s) { return s.pool; }

// The words of its enums in manifests.
constexpr EnumNames<VolumeFormat, 2> kVolumeFormat{{{VolumeFormat::Qcow2, "qcow2"}, {VolumeFormat::Raw, "raw"}}};
constexpr EnumNames<Allocation, 2> kAllocation{{{Allocation::Thin, "thin"}, {Allocation::Full, "full"}}};

HOSTFORM_DEFINE_ENUM_NAMES(VolumeFormat, kVolumeFormat)
HOSTFORM_DEFINE_ENUM_NAMES(Allocation, kAllocation)

HOSTFORM_KIND(kVolumeKind, VolumeSpec, "Volume", 50, "volume.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer, .scope = scope});

}  // namespace hostform
