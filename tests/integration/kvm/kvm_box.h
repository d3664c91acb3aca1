#pragma once
/// One test's corner of a real libvirtd: names with a unique prefix, its own
/// --owner and --state-dir, a directory for its storage pool, and cleanup of
/// everything with its prefix on every path (domains, pools, bridges).

#include <libvirt/libvirt.h>

#include <string>
#include <vector>

#include "tests/support/manifests.h"
#include "tests/support/process.h"

namespace hostform::kvmtest {

using Outcome = testing::ProcessResult;

bool contains(const std::string& haystack, const std::string& needle);

class KvmBox {
 public:
  KvmBox();
  ~KvmBox();
  KvmBox(const KvmBox&) = delete;
  KvmBox& operator=(const KvmBox&) = delete;

  std::string name(const std::string& suffix) const { return prefix_ + suffix; }
  const std::string& prefix() const { return prefix_; }
  const std::string& owner() const { return owner_; }
  const testing::TempDir& dir() const { return dir_; }
  virConnectPtr conn() const { return conn_; }

  /// Whether libvirt offers KVM here (a kvm domain type for x86_64 guests).
  bool hostHasKvm() const;
  /// The accelerator every VM of the tests declares: kvm where the host has it,
  /// else tcg; HOSTFORM_TEST_ACCELERATOR=tcg forces tcg (to run the tcg path
  /// on a KVM machine too).
  const std::string& accelerator() const { return accelerator_; }
  /// libvirt's domain type for accelerator(): kvm, or qemu for tcg.
  std::string virtType() const { return accelerator_ == "tcg" ? "qemu" : "kvm"; }

  std::string manifest(const std::string& yaml) const;
  /// The hostform binary with --state-dir, --owner and the libvirt URI.
  Outcome hostform(std::vector<std::string> args) const;
  /// A plan with --detailed-exitcode that must say there is nothing to do.
  void expectConverged(const std::string& file) const;

  // ---- libvirt's real state ----------------------------------------------------
  /// The domain's XML: live (flags 0) or persistent (VIR_DOMAIN_XML_INACTIVE); "" when absent.
  std::string domainXml(const std::string& name, unsigned flags = 0) const;
  int domainId(const std::string& name) const;  ///< -1: not running or absent
  bool domainExists(const std::string& name) const;
  bool autostart(const std::string& name) const;
  std::uint64_t volumeCapacity(const std::string& pool, const std::string& name) const;  ///< 0: absent
  std::uint64_t diskCapacity(const std::string& domain, const std::string& target) const;  ///< the guest's view
  /// Ports enslaved to `bridge` in this network namespace.
  std::vector<std::string> bridgePorts(const std::string& bridge) const;

  // ---- documents -------------------------------------------------------------------
  std::string bridgeDoc(const std::string& name) const;
  std::string poolDoc(const std::string& name) const;  ///< a dir pool under this box's directory
  std::string volumeDoc(const std::string& pool, const std::string& name, const std::string& spec) const;
  std::string vmDoc(const std::string& name, const std::string& specLines) const;

 private:
  static inline int counter_ = 0;
  testing::TempDir dir_;
  std::string prefix_, owner_, accelerator_;
  virConnectPtr conn_ = nullptr;
};

}  // namespace hostform::kvmtest
