#include "reconciler/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace hostform {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class LockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("hostform-lock-" + std::to_string(::getpid()) + "-" + info->name()) / "state";
    fs::remove_all(dir_.parent_path());
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }

  std::string lockFileText() {
    std::ifstream in(dir_ / "lock");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(LockTest, AcquireCreatesTheFileAndWritesThePid) {
  auto lock = StateLock::acquire(dir_, 0ms);
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(lock->path(), dir_ / "lock");
  EXPECT_EQ(lockFileText(), std::to_string(::getpid()) + "\n");
}

TEST_F(LockTest, SecondAcquireFailsAtOnceNamingTheHolder) {
  auto first = StateLock::acquire(dir_, 0ms);
  ASSERT_TRUE(first);
  // flock locks belong to the open file description: a second acquire in the
  // same process opens the file again and conflicts like another process would.
  auto second = StateLock::acquire(dir_, 0ms);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "another hostform run (pid " + std::to_string(::getpid()) + ") holds the lock on " +
                                        (dir_ / "lock").string() +
                                        "; wait for it to finish, or pass --lock-timeout to wait for it.");
  // The failed attempt left the holder's pid in place.
  EXPECT_EQ(lockFileText(), std::to_string(::getpid()) + "\n");
}

TEST_F(LockTest, HeldByAnotherProcess) {
  fs::create_directories(dir_);
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = StateLock::acquire(dir_, 0ms);
    char c = held ? 'y' : 'n';
    (void)::write(ready[1], &c, 1);
    (void)::read(release[0], &c, 1);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');

  auto mine = StateLock::acquire(dir_, 0ms);
  ASSERT_FALSE(mine);
  EXPECT_EQ(mine.error().message, "another hostform run (pid " + std::to_string(child) + ") holds the lock on " +
                                      (dir_ / "lock").string() +
                                      "; wait for it to finish, or pass --lock-timeout to wait for it.");

  (void)::write(release[1], "x", 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto after = StateLock::acquire(dir_, 0ms);
  EXPECT_TRUE(after) << "the lock is free once its holder has exited";
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
}

TEST_F(LockTest, WaitSucceedsOnceTheHolderReleases) {
  auto first = StateLock::acquire(dir_, 0ms);
  ASSERT_TRUE(first);
  std::jthread releaser([&] {
    std::this_thread::sleep_for(100ms);
    StateLock gone = std::move(*first);  // destroyed at the end of this scope: released
  });
  auto second = StateLock::acquire(dir_, 10s);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(lockFileText(), std::to_string(::getpid()) + "\n");
}

TEST_F(LockTest, WaitTimesOutNamingTheHolder) {
  auto first = StateLock::acquire(dir_, 0ms);
  ASSERT_TRUE(first);
  auto second = StateLock::acquire(dir_, 150ms);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "timed out after 150ms waiting for the lock on " + (dir_ / "lock").string() +
                                        " held by pid " + std::to_string(::getpid()) + ".");
}

TEST_F(LockTest, ReleaseOnDestructionAndAfterMove) {
  {
    auto lock = StateLock::acquire(dir_, 0ms);
    ASSERT_TRUE(lock);
    StateLock moved = std::move(*lock);
    EXPECT_FALSE(StateLock::acquire(dir_, 0ms));
  }
  EXPECT_TRUE(StateLock::acquire(dir_, 0ms));
  EXPECT_EQ(lockFileText(), "") << "a released lock leaves no stale pid";
}

}  // namespace
}  // namespace hostform
