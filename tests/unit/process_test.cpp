// runCommand: an argument vector, stdin from a file, both streams captured.

#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

// The watch sees the output while the tool still runs: this tool ends only
// once a file exists, which the watch creates on seeing its first line.
TEST(RunCommand, AWatchSeesTheOutputBeforeTheToolEnds) {
  testing::TempDir dir;
  const std::string flag = dir.path() + "/seen";
  std::vector<std::string> shown;
  auto r = runCommand({"sh", "-c", "echo answer; while [ ! -e \"$1\" ]; do sleep 0.01; done; echo bye; exit 5", "sh", flag},
                      10s, "/dev/null", [&](std::string_view out) {
                        shown.emplace_back(out);
                        if (out != "answer\n") return false;
                        std::ofstream{flag};
                        return true;
                      });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(shown, std::vector<std::string>{"answer\n"});  // not called again once it said so
  EXPECT_EQ(r->out, "answer\nbye\n");                      // the whole output all the same
  EXPECT_EQ(r->exitCode, 5);                                // and the exit code, for the caller to judge
}

// The output is the tool's, not its children's: a tool that leaves a child
// holding its stdout has ended when it exits (a pipe would stay open).
TEST(RunCommand, EndsWhenTheToolExitsThoughAChildStillHoldsItsOutput) {
  auto r = runCommand({"sh", "-c", "sleep 30 & echo $!"}, 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exitCode, 0);
  ASSERT_FALSE(r->out.empty());
  const pid_t child = std::stoi(r->out);
  EXPECT_EQ(::kill(child, SIGKILL), 0);  // it was still running
}

}  // namespace
}  // namespace hostform
