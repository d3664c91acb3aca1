// The KVM provider's event source (providers/kvm/events.h): defining,
// starting, destroying and undefining a domain, and a storage pool's life,
// each reach the source's fd. Built twice: in hostform_kvm_fast_tests against
// libvirt's in-process test:///default driver (suite LibvirtEvents), and in
// hostform_kvm_tests against the real libvirtd of the ctest fixture, with a
// QEMU process really started (suite LibvirtdEvents, HOSTFORM_EVENTS_URI).

#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "providers/kvm/events.h"
#include "providers/kvm/provider.h"
#include "providers/kvm/session.h"

namespace hostform::kvm {
namespace {

#ifdef HOSTFORM_EVENTS_URI
constexpr const char* kUri = HOSTFORM_EVENTS_URI;
constexpr const char* kDomainType = "qemu";  // TCG: every host has it
#define EVENTS_SUITE LibvirtdEvents
#else
constexpr const char* kUri = "test:///default";
constexpr const char* kDomainType = "test";
#define EVENTS_SUITE LibvirtEvents
#endif

/// Waits (generously, never as an assertion on time) until the source has
/// something, then drains it: the changes counted.
std::size_t changesSeen(EventSource& source) {
  pollfd p{source.fd(), POLLIN, 0};
  if (::poll(&p, 1, 10'000) != 1) return 0;
  auto changes = source.drain();
  EXPECT_TRUE(changes) << changes.error().message;
  return changes ? *changes : 0;
}

class EVENTS_SUITE : public ::testing::Test {
 protected:
  void SetUp() override {
    auto events = KvmProvider(kUri).events(EventOptions{});
    ASSERT_TRUE(events) << events.error().message;
    ASSERT_TRUE(*events);
    source_ = std::move(*events);
    conn_.reset(virConnectOpen(kUri));
    ASSERT_TRUE(conn_) << lastError();
  }

  // A failed test leaves nothing behind on a real daemon.
  void TearDown() override {
    if (!conn_) return;
    if (DomainHandle dom{virDomainLookupByName(conn_.get(), name_.c_str())}) {
      if (virDomainIsActive(dom.get()) == 1) virDomainDestroy(dom.get());
      virDomainUndefine(dom.get());
    }
    if (PoolHandle pool{virStoragePoolLookupByName(conn_.get(), name_.c_str())}) virStoragePoolUndefine(pool.get());
    virResetLastError();
  }

  const std::string name_ = "hfevents" + std::to_string(::getpid());
  std::unique_ptr<EventSource> source_;
  ConnectHandle conn_;
};

TEST_F(EVENTS_SUITE, EveryStepOfADomainsLifeIsAChange) {
  EXPECT_EQ(source_->name(), "libvirt");
  const std::string xml = std::string("<domain type='") + kDomainType + "'><name>" + name_ +
                          "</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>";
  DomainHandle dom(virDomainDefineXML(conn_.get(), xml.c_str()));
  ASSERT_TRUE(dom) << lastError();
  EXPECT_GE(changesSeen(*source_), 1u) << "defined";
  ASSERT_EQ(virDomainCreate(dom.get()), 0) << lastError();
  EXPECT_GE(changesSeen(*source_), 1u) << "started";
  ASSERT_EQ(virDomainDestroy(dom.get()), 0) << lastError();
  EXPECT_GE(changesSeen(*source_), 1u) << "stopped";
  ASSERT_EQ(virDomainUndefine(dom.get()), 0) << lastError();
  EXPECT_GE(changesSeen(*source_), 1u) << "undefined";
}

TEST_F(EVENTS_SUITE, AStoragePoolsLifeIsAChange) {
  const std::string xml = "<pool type='dir'><name>" + name_ + "</name><target><path>/nonexistent/" + name_ +
                          "</path></target></pool>";
  PoolHandle pool(virStoragePoolDefineXML(conn_.get(), xml.c_str(), 0));
  ASSERT_TRUE(pool) << lastError();
  EXPECT_GE(changesSeen(*source_), 1u) << "defined";
  ASSERT_EQ(virStoragePoolUndefine(pool.get()), 0) << lastError();
  EXPECT_GE(changesSeen(*source_), 1u) << "undefined";
}

#ifndef HOSTFORM_EVENTS_URI
TEST(LibvirtEventsOpen, AnUnreachableDaemonIsOneSentenceNamingTheUri) {
  auto events = KvmProvider("qemu+unix:///system?socket=/nonexistent/libvirt-sock").events(EventOptions{});
  ASSERT_FALSE(events);
  EXPECT_TRUE(events.error().message.starts_with(
      "cannot connect to libvirt at qemu+unix:///system?socket=/nonexistent/libvirt-sock: "))
      << events.error().message;
}
#endif

}  // namespace
}  // namespace hostform::kvm
