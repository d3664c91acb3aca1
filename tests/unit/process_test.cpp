// runCommand: an argument vector, stdin from a file, both streams captured.

#include <gtest/gtest.h>

#include "reconciler/process.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using namespace std::chrono_literals;

TEST(RunCommand, StdinIsDevNullUnlessAFileIsGiven) {
  auto none = runCommand({"cat"}, 10s);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(none->exitCode, 0);
  EXPECT_EQ(none->out, "");

  testing::TempDir dir;
  const std::string input = dir.write("input", "signed bytes\n$(not a shell) 'quoted'\n");
  auto fed = runCommand({"cat"}, 10s, input);
  ASSERT_TRUE(fed) << fed.error().message;
  EXPECT_EQ(fed->exitCode, 0);
  EXPECT_EQ(fed->out, "signed bytes\n$(not a shell) 'quoted'\n");
}

TEST(RunCommand, AnUnreadableInputFileIsAnError) {
  auto r = runCommand({"cat"}, 10s, "/nonexistent/input");
  EXPECT_FALSE(r.has_value());
}

}  // namespace
}  // namespace hostform
