// Running tools: argv only, deadline, stderr carried, only fds 0-2 inherited.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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

// ---- the lvm shell: its input lines and its JSON log ---------------------------

TEST(LvmShellLine, QuotesEveryArgumentSoThatItStaysOneArgument) {
  EXPECT_EQ(shellLine({"lvcreate", "--yes", "-n", "data", "vg0"}), "lvcreate --yes -n data vg0");
  // lvm splits on whitespace; a word that starts with a quote runs to the same quote.
  EXPECT_EQ(shellLine({"lvcreate", "-n", "a b"}), "lvcreate -n \"a b\"");
  EXPECT_EQ(shellLine({"lvcreate", "-n", "a\"; vgremove -f vg0"}), "lvcreate -n 'a\"; vgremove -f vg0'");
  EXPECT_EQ(shellLine({"lvcreate", "-n", "it's"}), "lvcreate -n \"it's\"");
  EXPECT_EQ(shellLine({"lvcreate", "-n", "#x", ""}), "lvcreate -n \"#x\" \"\"");  // '#' starts a comment
  // No quoting keeps these one argument of one line: they run as processes.
  EXPECT_EQ(shellLine({"lvcreate", "-n", "a\nvgremove -f vg0"}), std::nullopt);
  EXPECT_EQ(shellLine({"lvcreate", "-n", "a'b\" c"}), std::nullopt);
}

TEST(LvmShellOutcome, ReadsTheReturnCodeAndTheMessagesFromTheCommandLog) {
  // As lvm 2.03 writes it on LVM_REPORT_FD for a failed lvcreate.
  const std::string failed = R"(  {
      "log": [
          {"log_seq_num":"1", "log_type":"warn", "log_context":"processing", "log_object_type":"vg", "log_object_name":"vg0", "log_message":"WARNING: Activation disabled. No device-mapper interaction will be attempted.", "log_errno":"0", "log_ret_code":"0"},
          {"log_seq_num":"2", "log_type":"error", "log_context":"processing", "log_object_type":"vg", "log_object_name":"vg0", "log_message":"Logical Volume \"c\" already exists in volume group \"vg0\"", "log_errno":"-1", "log_ret_code":"0"},
          {"log_seq_num":"3", "log_type":"status", "log_context":"processing", "log_object_type":"vg", "log_object_name":"vg0", "log_message":"failure", "log_errno":"-1", "log_ret_code":"5"},
          {"log_seq_num":"4", "log_type":"status", "log_context":"shell", "log_object_type":"cmd", "log_object_name":"lvcreate", "log_message":"failure", "log_errno":"0", "log_ret_code":"5"}
      ]
  })";
  auto r = shellOutcome(failed);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exitCode, 5);
  EXPECT_EQ(failureText(r->err), "Logical Volume \"c\" already exists in volume group \"vg0\"");
  const std::string ok = R"({"report": [{"lv": [{"lv_name":"a"}]}], "log": [
      {"log_type":"status", "log_context":"shell", "log_object_type":"cmd", "log_object_name":"lvs", "log_message":"success", "log_ret_code":"1"}]})";
  auto listed = shellOutcome(ok);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->exitCode, 0);
  EXPECT_EQ(listed->err, "");
  EXPECT_EQ(listed->out, ok);
  auto noCode = shellOutcome(R"({"log": []})");
  ASSERT_FALSE(noCode);
  EXPECT_EQ(noCode.error().message, "the lvm shell's report carries no return code for the command.");
}

/// A stand-in `lvm` first on $PATH for one test: the only way to get an lvm
/// shell that answers `version` and then hangs.
class HangingLvm : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hostform-hang-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream script(dir_ / "lvm");
    script << "#!/bin/sh\nread line\n"
              "printf '{\"log\": [{\"log_type\":\"status\", \"log_context\":\"shell\", \"log_object_type\":\"cmd\", "
              "\"log_ret_code\":\"1\"}]}\\n' >&3\n"
              "read line\nexec sleep 60\n";
    script.close();
    ::chmod((dir_ / "lvm").c_str(), 0755);
    oldPath_ = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (dir_.string() + ":" + oldPath_).c_str(), 1);
  }
  void TearDown() override {
    ::setenv("PATH", oldPath_.c_str(), 1);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::string oldPath_;
};

TEST_F(HangingLvm, AHungShellIsKilledAndItsCommandFails) {
  auto shell = LvmShell::start("hostform-shell", std::chrono::seconds(10));
  ASSERT_TRUE(shell) << shell.error().message;
  const pid_t pid = (*shell)->pid();
  auto r = (*shell)->run({"lvm", "lvcreate", "-n", "a", "vg0"}, std::chrono::milliseconds(300));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "lvm lvcreate -n a vg0 did not finish within 300 ms and was killed.");
  EXPECT_FALSE((*shell)->alive());
  EXPECT_NE(::kill(pid, 0), 0);  // gone, and reaped
}

TEST_F(HangingLvm, AShellThatEndsAtOnceIsSeenToEnd) {
  // An lvm that cannot be a shell (here: it prints why and exits): seen at
  // its end of file, not at the deadline.
  std::ofstream(dir_ / "lvm") << "#!/bin/sh\necho '  Failed to add command profile hostform-shell.' >&2\nexit 5\n";
  auto shell = LvmShell::start("hostform-shell", std::chrono::minutes(10));
  ASSERT_FALSE(shell);
  EXPECT_EQ(shell.error().message,
            "the lvm shell did not start: lvm version could not finish: its lvm shell ended (Failed to add command "
            "profile hostform-shell.).");
}

/// Records what reaches it: the fallback of a ShellCommands.
class Recorder final : public Commands {
 public:
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds) override {
    seen.push_back(showCommand(argv));
    return CommandOutput{0, "", ""};
  }
  std::vector<std::string> seen;
};

TEST_F(HangingLvm, CommandsGoToProcessesWhenNoShellStarts) {
  // This lvm answers `version` only after the deadline: no shell, one process per command.
  std::ofstream(dir_ / "lvm") << "#!/bin/sh\nexec sleep 60\n";
  Recorder host;
  ShellCommands commands(host, "hostform-shell");
  auto r = commands.run({"lvm", "lvcreate", "-n", "a", "vg0"}, std::chrono::milliseconds(300));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(commands.usesShell());
  ASSERT_TRUE(commands.run({"mkfs.ext4", "-q", "/dev/vg0/a"}, std::chrono::seconds(1)));
  EXPECT_EQ(host.seen, (std::vector<std::string>{"lvm lvcreate -n a vg0", "mkfs.ext4 -q /dev/vg0/a"}));
}

}  // namespace
}  // namespace hostform::lvm
