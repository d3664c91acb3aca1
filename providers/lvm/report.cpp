#include "providers/lvm/report.h"

#include "reconciler/kinds/snapshot.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace hostform::lvm {
namespace {

using nlohmann::json;

constexpr std::string_view kOwnerTagPrefix = "hostform_owner_";
constexpr std::string_view kSafetyTagPrefix = "hostform_safety_";

/// Reads one string field of a report row; lvm writes every value as a string.
class Row {
 public:
  Row(const json& row, std::string_view section) : row_(row), section_(section) {}

  std::string text(const char* key) {
    auto it = row_.find(key);
    if (it == row_.end() || !it->is_string()) {
      missing(key);
      return {};
    }
    return it->get<std::string>();
  }

  std::uint64_t number(const char* key) {
    const std::string value = text(key);
    std::uint64_t out = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || end != value.data() + value.size()) {
      if (error_.empty())
        error_ = "The lvm report has \"" + value + "\" as " + key + " of a " + std::string(section_) +
                 ", which is not a byte count.";
      return 0;
    }
    return out;
  }

  std::vector<std::string> tags(const char* key) {
    std::vector<std::string> out;
    const std::string value = text(key);
    std::size_t start = 0;
    while (start < value.size()) {
      std::size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      if (end > start) out.push_back(value.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }

  /// A percentage lvm may leave empty ("" when device-mapper cannot say):
  /// nullopt then, and when the field is missing or not a number.
  std::optional<double> percent(const char* key) const {
    auto it = row_.find(key);
    if (it == row_.end() || !it->is_string()) return std::nullopt;
    const std::string value = it->get<std::string>();
    double out = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return out;
  }

  /// A text field lvm reports only in some versions or configurations; empty when missing.
  std::string optionalText(const char* key) const {
    auto it = row_.find(key);
    return it != row_.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  const std::string& error() const { return error_; }

 private:
  void missing(const char* key) {
    if (error_.empty())
      error_ = "The lvm report has no " + std::string(key) + " for a " + std::string(section_) +
               "; this lvm2 version reports differently than hostform expects.";
  }

  const json& row_;
  std::string_view section_;
  std::string error_;
};

const json& section(const json& report, const char* name) {
  static const json empty = json::array();
  auto it = report.find(name);
  return it != report.end() && it->is_array() ? *it : empty;
}

}  // namespace

std::string LogicalVolumeInfo::originName() const {
  if (!origin.empty() || safetyOwner.empty()) return origin;
  const auto at = name.rfind("-before-");
  return at == std::string::npos ? std::string() : name.substr(0, at);
}

std::optional<LvType> LogicalVolumeInfo::type() const {
  if (hidden || snapshot()) return std::nullopt;
  if (layout == "linear") return LvType::Linear;
  if (layout == "thin,pool") return LvType::ThinPool;
  if (layout == "thin,sparse") return LvType::Thin;
  return std::nullopt;
}

const VolumeGroupInfo* LvmState::findVolumeGroup(std::string_view name) const {
  auto it = std::ranges::find(volumeGroups, name, &VolumeGroupInfo::name);
  return it == volumeGroups.end() ? nullptr : &*it;
}

const LogicalVolumeInfo* LvmState::findLogicalVolume(std::string_view vg, std::string_view name) const {
  for (const auto& lv : logicalVolumes)
    if (lv.volumeGroup == vg && lv.name == name) return &lv;
  return nullptr;
}

const PhysicalVolumeInfo* LvmState::findPhysicalVolume(std::string_view device) const {
  for (const auto& pv : physicalVolumes)
    if (pv.name == device) return &pv;
  const std::string wanted = canonicalDevice(device);
  for (const auto& pv : physicalVolumes)
    if (canonicalDevice(pv.name) == wanted) return &pv;
  return nullptr;
}

std::vector<std::string> fullReportCommand() {
  // Only the columns we read: lvm formats every column it is asked for, and the
  // default set is about 200 of them. Each subreport gets its own -o.
  return {"lvm",
          "fullreport",
          "--reportformat", "json",
          "--units", "b",
          "--nosuffix",
          "--configreport", "vg", "-o", "vg_name,vg_tags,vg_extent_size,vg_extent_count,vg_free_count",
          "--configreport", "pv", "-o", "pv_name,dev_size,pe_start,pv_pe_count,pv_pe_alloc_count",
          "--configreport", "lv", "-o", "lv_name,lv_tags,lv_size,lv_layout,pool_lv,origin,data_percent,metadata_percent,snap_percent,lv_time",
          "--configreport", "seg", "-o", "lv_uuid",
          "--configreport", "pvseg", "-o", "pv_uuid"};
}

Result<LvmState> parseFullReport(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return fail("The lvm fullreport output is not a JSON object; is this lvm2 2.03 or later?");
  LvmState state;
  for (const json& report : section(doc, "report")) {
    // One report per VG, plus one for the orphan PVs (no "vg" section).
    std::string vgName;
    for (const json& row : section(report, "vg")) {
      Row r(row, "volume group");
      VolumeGroupInfo vg;
      vg.name = r.text("vg_name");
      vg.tags = r.tags("vg_tags");
      vg.extentSize = r.number("vg_extent_size");
      vg.extents = r.number("vg_extent_count");
      vg.freeExtents = r.number("vg_free_count");
      if (!r.error().empty()) return fail(r.error());
      vgName = vg.name;
      state.volumeGroups.push_back(std::move(vg));
    }
    for (const json& row : section(report, "pv")) {
      Row r(row, "physical volume");
      PhysicalVolumeInfo pv;
      pv.name = r.text("pv_name");
      pv.volumeGroup = vgName;
      pv.deviceSize = r.number("dev_size");
      pv.dataStart = r.number("pe_start");
      pv.extents = r.number("pv_pe_count");
      pv.allocated = r.number("pv_pe_alloc_count");
      if (!r.error().empty()) return fail(r.error());
      if (!vgName.empty()) state.volumeGroups.back().physicalVolumes.push_back(pv.name);
      state.physicalVolumes.push_back(std::move(pv));
    }
    for (const json& row : section(report, "lv")) {
      Row r(row, "logical volume");
      LogicalVolumeInfo lv;
      lv.volumeGroup = vgName;
      lv.name = r.text("lv_name");
      lv.tags = r.tags("lv_tags");
      lv.size = r.number("lv_size");
      lv.layout = r.text("lv_layout");
      lv.pool = r.text("pool_lv");
      lv.origin = r.text("origin");
      lv.dataPercent = r.percent("data_percent");
      lv.metadataPercent = r.percent("metadata_percent");
      lv.snapPercent = r.percent("snap_percent");
      lv.created = parseLvTime(r.optionalText("lv_time"));
      for (const std::string& t : lv.tags)
        if (t.starts_with(kSafetyTagPrefix) && t.size() > kSafetyTagPrefix.size())
          lv.safetyOwner = t.substr(kSafetyTagPrefix.size());
      if (!r.error().empty()) return fail(r.error());
      // lvm shows sub-LVs (pool data and metadata, spares) in brackets.
      if (lv.name.size() >= 2 && lv.name.front() == '[' && lv.name.back() == ']') {
        lv.hidden = true;
        lv.name = lv.name.substr(1, lv.name.size() - 2);
      }
      if (lv.pool.size() >= 2 && lv.pool.front() == '[') lv.pool = lv.pool.substr(1, lv.pool.size() - 2);
      state.logicalVolumes.push_back(std::move(lv));
    }
  }
  return state;
}

std::string ownerTag(const std::string& owner) { return std::string(kOwnerTagPrefix) + owner; }

std::string safetyTag(const std::string& owner) { return std::string(kSafetyTagPrefix) + owner; }

std::optional<std::int64_t> parseLvTime(std::string_view text) {
  // lvm prints "%Y-%m-%d %T %z" by default.
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, off = 0;
  char sign = '+';
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d %c%4d", &y, &mo, &d, &h, &mi, &se, &sign, &off) != 8)
    return std::nullopt;
  if ((sign != '+' && sign != '-') || mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const std::int64_t utc = static_cast<std::int64_t>(::timegm(&tm));
  const std::int64_t offset = (off / 100 * 3600 + off % 100 * 60) * (sign == '-' ? -1 : 1);
  return utc - offset;
}

std::string ownerFromTags(const std::vector<std::string>& tags) {
  for (const std::string& t : tags)
    if (t.starts_with(kOwnerTagPrefix) && t.size() > kOwnerTagPrefix.size()) return t.substr(kOwnerTagPrefix.size());
  return {};
}

std::vector<Observed> toObserved(const LvmState& state) {
  std::vector<Observed> out;
  out.reserve(state.volumeGroups.size() + state.logicalVolumes.size());
  for (const VolumeGroupInfo& vg : state.volumeGroups) {
    VolumeGroupSpec spec;
    spec.physicalVolumes = vg.physicalVolumes;
    spec.extentSize = vg.extentSize;
    Resource r;
    r.id = identityOf(kinds::VolumeGroup, vg.name, spec);
    r.spec = std::move(spec);
    out.push_back({std::move(r), ownerFromTags(vg.tags)});
  }
  for (const LogicalVolumeInfo& lv : state.logicalVolumes) {
    const auto type = lv.type();
    if (!type) continue;
    LogicalVolumeSpec spec;
    spec.volumeGroup = lv.volumeGroup;
    spec.type = *type;
    spec.size = lv.size;
    if (*type == LvType::Thin) spec.thinPool = lv.pool;
    Resource r;
    r.id = identityOf(kinds::LogicalVolume, lv.name, spec);
    r.spec = std::move(spec);
    out.push_back({std::move(r), ownerFromTags(lv.tags)});
  }
  for (const LogicalVolumeInfo& lv : state.logicalVolumes) {
    if (!lv.snapshot()) continue;
    SnapshotSpec spec;
    spec.source.logicalVolume = LogicalVolumeRef{lv.volumeGroup, lv.originName()};
    if (!lv.thinSnapshot()) spec.size = lv.size;  // a thick snapshot's lv_size is its copy-on-write space
    Resource r;
    r.id = identityOf(kinds::Snapshot, lv.name, spec);
    r.spec = std::move(spec);
    out.push_back({std::move(r), ownerFromTags(lv.tags)});
  }
  return out;
}

std::string canonicalDevice(std::string_view path) {
  std::error_code ec;
  auto resolved = std::filesystem::canonical(std::filesystem::path(path), ec);
  return ec ? std::string(path) : resolved.string();
}

}  // namespace hostform::lvm
