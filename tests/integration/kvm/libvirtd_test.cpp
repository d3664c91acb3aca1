// The hostform binary against a real libvirtd with QEMU/KVM. Guests are tiny
// (64-128 MiB) and have no OS: they really run, but do not answer ACPI or
// hot-unplug requests, so shutdowns take shutdownTimeout and end forced off.

#include <gtest/gtest.h>

#include "tests/integration/kvm/kvm_box.h"

namespace hostform::kvmtest {
namespace {

void replaceOnce(std::string& s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
}

class Libvirtd : public ::testing::Test {
 protected:
  /// A bridge, a dir pool with a base image and an overlay, and one VM on both.
  std::string host(const std::string& vmSpec, const std::string& extra = "") const {
    return box.bridgeDoc(br) + box.poolDoc(pool) + box.volumeDoc(pool, "base.qcow2", "capacity: 64MiB") +
           box.volumeDoc(pool, "vm.qcow2", "capacity: 128MiB, backingVolume: {pool: " + pool + ", name: base.qcow2}") +
           extra +
           box.vmDoc(vm, "  memory: 96MiB\n  maxMemory: 128MiB\n  maxVcpus: 2\n  shutdownTimeout: 1s\n"
                         "  disks: [{volume: {pool: " + pool + ", name: vm.qcow2}}]\n  interfaces: [{bridge: " + br +
                         "}]\n" + vmSpec);
  }
  Outcome apply(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"apply", "-f", file};
    args.insert(args.end(), extra.begin(), extra.end());
    return box.hostform(args);
  }

  KvmBox box;
  std::string br = box.name("br"), pool = box.name("pool"), vm = box.name("vm");
};

TEST_F(Libvirtd, CreatesFromEmptyRunsAndConverges) {
  const std::string file = box.manifest(host(""));
  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "Apply complete: 5 done.")) << r.out;

  EXPECT_GT(box.domainId(vm), 0);
  EXPECT_TRUE(box.autostart(vm));
  const std::string persistent = box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE);
  EXPECT_TRUE(contains(persistent, "<hostform:owner>" + box.owner() + "</hostform:owner>")) << persistent;
  EXPECT_TRUE(contains(persistent, "<source pool='" + pool + "' volume='vm.qcow2'/>")) << persistent;
  // The guest's NIC is a tap under the bridge hostform created through netlink.
  auto ports = box.bridgePorts(br);
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_TRUE(ports[0].starts_with("vnet")) << ports[0];
  // The overlay sits on the base image.
  EXPECT_EQ(box.volumeCapacity(pool, "vm.qcow2"), 128u << 20);
  EXPECT_TRUE(contains(box.domainXml(vm), box.dir().path() + "/" + pool + "/base.qcow2"));

  box.expectConverged(file);
}

TEST_F(Libvirtd, LiveChangesReachTheRunningVmAndItsDefinitionWithoutARestart) {
  ASSERT_EQ(apply(box.manifest(host(""))).code, 0);
  const int id = box.domainId(vm);
  ASSERT_GT(id, 0);

  std::string changed = host("  vcpus: 2\n  autostart: false\n", box.volumeDoc(pool, "data.raw", "capacity: 32MiB, format: raw"));
  replaceOnce(changed, "memory: 96MiB", "memory: 112MiB");
  replaceOnce(changed, "name: vm.qcow2}}]", "name: vm.qcow2}}, {volume: {pool: " + pool + ", name: data.raw}}]");
  replaceOnce(changed, "interfaces: [{bridge: " + br + "}]",
              "interfaces: [{bridge: " + br + "}, {bridge: " + br + ", macAddress: '52:54:00:0a:0b:0c'}]");
  const std::string file = box.manifest(changed);
  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_TRUE(contains(plan.out, "~ VirtualMachine/" + vm)) << plan.out;
  EXPECT_TRUE(contains(plan.out,
                       "vcpus 1 -> 2, memory 96MiB -> 112MiB, disks[vdb] (none) -> volume " + pool +
                           "/data.raw (virtio), interfaces[1] (none) -> " + br +
                           " 52:54:00:0a:0b:0c, autostart true -> false\n"))
      << plan.out;
  EXPECT_FALSE(contains(plan.out, "(restart)")) << plan.out;

  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(box.domainId(vm), id) << "the VM was restarted";
  EXPECT_FALSE(box.autostart(vm));

  const std::string live = box.domainXml(vm);
  const std::string persistent = box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE);
  for (const std::string* xml : {&live, &persistent}) {
    EXPECT_TRUE(contains(*xml, "volume='data.raw'")) << *xml;
    EXPECT_TRUE(contains(*xml, "<target dev='vdb' bus='virtio'/>")) << *xml;
    EXPECT_TRUE(contains(*xml, "<mac address='52:54:00:0a:0b:0c'/>")) << *xml;
  }
  EXPECT_TRUE(contains(live, "current='2'") || contains(live, "<vcpu placement='static'>2</vcpu>")) << live;
  EXPECT_TRUE(contains(persistent, "<vcpu placement='static'>2</vcpu>")) << persistent;
  // The balloon target is set live too, but the live XML shows what the guest
  // has given back, and a guest without an OS has no balloon driver.
  EXPECT_TRUE(contains(persistent, "<currentMemory unit='KiB'>114688</currentMemory>")) << persistent;
  EXPECT_EQ(box.bridgePorts(br).size(), 2u);
  box.expectConverged(file);

  // Detaching: the definition loses them at once; the running guest would need
  // an OS to acknowledge the unplug (QEMU waits for it), so only that is checked.
  Outcome back = apply(box.manifest(host("  vcpus: 2\n  autostart: false\n")));
  ASSERT_EQ(back.code, 0) << back.out << back.err;
  EXPECT_TRUE(contains(back.out, "disks[vdb] volume " + pool + "/data.raw -> (none), interfaces[52:54:00:0a:0b:0c] " +
                                     br + " 52:54:00:0a:0b:0c -> (none)"))
      << back.out;
  const std::string after = box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE);
  EXPECT_FALSE(contains(after, "data.raw")) << after;
  EXPECT_FALSE(contains(after, "52:54:00:0a:0b:0c")) << after;
  EXPECT_EQ(box.domainId(vm), id);
}

TEST_F(Libvirtd, RestartClassChangesWaitForARestartUnlessThePolicySaysAuto) {
  ASSERT_EQ(apply(box.manifest(host(""))).code, 0);
  const int id = box.domainId(vm);

  const std::string never = box.manifest(host("  machine: pc\n"));
  Outcome plan = box.hostform({"plan", "-f", never});
  EXPECT_TRUE(contains(plan.out, "~ VirtualMachine/" + vm)) << plan.out;
  EXPECT_TRUE(contains(plan.out, "machine q35 -> pc (restart)\n")) << plan.out;
  Outcome applied = apply(never);
  ASSERT_EQ(applied.code, 0) << applied.out << applied.err;
  EXPECT_TRUE(contains(applied.out, "VirtualMachine/" + vm + ": updated; restart it to apply machine\n")) << applied.out;
  EXPECT_EQ(box.domainId(vm), id);
  EXPECT_TRUE(contains(box.domainXml(vm), "machine='pc-q35-")) << "the running VM keeps its machine";
  EXPECT_TRUE(contains(box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE), "machine='pc-i440fx-"));
  box.expectConverged(never);

  const std::string autoRestart = box.manifest(host("  machine: pc\n  restartPolicy: auto\n  graphics: vnc\n"));
  plan = box.hostform({"plan", "-f", autoRestart});
  EXPECT_TRUE(contains(plan.out, "graphics none -> vnc (restart), restartPolicy never -> auto, restart pending -> now "
                                 "(restartPolicy: auto)\n"))
      << plan.out;
  Outcome r = apply(autoRestart);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_GT(box.domainId(vm), id) << "restarted";
  const std::string live = box.domainXml(vm);
  EXPECT_TRUE(contains(live, "machine='pc-i440fx-")) << live;
  EXPECT_TRUE(contains(live, "<graphics type='vnc'")) << live;
  EXPECT_TRUE(contains(live, "listen='127.0.0.1'")) << live;
  box.expectConverged(autoRestart);
}

TEST_F(Libvirtd, StoppedAndStartedAndStartedAgainWhenStoppedBehindItsBack) {
  ASSERT_EQ(apply(box.manifest(host(""))).code, 0);
  Outcome stop = apply(box.manifest(host("  state: stopped\n")));
  ASSERT_EQ(stop.code, 0) << stop.out << stop.err;
  EXPECT_TRUE(contains(stop.out, "state running -> stopped")) << stop.out;
  EXPECT_EQ(box.domainId(vm), -1);

  const std::string running = box.manifest(host(""));
  ASSERT_EQ(apply(running).code, 0);
  EXPECT_GT(box.domainId(vm), 0);

  virDomainPtr dom = virDomainLookupByName(box.conn(), vm.c_str());
  ASSERT_EQ(virDomainDestroy(dom), 0);
  virDomainFree(dom);
  Outcome plan = box.hostform({"plan", "-f", running, "--detailed-exitcode"});
  EXPECT_EQ(plan.code, 2);
  EXPECT_TRUE(contains(plan.out, "~ VirtualMachine/" + vm)) << plan.out;
  EXPECT_TRUE(contains(plan.out, "state stopped -> running\n")) << plan.out;
  ASSERT_EQ(apply(running).code, 0);
  EXPECT_GT(box.domainId(vm), 0);
  box.expectConverged(running);
}

TEST_F(Libvirtd, PruneDeletesOwnedVmsOnlyAndNeverTheirVolumes) {
  ASSERT_EQ(apply(box.manifest(host(""))).code, 0);
  // A VM an operator defined by hand.
  const std::string hand = box.name("hand");
  const std::string xml = "<domain type='" + box.virtType() + "'><name>" + hand +
                          "</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>";
  virDomainPtr dom = virDomainDefineXML(box.conn(), xml.c_str());
  ASSERT_TRUE(dom);
  virDomainFree(dom);

  std::string withoutVm = host("");
  withoutVm = withoutVm.substr(0, withoutVm.find("apiVersion: hostform/v1\nkind: VirtualMachine"));
  const std::string file = box.manifest(withoutVm);
  Outcome plan = box.hostform({"plan", "-f", file});
  EXPECT_TRUE(contains(plan.out, "? VirtualMachine/" + vm)) << plan.out;
  EXPECT_FALSE(contains(plan.out, hand)) << plan.out;

  Outcome r = apply(file, {"--prune"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "Plan: 0 to create, 0 to change, 1 to delete.")) << r.out;
  EXPECT_FALSE(box.domainExists(vm));
  EXPECT_TRUE(box.domainExists(hand));
  EXPECT_EQ(box.volumeCapacity(pool, "vm.qcow2"), 128u << 20);
  box.expectConverged(file);
}

TEST_F(Libvirtd, WhatARunningVmStandsOnIsNeverPrunedWhenNoLongerDeclared) {
  // The case: the VM stays declared, its bridge, pool and both
  // volumes (overlay and base) leave the manifests. All are hostform's, and
  // --prune is given: none of them may go from under the running VM.
  ASSERT_EQ(apply(box.manifest(host(""))).code, 0);
  const int id = box.domainId(vm);
  ASSERT_GT(id, 0);
  std::string onlyVm = host("");
  onlyVm = onlyVm.substr(onlyVm.find("apiVersion: hostform/v1\nkind: VirtualMachine"));
  const std::string file = box.manifest(onlyVm);
  Outcome plan = box.hostform({"plan", "-f", file, "--prune", "-o", "json"});
  ASSERT_EQ(plan.code, 0) << plan.err;
  for (const std::string& object : {"Bridge/" + br, "StoragePool/" + pool, "Volume/" + pool + "/vm.qcow2",
                                    "Volume/" + pool + "/base.qcow2"}) {
    EXPECT_TRUE(contains(plan.out, "\"" + object + "\"")) << object << plan.out;  // listed once, as external
    EXPECT_FALSE(contains(plan.out, "\"id\": \"" + object + "\"")) << object << " must not be an action\n" << plan.out;
  }
  Outcome r = apply(file, {"--prune", "--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "No changes. Host matches the manifests.")) << r.out;
  EXPECT_EQ(box.domainId(vm), id);
  EXPECT_EQ(box.bridgePorts(br).size(), 1u);
  EXPECT_EQ(box.volumeCapacity(pool, "base.qcow2"), 64u << 20);
}

TEST_F(Libvirtd, VolumesGrowInUseAndShrinkOnlyWithPermission) {
  ASSERT_EQ(apply(box.manifest(host(""))).code, 0);
  std::string grown = host("");
  replaceOnce(grown, "capacity: 128MiB", "capacity: 160MiB");
  Outcome r = apply(box.manifest(grown));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "~ Volume/" + pool + "/vm.qcow2")) << r.out;
  EXPECT_EQ(box.volumeCapacity(pool, "vm.qcow2"), 160u << 20);
  EXPECT_EQ(box.diskCapacity(vm, "vda"), 160u << 20) << "the running guest sees the new size";

  std::string shrunk = host("");
  replaceOnce(shrunk, "capacity: 128MiB", "capacity: 100MiB");
  const std::string file = box.manifest(shrunk);
  Outcome refused = apply(file);
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.err, "shrinking Volume/" + pool + "/vm.qcow2 from 160MiB to 100MiB discards")) << refused.err;
  EXPECT_EQ(box.volumeCapacity(pool, "vm.qcow2"), 160u << 20);

  Outcome allowed = apply(file, {"--allow-data-loss"});
  ASSERT_EQ(allowed.code, 0) << allowed.out << allowed.err;
  EXPECT_EQ(box.volumeCapacity(pool, "vm.qcow2"), 100u << 20);
  EXPECT_EQ(box.diskCapacity(vm, "vda"), 100u << 20);
  box.expectConverged(file);
}

TEST_F(Libvirtd, BadReferencesAndBadStateChangeNothing) {
  auto expectError = [&](const std::string& yaml, const std::string& message) {
    Outcome r = apply(box.manifest(yaml));
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, message)) << r.err;
    EXPECT_FALSE(box.domainExists(vm));
    EXPECT_EQ(box.volumeCapacity(pool, "base.qcow2"), 0u) << "nothing was created";
  };
  std::string missingBridge = host("");
  missingBridge = missingBridge.substr(missingBridge.find("---\n") + 4);  // drop the bridge
  expectError(missingBridge, "error: spec.interfaces[0].bridge: references Bridge/" + br +
                                 ", which is neither declared nor on the host");
  expectError(box.bridgeDoc(br) + box.poolDoc(pool) + box.volumeDoc(pool, "base.qcow2", "capacity: 64MiB") +
                  box.vmDoc(vm, "  memory: 64MiB\n  disks: [{path: /nonexistent/" + box.prefix() + ".img}]\n"),
              "error: spec.disks[0].path: /nonexistent/" + box.prefix() + ".img does not exist.");
  expectError(box.bridgeDoc(br) + box.poolDoc(pool) + box.volumeDoc(pool, "base.qcow2", "capacity: 64MiB") +
                  box.vmDoc(vm, "  memory: 64MiB\n  disks: [{volume: {pool: " + pool + ", name: missing.qcow2}}]\n"),
              "error: spec.disks[0].volume: references Volume/" + pool + "/missing.qcow2, which is neither declared nor "
              "on the host");
  expectError(box.bridgeDoc(br) + box.poolDoc(pool) + box.volumeDoc(pool, "base.qcow2", "capacity: 64MiB") +
                  box.vmDoc(vm, "  memory: 64TiB\n"),
              "error: spec.maxMemory: VirtualMachine/" + vm + " asks for 64TiB of memory and the host has ");

  // A domain someone else defined under the name: not changed, not adopted.
  const std::string xml = "<domain type='" + box.virtType() + "'><name>" + vm +
                          "</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>";
  virDomainPtr dom = virDomainDefineXML(box.conn(), xml.c_str());
  ASSERT_TRUE(dom);
  virDomainFree(dom);
  Outcome taken = apply(box.manifest(box.vmDoc(vm, "  memory: 128MiB\n")));
  EXPECT_EQ(taken.code, 1) << taken.out;
  EXPECT_TRUE(contains(taken.err, "error: metadata.name: the name " + vm +
                                      " is taken by a domain hostform did not create, and it differs from the "
                                      "manifest in: memory, maxMemory"))
      << taken.err;
  EXPECT_FALSE(contains(box.domainXml(vm, VIR_DOMAIN_XML_INACTIVE), "hostform")) << "untouched";
  EXPECT_EQ(box.domainId(vm), -1);
}

TEST_F(Libvirtd, WhatTheHypervisorCannotDoIsRefusedAtPlanTime) {
  // Decided from libvirt's own capability reports, on whichever kind of
  // machine this runs: the same manifest plans where KVM exists and is refused,
  // naming the way out, where it does not.
  auto vmWith = [&](const std::string& lines) {
    return box.manifest("apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: " + vm +
                        "}\nspec:\n  memory: 64MiB\n" + lines);
  };
  Outcome kvm = box.hostform({"plan", "-f", vmWith("  accelerator: kvm\n")});
  if (box.hostHasKvm()) {
    EXPECT_EQ(kvm.code, 0) << kvm.err;
    EXPECT_TRUE(contains(kvm.out, "accelerator (none) -> kvm")) << kvm.out;
  } else {
    EXPECT_EQ(kvm.code, 1) << kvm.out;
    EXPECT_TRUE(contains(kvm.err, ":6:16: error: spec.accelerator: this host has no KVM: libvirt offers no kvm domain "
                                  "type for x86_64 guests")) << kvm.err;
    EXPECT_TRUE(contains(kvm.err, "Declare `accelerator: tcg` to run VirtualMachine/" + vm)) << kvm.err;
    // The default is kvm: leaving the field out is refused the same way.
    Outcome byDefault = box.hostform({"apply", "-f", vmWith("")});
    EXPECT_EQ(byDefault.code, 1) << byDefault.out;
    EXPECT_TRUE(contains(byDefault.err, "error: spec.accelerator: this host has no KVM")) << byDefault.err;
  }
  // Emulation cannot pass the host's CPU through, with KVM on the host or not.
  Outcome passthrough = box.hostform({"apply", "-f", vmWith("  accelerator: tcg\n  cpuMode: host-passthrough\n")});
  EXPECT_EQ(passthrough.code, 1) << passthrough.out;
  EXPECT_TRUE(contains(passthrough.err, "error: spec.cpuMode: libvirt reports CPU mode host-passthrough as "
                                        "unsupported for qemu guests on this host (passing the host's CPU through "
                                        "needs KVM); declare `cpuMode: default`"))
      << passthrough.err;
  EXPECT_FALSE(box.domainExists(vm)) << "refused at plan time: nothing was defined";
  // UEFI: Debian's ovmf is installed here, so libvirt finds firmware (its absence
  // is refused too: capabilities_test).
  Outcome uefi = box.hostform({"plan", "-f", vmWith("  accelerator: " + box.accelerator() + "\n  firmware: uefi\n")});
  EXPECT_EQ(uefi.code, 0) << uefi.err;
}

TEST_F(Libvirtd, UnreachableLibvirtdIsAClearErrorNamingTheUri) {
  Outcome r = testing::runProgram(HOSTFORM_BINARY, {"plan", "-f", box.manifest(box.vmDoc(vm, "  memory: 64MiB\n")),
                                                    "--state-dir", box.dir().path() + "/s", "--libvirt-uri",
                                                    "qemu+unix:///system?socket=/nonexistent/sock"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "cannot connect to libvirt at qemu+unix:///system?socket=/nonexistent/sock")) << r.err;
}

}  // namespace
}  // namespace hostform::kvmtest
