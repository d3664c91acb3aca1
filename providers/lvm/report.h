#pragma once
/// lvm2's view of the host, read from one `lvm fullreport` JSON document, and
/// its translation into the manifest model. Pure functions: the fixture tests
/// feed them captured reports, no lvm needed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/kinds/logical_volume.h"
#include "reconciler/kinds/snapshot.h"
#include "reconciler/kinds/storage_pool.h"
#include "reconciler/plan.h"
#include "reconciler/result.h"

namespace hostform::lvm {

struct PhysicalVolumeInfo {
  std::string name;           ///< pv_name as lvm reports it: "/dev/loop3"
  std::string volumeGroup;    ///< empty: an orphan PV (initialised, in no VG)
  Bytes deviceSize = 0;       ///< dev_size
  Bytes dataStart = 0;        ///< pe_start: where the first extent begins
  std::uint64_t extents = 0;  ///< pv_pe_count
  std::uint64_t allocated = 0;  ///< pv_pe_alloc_count: extents used by LVs
};

struct VolumeGroupInfo {
  std::string name;
  std::vector<std::string> tags;
  Bytes extentSize = 0;
  std::uint64_t extents = 0;
  std::uint64_t freeExtents = 0;
  std::vector<std::string> physicalVolumes;  ///< pv_name, in report order
};

struct LogicalVolumeInfo {
  std::string volumeGroup;
  std::string name;
  std::vector<std::string> tags;
  Bytes size = 0;          ///< lv_size: real size, virtual size for thin LVs
  std::string layout;      ///< lv_layout: "linear", "thin,pool", "thin,sparse", "raid,raid1"…
  std::string pool;        ///< pool_lv: the thin pool of a thin LV
  std::string origin;      ///< origin: set for snapshots
  bool hidden = false;     ///< a sub-LV lvm shows in brackets ("[pool_tdata]")
  /// data_percent, metadata_percent of a thin pool (data_percent of a thin
  /// LV): nullopt when lvm reports none, as without device-mapper (the pool
  /// is not active) or in reports that lack the fields.
  std::optional<double> dataPercent, metadataPercent;
  /// snap_percent of a thick snapshot: how full its copy-on-write space is
  /// (100: it overflowed and is invalid); nullopt when lvm reports none.
  std::optional<double> snapPercent;
  /// lv_time: when lvm created it, in seconds since the epoch; nullopt when
  /// the report lacks it or it does not parse.
  std::optional<std::int64_t> created;
  /// The hostform_safety_<owner> tag's owner: a snapshot hostform took before
  /// a loss (docs/spec.md §4), which no --prune deletes; empty otherwise.
  std::string safetyOwner;

  /// A snapshot: an LV with an origin, thick (a copy-on-write LV) or thin, or
  /// a snapshot taken before a loss whose origin was deleted since (lvm then
  /// reports no origin: it is a thin LV of its own).
  bool snapshot() const { return !hidden && (!origin.empty() || !safetyOwner.empty()); }
  /// The LV it is a snapshot of: `origin`, else for a snapshot taken before
  /// a loss the name it was taken of (its name without -before-<time>[-N]).
  std::string originName() const;
  /// A thin snapshot (in the origin's thin pool).
  bool thinSnapshot() const { return snapshot() && layout.starts_with("thin"); }

  /// The manifest type of this LV; nullopt for layouts hostform does not manage
  /// (raid, mirror, cache, vdo, snapshots, striped over several PVs).
  std::optional<LvType> type() const;
};

/// Everything one fullreport says.
struct LvmState {
  std::vector<PhysicalVolumeInfo> physicalVolumes;
  std::vector<VolumeGroupInfo> volumeGroups;
  std::vector<LogicalVolumeInfo> logicalVolumes;  ///< hidden ones included

  const VolumeGroupInfo* findVolumeGroup(std::string_view name) const;
  const LogicalVolumeInfo* findLogicalVolume(std::string_view vg, std::string_view name) const;
  /// By device path, compared after resolving symlinks on both sides.
  const PhysicalVolumeInfo* findPhysicalVolume(std::string_view device) const;
};

/// The fullreport command line: one snapshot of every PV, VG and LV, with
/// exactly the fields parseFullReport reads.
std::vector<std::string> fullReportCommand();

/// Parses the JSON of fullReportCommand(). lvm prints every value as a string;
/// a missing field or a number that does not parse is an error naming it.
Result<LvmState> parseFullReport(std::string_view json);

/// The ownership tag for `owner` (owner names are already restricted to
/// characters LVM tags allow): "hostform_owner_<owner>".
std::string ownerTag(const std::string& owner);
/// The owner named by the first ownership tag in `tags`; empty when none.
std::string ownerFromTags(const std::vector<std::string>& tags);
/// The tag of a snapshot taken before a loss (docs/spec.md §4 Snapshot before
/// loss): "hostform_safety_<owner>". It is not an ownership tag, so the
/// snapshot is never pruned, and `hostform restore` finds it by name.
std::string safetyTag(const std::string& owner);

/// "2026-12-06 21:55:48 +0000" (lv_time) in seconds since the epoch.
std::optional<std::int64_t> parseLvTime(std::string_view text);

/// VGs, the LVs hostform can manage and the snapshots (as Snapshot
/// resources), in the manifest model with their owners. Hidden sub-LVs and
/// unmanaged layouts are left out.
std::vector<Observed> toObserved(const LvmState& state);

/// A device path with symlinks resolved ("/dev/disk/by-id/x" -> "/dev/sdb");
/// the path itself when it does not resolve.
std::string canonicalDevice(std::string_view path);

}  // namespace hostform::lvm
