#include "reconciler/record_file.h"

#include <filesystem>
#include <stdexcept>

#include <gtest/gtest.h>

#include "tests/support/manifests.h"

namespace hostform {
namespace {

namespace fs = std::filesystem;

TEST(RecordFile, KeepsEveryRecordPutAndForgetsARemovedOne) {
  testing::TempDir dir;
  const RecordFile file(fs::path(dir.path()) / "kvm" / "things.json", "the thing records", "things");
  ASSERT_TRUE(file.put("a", nlohmann::json{{"size", 1}}));
  ASSERT_TRUE(file.put("b", nlohmann::json{{"size", 2}}));
  ASSERT_TRUE(file.put("a", nlohmann::json{{"size", 3}}));
  ASSERT_TRUE(file.put("b", std::nullopt));
  ASSERT_TRUE(file.put("never-there", std::nullopt));
  auto sizes = file.read<int>([](const nlohmann::json& r) { return r.at("size").get<int>(); });
  ASSERT_TRUE(sizes) << sizes.error().message;
  EXPECT_EQ(*sizes, (std::map<std::string, int>{{"a", 3}}));
}

TEST(RecordFile, NoFileIsNoRecords) {
  testing::TempDir dir;
  auto all = RecordFile(fs::path(dir.path()) / "absent.json", "the thing records", "things").read();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(all->empty());
}

TEST(RecordFile, AnotherVersionOrACorruptRecordSaysToMoveTheFileAway) {
  testing::TempDir dir;
  const std::string path = dir.write("things.json", R"({"version": 2, "things": {}})");
  auto other = RecordFile(path, "the thing records", "things").read();
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message,
            "the thing records " + path + " are not version 1; move the file away to start over.");

  dir.write("things.json", R"({"version": 1, "things": {"a": {"size": "big"}}})");
  auto bad = RecordFile(path, "the thing records", "things").read<int>([](const nlohmann::json& r) {
    if (!r.at("size").is_number()) throw std::runtime_error("size is not a number");
    return r.at("size").get<int>();
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "the thing records " + path + " are corrupt (size is not a number); move the file away to start over.");
}

}  // namespace
}  // namespace hostform
