#include "reconciler/kinds/volume.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "reconciler/text.h"

namespace hostform {

std::string ImageSource::localPath() const {
  if (!path.empty()) return path;
  if (url.starts_with("file://")) return url.substr(7);
  return {};
}

std::string ImageSource::shown() const {
  return (url.empty() ? path : url) + " sha256:" + sha256.substr(0, 12);
}

static ImageSource readSource(SpecReader& in, const yaml::Node& src) {
  ImageSource out;
  if (const yaml::Node url = src["url"]) {
    out.url = in.text(url);
    // A file URL names a file of this host: file:///<absolute path>, no host part.
    if (out.url.starts_with("file://") && !out.url.starts_with("file:///"))
      in.error(url, "spec.source.url",
               "expected file:///<absolute path> (a file URL without a host), found " + quoteValue(out.url));
    else if (out.url.starts_with("file://"))
      for (const auto& part : std::filesystem::path(out.url.substr(7)))
        if (part == "..") {
          in.error(url, "spec.source.url", "expected a path without \"..\" components, found " + quoteValue(out.url));
          break;
        }
  }
  if (const yaml::Node path = src["path"]) {
    in.checkPath(path, "spec.source.path");
    out.path = in.text(path);
  }
  out.sha256 = in.text(src["sha256"]);
  std::ranges::transform(out.sha256, out.sha256.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

static VolumeSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  VolumeSpec v;
  v.pool = in.text(s["pool"]);
  if (const yaml::Node src = s["source"]) v.source = readSource(in, src);
  // With a source, no capacity means the image's virtual size (0). Without
  // one it is required: checked here, since the reference generator
  // (tools/reference_doc.cpp) documents no schema "else".
  if (s["capacity"]) v.capacity = in.positiveSize(s["capacity"], "spec.capacity");
  else if (!v.source) in.error(s, "spec", "missing required field \"capacity\"");  // as the schema would say it
  v.format = in.choice(s["format"], v.format);
  // QEMU's qcow2 (64KiB clusters, the size it creates) addresses at most 2PiB.
  if (!in.failed() && v.format == VolumeFormat::Qcow2 && v.capacity > 2 * PiB)
    in.error(s["capacity"], "spec.capacity",
             "expected at most 2PiB for a qcow2 volume (QEMU's limit), found " + in.shown(s["capacity"]));
  v.allocation = in.choice(s["allocation"], v.allocation);
  if (const yaml::Node b = s["backingVolume"]) v.backingVolume = VolumeRef{in.text(b["pool"]), in.text(b["name"])};
  if (v.source && v.backingVolume)
    in.error(s["source"], "spec.source",
             "expected either a source or a backingVolume: an overlay's content is its backing volume's");
  return v;
}

static void write(const VolumeSpec& s, SpecWriter& w) {
  const VolumeSpec d;
  w.put("pool", s.pool);
  if (s.capacity > 0 || !s.source) w.size("capacity", s.capacity);
  w.word("format", s.format, d.format);
  w.word("allocation", s.allocation, d.allocation);
  if (s.backingVolume) {
    w.begin("backingVolume");
    w.put("pool", s.backingVolume->pool);
    w.put("name", s.backingVolume->name);
    w.end();
  }
  if (s.source) {
    w.begin("source");
    if (!s.source->url.empty()) w.put("url", s.source->url);
    else w.put("path", s.source->path);
    w.put("sha256", s.source->sha256);
    w.end();
  }
}

static void list(const VolumeSpec& s, FieldList& f) {
  f.add("pool", s.pool);
  f.add("capacity", s.capacity == 0 && s.source ? std::string("(the image's virtual size)") : formatSize(s.capacity));
  f.add("format", std::string(toString(s.format)));
  f.add("allocation", std::string(toString(s.allocation)));
  if (s.backingVolume) f.add("backingVolume", s.backingVolume->pool + "/" + s.backingVolume->name);
  if (s.source) f.add("source", s.source->shown());
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
