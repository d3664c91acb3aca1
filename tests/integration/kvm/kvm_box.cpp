#include "tests/integration/kvm/kvm_box.h"

#include <gtest/gtest.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace hostform::kvmtest {
namespace {

constexpr const char* kUri = "qemu:///system";

std::string take(char* s) {
  std::string out = s ? s : "";
  free(s);  // NOLINT(cppcoreguidelines-no-malloc)
  return out;
}

void quiet(void*, virErrorPtr) {}

/// Link names in this process's network namespace (sysfs would show the
/// namespace it was mounted in, so ask the kernel through ip).
std::vector<std::string> links(std::vector<std::string> filter) {
  std::vector<std::string> args{"-o", "link", "show"};
  args.insert(args.end(), filter.begin(), filter.end());
  testing::ProcessResult r = testing::runProgram("/usr/sbin/ip", args);
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    // "7: name@peer: <...>" or "7: name: <...>"
    auto start = line.find(": ");
    if (start == std::string::npos) continue;
    auto end = line.find_first_of(":@", start + 2);
    out.push_back(line.substr(start + 2, end - start - 2));
  }
  std::ranges::sort(out);
  return out;
}

}  // namespace

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

KvmBox::KvmBox()
    : prefix_("hfk" + std::to_string(::getpid()) + "t" + std::to_string(counter_++)), owner_("kvmtest-" + prefix_) {
  virSetErrorFunc(nullptr, quiet);
  // QEMU runs as libvirt-qemu and must reach the pool directory below this one.
  std::filesystem::permissions(dir_.path(), std::filesystem::perms(0755));
  conn_ = virConnectOpen(kUri);
  if (!conn_) throw std::runtime_error("cannot connect to " + std::string(kUri) + ": is libvirtd running?");
  const char* forced = std::getenv("HOSTFORM_TEST_ACCELERATOR");
  if (forced && std::string(forced) != "tcg" && std::string(forced) != "kvm")
    throw std::runtime_error("HOSTFORM_TEST_ACCELERATOR is tcg or kvm, not " + std::string(forced));
  // libvirt offering KVM is not enough: a nested host's KVM may not boot a
  // kernel (tests/vm/accel boots one once per host boot to tell).
  static const std::string usable = [] {
    testing::ProcessResult r = testing::runProgram(HOSTFORM_ACCEL_PROBE, {});
    return r.out.starts_with("kvm") ? std::string("kvm") : std::string("tcg");
  }();
  accelerator_ = forced ? forced : hostHasKvm() ? usable : "tcg";
  static const bool said = [&] {
    std::cerr << "KVM tests: accelerator " << accelerator_
              << (forced               ? " (HOSTFORM_TEST_ACCELERATOR)"
                  : !hostHasKvm()      ? " (no KVM on this host)"
                  : usable == "kvm"    ? " (libvirt offers KVM and a kernel boots under it)"
                                       : " (libvirt offers KVM, but a kernel does not boot under it: tests/vm/accel)")
              << "\n";
    return true;
  }();
  (void)said;
}

bool KvmBox::hostHasKvm() const {
  const std::string caps = take(virConnectGetCapabilities(conn_));
  return contains(caps, "<domain type='kvm'");
}

KvmBox::~KvmBox() {
  // What hostform made for this owner, the way an operator would remove it...
  hostform({"apply", "-f", manifest(""), "--prune", "--allow-empty", "--allow-data-loss"});
  // ...and anything with this test's prefix that survived (a failed test, a
  // domain defined by hand).
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(conn_, &doms, 0);
  for (int i = 0; i < n; ++i) {
    if (std::string(virDomainGetName(doms[i])).starts_with(prefix_)) {
      virDomainDestroy(doms[i]);
      virDomainUndefineFlags(doms[i], VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                          VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
    }
    virDomainFree(doms[i]);
  }
  free(doms);  // NOLINT(cppcoreguidelines-no-malloc)
  virStoragePoolPtr* pools = nullptr;
  n = virConnectListAllStoragePools(conn_, &pools, 0);
  for (int i = 0; i < n; ++i) {
    if (std::string(virStoragePoolGetName(pools[i])).starts_with(prefix_)) {
      virStoragePoolDestroy(pools[i]);
      virStoragePoolUndefine(pools[i]);
    }
    virStoragePoolFree(pools[i]);
  }
  free(pools);  // NOLINT(cppcoreguidelines-no-malloc)
  for (const std::string& link : links({}))
    if (link.starts_with(prefix_)) testing::runProgram("/usr/sbin/ip", {"link", "del", link});
  virConnectClose(conn_);
}

std::string KvmBox::manifest(const std::string& yaml) const {
  static int files = 0;
  return dir_.write("m" + std::to_string(files++) + ".yaml", yaml);
}

Outcome KvmBox::hostform(std::vector<std::string> args) const {
  for (const std::string& flag : std::vector<std::string>{"--state-dir", dir_.path() + "/state", "--owner", owner_,
                                                          "--libvirt-uri", kUri})
    args.push_back(flag);
  return testing::runProgram(HOSTFORM_BINARY, args);
}

void KvmBox::expectConverged(const std::string& file) const {
  Outcome r = hostform({"plan", "-f", file, "--detailed-exitcode"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "No changes. Host matches the manifests.\n");
}

std::string KvmBox::domainXml(const std::string& name, unsigned flags) const {
  virDomainPtr dom = virDomainLookupByName(conn_, name.c_str());
  if (!dom) return {};
  std::string xml = take(virDomainGetXMLDesc(dom, flags));
  virDomainFree(dom);
  return xml;
}

int KvmBox::domainId(const std::string& name) const {
  virDomainPtr dom = virDomainLookupByName(conn_, name.c_str());
  if (!dom) return -1;
  unsigned id = virDomainGetID(dom);
  virDomainFree(dom);
  return id == static_cast<unsigned>(-1) ? -1 : static_cast<int>(id);
}

bool KvmBox::domainExists(const std::string& name) const {
  virDomainPtr dom = virDomainLookupByName(conn_, name.c_str());
  if (dom) virDomainFree(dom);
  return dom != nullptr;
}

bool KvmBox::autostart(const std::string& name) const {
  virDomainPtr dom = virDomainLookupByName(conn_, name.c_str());
  int a = 0;
  if (dom) {
    virDomainGetAutostart(dom, &a);
    virDomainFree(dom);
  }
  return a == 1;
}

std::uint64_t KvmBox::volumeCapacity(const std::string& pool, const std::string& name) const {
  virStoragePoolPtr p = virStoragePoolLookupByName(conn_, pool.c_str());
  if (!p) return 0;
  virStorageVolPtr v = virStorageVolLookupByName(p, name.c_str());
  virStorageVolInfo info{};
  std::uint64_t out = v && virStorageVolGetInfo(v, &info) == 0 ? info.capacity : 0;
  if (v) virStorageVolFree(v);
  virStoragePoolFree(p);
  return out;
}

std::uint64_t KvmBox::diskCapacity(const std::string& domain, const std::string& target) const {
  virDomainPtr dom = virDomainLookupByName(conn_, domain.c_str());
  if (!dom) return 0;
  virDomainBlockInfo info{};
  std::uint64_t out = virDomainGetBlockInfo(dom, target.c_str(), &info, 0) == 0 ? info.capacity : 0;
  virDomainFree(dom);
  return out;
}

std::vector<std::string> KvmBox::bridgePorts(const std::string& bridge) const { return links({"master", bridge}); }

std::string KvmBox::bridgeDoc(const std::string& name) const {
  return "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: " + name + "}\nspec: {}\n---\n";
}

std::string KvmBox::poolDoc(const std::string& name) const {
  return "apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: " + name + "}\nspec: {type: dir, target: " +
         dir_.path() + "/" + name + "}\n---\n";
}

std::string KvmBox::volumeDoc(const std::string& pool, const std::string& name, const std::string& spec) const {
  return "apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: " + name + "}\nspec: {pool: " + pool + ", " + spec +
         "}\n---\n";
}

std::string KvmBox::vmDoc(const std::string& name, const std::string& specLines) const {
  return "apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: " + name + "}\nspec:\n  accelerator: " +
         accelerator_ + "\n" + specLines + "---\n";
}

}  // namespace hostform::kvmtest
