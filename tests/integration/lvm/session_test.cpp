// Running tools: argv only, deadline, stderr carried, only fds 0-2 inherited.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "providers/lvm/session.h"

namespace hostform::lvm {
namespace {

TEST(LvmCommand, CapturesBothStreamsAndTheExitCode) {
  auto r = runCommand({"sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(10));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exitCode, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(LvmCommand, ArgumentsAreNeverInterpretedByAShell) {
  auto r = runCommand({"echo", "$(id)", ";", "rm -rf /"}, std::chrono::seconds(10));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "$(id) ; rm -rf /\n");
}

TEST(LvmCommand, KillsAChildThatOverrunsItsTimeout) {
  const auto started = std::chrono::steady_clock::now();
  auto r = runCommand({"sleep", "30"}, std::chrono::milliseconds(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "sleep 30 did not finish within 200 ms and was killed.");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(LvmCommand, TheChildGetsOnlyStandardStreamsAndNullStdin) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC: would be inherited
  ASSERT_GE(leaked, 3);
  auto r = runCommand({"ls", "/proc/self/fd"}, std::chrono::seconds(10));
  auto stdinIs = runCommand({"readlink", "/proc/self/fd/0"}, std::chrono::seconds(10));
  ::close(leaked);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "0\n1\n2\n3\n");  // 3: the directory ls itself is reading
  ASSERT_TRUE(stdinIs);
  EXPECT_EQ(stdinIs->out, "/dev/null\n");
}

TEST(LvmCommand, LvmSeesNoLeakedDescriptor) {
  const int leaked = ::open("/dev/null", O_RDONLY);
  auto r = runCommand({"lvm", "version"}, std::chrono::seconds(30));
  ::close(leaked);
  ASSERT_TRUE(r) << "lvm2 must be installed for these tests: " << r.error().message;
  EXPECT_EQ(r->exitCode, 0);
  EXPECT_EQ(r->err.find("leaked"), std::string::npos) << r->err;
}

TEST(LvmCommand, RunCheckedCarriesTheToolsReason) {
  HostCommands host;
  auto r = runChecked(host, {"sh", "-c", "echo '  WARNING: Activation disabled. x' >&2; echo '  Volume group \"x\" not found' >&2; exit 5"},
                      std::chrono::seconds(10));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "sh -c echo '  WARNING: Activation disabled. x' >&2; echo '  Volume group \"x\" not found' >&2; exit 5 "
            "failed with exit code 5: Volume group \"x\" not found.");
  auto missing = runCommand({"no-such-tool-hostform"}, std::chrono::seconds(1));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "Cannot run no-such-tool-hostform: it is not installed (not found in $PATH, /usr/sbin or /sbin).");
}

}  // namespace
}  // namespace hostform::lvm
