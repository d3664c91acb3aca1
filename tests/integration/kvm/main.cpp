// The real-libvirtd tests run inside libvirtd's network namespace (see
// scripts/libvirt-sandbox): bridges hostform creates there are the ones the
// guests' taps join, and nothing appears on the host's own network.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace {

class LibvirtdNamespace : public ::testing::Environment {
 public:
  void SetUp() override {
    std::ifstream pidFile("/run/libvirtd.pid");
    int pid = 0;
    ASSERT_TRUE(pidFile >> pid) << "libvirtd is not running (no /run/libvirtd.pid): run scripts/libvirt-sandbox up";
    const std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
    int fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << "cannot open " << ns;
    ASSERT_EQ(::setns(fd, CLONE_NEWNET), 0) << "cannot enter libvirtd's network namespace";
    ::close(fd);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new LibvirtdNamespace);
  return RUN_ALL_TESTS();
}
