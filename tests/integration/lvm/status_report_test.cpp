// `hostform status` of VGs and LVs (providers/lvm/status.h) from lvm
// fullreports: sizes, free space, and a thin pool's data and metadata fill,
// which lvm leaves empty where device-mapper cannot say (as on this host).

#include <gtest/gtest.h>

#include "providers/lvm/report.h"
#include "providers/lvm/status.h"
#include "reconciler/kinds/logical_volume.h"
#include "reconciler/kinds/volume_group.h"

namespace hostform::lvm {
namespace {

/// A fullreport of one VG with a linear LV and two thin pools, one whose
/// fill lvm reports and one whose fill it leaves empty.
constexpr const char* kReport = R"({"report": [{
  "vg": [{"vg_name": "vg0", "vg_tags": "", "vg_extent_size": "4194304", "vg_extent_count": "255",
          "vg_free_count": "5"}],
  "pv": [{"pv_name": "/dev/loop0", "dev_size": "1073741824", "pe_start": "1048576", "pv_pe_count": "255",
          "pv_pe_alloc_count": "250"}],
  "lv": [
    {"lv_name": "root", "lv_tags": "", "lv_size": "104857600", "lv_layout": "linear", "pool_lv": "", "origin": "",
     "data_percent": "", "metadata_percent": ""},
    {"lv_name": "pool", "lv_tags": "", "lv_size": "536870912", "lv_layout": "thin,pool", "pool_lv": "",
     "origin": "", "data_percent": "12.50", "metadata_percent": "3.08"},
    {"lv_name": "cold", "lv_tags": "", "lv_size": "268435456", "lv_layout": "thin,pool", "pool_lv": "",
     "origin": "", "data_percent": "", "metadata_percent": ""}
  ]}]})";

struct Shown {
  std::string name, text;
  nlohmann::json json;
  bool operator==(const Shown&) const = default;
};

std::vector<Shown> shown(const std::vector<StatusFact>& facts) {
  std::vector<Shown> out;
  for (const auto& f : facts) out.push_back({f.name, f.text, f.json});
  return out;
}

void PrintTo(const Shown& s, std::ostream* os) { *os << s.name << "=" << s.text << " " << s.json.dump(); }

class LvmStatus : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = parseFullReport(kReport);
    ASSERT_TRUE(parsed) << parsed.error().message;
    state = *parsed;
  }
  LvmState state;
};

TEST_F(LvmStatus, ReadsThePercentFieldsWhenLvmReportsThem) {
  const LogicalVolumeInfo* pool = state.findLogicalVolume("vg0", "pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->dataPercent, 12.5);
  EXPECT_EQ(pool->metadataPercent, 3.08);
  const LogicalVolumeInfo* cold = state.findLogicalVolume("vg0", "cold");
  ASSERT_NE(cold, nullptr);
  EXPECT_EQ(cold->dataPercent, std::nullopt);
  EXPECT_EQ(cold->metadataPercent, std::nullopt);
}

TEST_F(LvmStatus, VolumeGroupShowsSizeAndFree) {
  EXPECT_EQ(shown(statusOf({kinds::VolumeGroup, "", "vg0"}, state)),
            (std::vector<Shown>{{"state", "present", "present"},
                                {"size", "1020MiB", 1069547520},
                                {"free", "20MiB", 20971520}}));
}

TEST_F(LvmStatus, ThinPoolShowsItsFillAndUnknownWhenLvmCannotSay) {
  EXPECT_EQ(shown(statusOf({kinds::LogicalVolume, "vg0", "pool"}, state)),
            (std::vector<Shown>{{"state", "present", "present"},
                                {"size", "512MiB", 536870912},
                                {"dataPercent", "12.50%", 12.5},
                                {"metadataPercent", "3.08%", 3.08}}));
  EXPECT_EQ(shown(statusOf({kinds::LogicalVolume, "vg0", "cold"}, state)),
            (std::vector<Shown>{{"state", "present", "present"},
                                {"size", "256MiB", 268435456},
                                {"dataPercent", "unknown", nullptr},
                                {"metadataPercent", "unknown", nullptr}}));
}

TEST_F(LvmStatus, LinearVolumeShowsItsSizeOnly) {
  EXPECT_EQ(shown(statusOf({kinds::LogicalVolume, "vg0", "root"}, state)),
            (std::vector<Shown>{{"state", "present", "present"}, {"size", "100MiB", 104857600}}));
  EXPECT_EQ(shown(statusOf({kinds::LogicalVolume, "vg0", "gone"}, state)),
            (std::vector<Shown>{{"state", "absent", "absent"}}));
}

TEST_F(LvmStatus, ReportsWithoutThePercentFieldsStillParse) {
  // lvm2 builds or captured reports without the columns: no fill, no error.
  auto parsed = parseFullReport(R"({"report": [{"vg": [], "pv": [], "lv": [
    {"lv_name": "p", "lv_tags": "", "lv_size": "8388608", "lv_layout": "thin,pool", "pool_lv": "", "origin": ""}]}]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->logicalVolumes.at(0).dataPercent, std::nullopt);
}

}  // namespace
}  // namespace hostform::lvm
