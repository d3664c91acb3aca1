// Enters a private network namespace before any test runs, so every link the
// tests make, and every hostform child they spawn, lives there and dies with
// the process. The host's namespace (eth0 and the rest) is never touched.

#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

#include "tests/integration/netlink/netns.h"

int main(int argc, char** argv) {
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "hostform_netlink_tests: cannot enter a private network namespace (%s); "
                         "run as root (CAP_SYS_ADMIN).\n", std::strerror(errno));
    return 1;
  }
  if (!hostform::nltest::inPrivateNamespace()) {
    std::fprintf(stderr, "hostform_netlink_tests: the new network namespace already has links; refusing to run.\n");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
