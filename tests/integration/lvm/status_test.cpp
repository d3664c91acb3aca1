// `hostform status` of a VG and its LVs against real lvm2 on the loop-device
// sandbox: sizes and free space as lvm's own `vgs`/`lvs` report them.
// (Thin pools cannot be made here, without device-mapper: their fill is
// covered on reports in status_report_test.cpp.)

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/lvm/sandbox.h"

namespace hostform::lvmtest {
namespace {

using nlohmann::json;

std::string lvDoc(const std::string& vg, const std::string& name, const std::string& size) {
  return "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: " + name + "}\nspec: {volumeGroup: " + vg +
         ", size: " + size + "}\n---\n";
}

/// One number of lvm's own report (`vgs`/`lvs` with --units b).
std::uint64_t reported(const Sandbox& box, const std::string& command, const std::string& field,
                       const std::string& what) {
  Outcome r = box.lvm({command, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", field, what});
  EXPECT_EQ(r.code, 0) << r.err;
  const json doc = json::parse(r.out);
  const char* section = command == "vgs" ? "vg" : "lv";
  return std::stoull(doc["report"][0][section][0][field].get<std::string>());
}

TEST(LvmStatus, VolumeGroupAndLogicalVolumesAsLvmReportsThem) {
  Sandbox box{1};
  const std::string vg = box.name("vg");
  const std::string declared = vgDoc(vg, box.devices()[0]) + lvDoc(vg, "data", "12MiB");
  ASSERT_EQ(box.hostform({"apply", "-f", box.manifest(declared)}).code, 0);

  const std::string file = box.manifest(declared + lvDoc(vg, "later", "8MiB"));
  Outcome r = box.hostform({"status", "-f", file, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::uint64_t size = reported(box, "vgs", "vg_size", vg), free = reported(box, "vgs", "vg_free", vg);
  ASSERT_GT(size, 0u);
  EXPECT_EQ(free, size - (12u << 20));
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"resources": [
      {"kind": "VolumeGroup", "name": ")" + vg + R"(", "present": true,
       "facts": {"state": "present", "size": )" + std::to_string(size) + R"(, "free": )" + std::to_string(free) + R"(}},
      {"kind": "LogicalVolume", "scope": ")" + vg + R"(", "name": "data", "present": true,
       "facts": {"state": "present", "size": 12582912}},
      {"kind": "LogicalVolume", "scope": ")" + vg + R"(", "name": "later", "present": false,
       "facts": {"state": "absent"}}]})"))
      << r.out;
  EXPECT_EQ(r.err, "");

  Outcome text = box.hostform({"status", "-f", file});
  ASSERT_EQ(text.code, 0) << text.err;
  // 128MiB loop device: 31 extents of 4MiB after lvm's metadata; 3 of them hold `data`.
  EXPECT_EQ(text.out, "VolumeGroup/" + vg + "\n  state  present\n  size   124MiB\n  free   112MiB\n" + "LogicalVolume/" + vg +
                          "/data\n  state  present\n  size   12MiB\n" + "LogicalVolume/" + vg +
                          "/later\n  state  absent\n");
}

}  // namespace
}  // namespace hostform::lvmtest
