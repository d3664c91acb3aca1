#include "reconciler/ledger.h"
#include "reconciler/kinds/virtual_machine.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hostform {
namespace {

namespace fs = std::filesystem;

/// A fresh directory per test, removed afterwards.
class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("hostform-ledger-" + std::to_string(::getpid()) + "-" + info->name()) / "state";
    fs::remove_all(dir_.parent_path());
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }

  std::string readFile(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

const ResourceId kPool{kinds::StoragePool, "", "images"};
const ResourceId kVolume{kinds::Volume, "images", "disk1"};

TEST_F(LedgerTest, OpensEmptyAndCreatesTheStateDirectory) {
  auto ledger = Ledger::open(dir_);
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_TRUE(fs::is_directory(dir_));
  EXPECT_EQ(ledger->ownerOf(kPool), "");
  EXPECT_TRUE(ledger->owners().empty());
  EXPECT_EQ(ledger->file(), dir_ / "ledger.json");
}

TEST_F(LedgerTest, RecordIsOnDiskAtOnceAndSurvivesReopen) {
  {
    auto ledger = Ledger::open(dir_);
    ASSERT_TRUE(ledger);
    ASSERT_TRUE(ledger->record(kPool, "default"));
    ASSERT_TRUE(ledger->record(kVolume, "team-b"));
    // On disk before the ledger is closed, in the documented format, and no
    // temporary file left behind.
    const auto doc = nlohmann::json::parse(readFile(dir_ / "ledger.json"));
    EXPECT_EQ(doc, (nlohmann::json{{"version", 1},
                                   {"owners", {{"StoragePool/images", "default"}, {"Volume/images/disk1", "team-b"}}}}));
    EXPECT_FALSE(fs::exists(dir_ / "ledger.json.tmp"));
  }
  auto reopened = Ledger::open(dir_);
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ(reopened->ownerOf(kPool), "default");
  EXPECT_EQ(reopened->ownerOf(kVolume), "team-b");
}

TEST_F(LedgerTest, ForgetRemovesTheEntryOnDisk) {
  auto ledger = Ledger::open(dir_);
  ASSERT_TRUE(ledger);
  ASSERT_TRUE(ledger->record(kPool, "default"));
  ASSERT_TRUE(ledger->forget(kPool));
  ASSERT_TRUE(ledger->forget(kPool)) << "forgetting an absent entry is not an error";
  EXPECT_EQ(ledger->ownerOf(kPool), "");
  auto reopened = Ledger::open(dir_);
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->owners().empty());
}

TEST_F(LedgerTest, MovedLedgerKeepsWorking) {
  auto opened = Ledger::open(dir_);
  ASSERT_TRUE(opened);
  Ledger ledger = std::move(*opened);
  ASSERT_TRUE(ledger.record(kPool, "default"));
  EXPECT_EQ(ledger.ownerOf(kPool), "default");
}

TEST_F(LedgerTest, ConcurrentRecordsAreAllKept) {
  auto ledger = Ledger::open(dir_);
  ASSERT_TRUE(ledger);
  std::vector<std::jthread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(ledger->record({kinds::StoragePool, "", "p" + std::to_string(t * 10 + i)}, "default"));
    });
  threads.clear();
  auto reopened = Ledger::open(dir_);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->owners().size(), 80u);
}

TEST_F(LedgerTest, CorruptFileIsAnErrorNamingIt) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "ledger.json") << "{\"version\":1,\"owners\":{";
  auto ledger = Ledger::open(dir_);
  ASSERT_FALSE(ledger);
  const std::string& msg = ledger.error().message;
  EXPECT_TRUE(msg.starts_with("the ownership ledger " + (dir_ / "ledger.json").string() + " is corrupt: ")) << msg;
  EXPECT_TRUE(msg.ends_with("; repair it or move it away (hostform then treats the resources it listed as unowned)."))
      << msg;
}

TEST_F(LedgerTest, WrongShapeIsAnErrorSayingWhatWasExpected) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "ledger.json") << R"({"version":1,"owners":{"StoragePool/images":7}})";
  auto ledger = Ledger::open(dir_);
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().message,
            "the ownership ledger " + (dir_ / "ledger.json").string() +
                " is corrupt: the owner of StoragePool/images is not a string; repair it or move it away "
                "(hostform then treats the resources it listed as unowned).");

  std::ofstream(dir_ / "ledger.json") << R"({"version":2,"owners":{}})";
  auto future = Ledger::open(dir_);
  ASSERT_FALSE(future);
  EXPECT_NE(future.error().message.find("is corrupt: expected \"version\": 1;"), std::string::npos)
      << future.error().message;
}

}  // namespace
}  // namespace hostform
