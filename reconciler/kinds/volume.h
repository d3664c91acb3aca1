#pragma once
/// The Volume kind: a volume in a libvirt storage pool, possibly a qcow2
/// overlay on a backing volume or filled from an image (schemas/volume.schema.json).
/// Served by providers/kvm.

#include <optional>
#include <string>

#include "reconciler/kinds/storage_pool.h"

namespace hostform {

enum class VolumeFormat { Qcow2, Raw };
enum class Allocation { Thin, Full };
HOSTFORM_DECLARE_ENUM_NAMES(VolumeFormat)
HOSTFORM_DECLARE_ENUM_NAMES(Allocation)

/// A pool volume named from elsewhere (a backing volume, a VM's disk).
struct VolumeRef {
  std::string pool;
  std::string name;
  bool operator==(const VolumeRef&) const = default;
};

/// The image a new volume is filled from: a URL (http, https, file) or a local
/// path, exactly one of them, pinned by the SHA-256 of its bytes.
struct ImageSource {
  std::string url;     ///< http://, https:// or file:///; empty when `path` is set
  std::string path;    ///< an absolute local path; empty when `url` is set
  std::string sha256;  ///< 64 hex digits, lower case
  bool operator==(const ImageSource&) const = default;

  /// A local file: a path, or a file:/// URL. Else it is downloaded.
  bool local() const { return !path.empty() || url.starts_with("file://"); }
  /// The local file's path (path, or the file:/// URL's path); empty for a download.
  std::string localPath() const;
  /// "https://example.org/d.qcow2 sha256:0123456789ab", as plans show it.
  std::string shown() const;
};

struct VolumeSpec {
  std::string pool;
  Bytes capacity = 0;  ///< 0 only with a source: the image's virtual size
  VolumeFormat format = VolumeFormat::Qcow2;
  Allocation allocation = Allocation::Thin;
  std::optional<VolumeRef> backingVolume;
  std::optional<ImageSource> source;  ///< set: a new volume is filled from this image
  bool operator==(const VolumeSpec&) const = default;
};

/// Its module (reconciler/kind.h): a qcow2 volume of at most 2PiB (QEMU's limit
/// with 64KiB clusters); refers to its pool and its backing volume; identity
/// Volume/<pool>/<name>.
extern const KindOf<VolumeSpec> kVolumeKind;

namespace kinds {
inline constexpr Kind Volume{&kVolumeKind};
}

}  // namespace hostform
