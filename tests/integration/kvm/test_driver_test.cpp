// The whole KVM provider through the engine, against libvirt's in-process
// test:///default driver: the real libvirt API (the same calls, the same XML,
// the same errors) without a daemon. Its state lives as long as this process,
// so every test uses names of its own and removes what it made.

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <sstream>

#include "reconciler/kinds/virtual_machine.h"
#include "providers/kvm/plan.h"
#include "providers/kvm/provider.h"
#include "providers/kvm/session.h"
#include "reconciler/engine.h"
#include "tests/support/manifests.h"

namespace hostform::kvm {
namespace {

constexpr const char* kUri = "test:///default";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class TestDriver : public ::testing::Test {
 protected:
  TestDriver() : prefix_("hft" + std::to_string(::getpid()) + "x" + std::to_string(counter_++)) {
    conn_.reset(virConnectOpen(kUri));
  }
  ~TestDriver() override {
    // Everything this test's owner made, pruned the way an operator would.
    RunOptions o = options("");
    o.prune = Prune::Yes;
    o.allowEmpty = AllowEmpty::Yes;
    o.dataLoss = DataLoss::Allow;
    run(runApply, o);
  }

  std::string name(const std::string& suffix) const { return prefix_ + suffix; }

  RunOptions options(const std::string& yaml, const std::string& owner = "tdriver") {
    RunOptions o;
    o.files = {dir_.write("m" + std::to_string(files_++) + ".yaml", yaml)};
    o.owner = owner;
    o.stateDir = dir_.path() + "/state";
    return o;
  }

  int run(int (*command)(const RunOptions&, ProviderSet&, const Console&), const RunOptions& o) {
    ProviderSet providers(ProviderOptions{kUri, o.owner, o.stateDir});
    std::ostringstream out, err;
    Console console{out, err, Color::Off};
    int code = command(o, providers, console);
    out_ = out.str();
    err_ = err.str();
    return code;
  }
  int plan(const RunOptions& o) { return run(runPlan, o); }
  int apply(const RunOptions& o) { return run(runApply, o); }

  std::string storage() const {
    return "apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: " + name("pool") +
           "}\nspec: {type: dir, target: /" + name("pool") +
           "}\n---\napiVersion: hostform/v1\nkind: Volume\nmetadata: {name: disk.qcow2}\nspec: {pool: " + name("pool") +
           ", capacity: 1GiB}\n---\n";
  }
  std::string vm(const std::string& extra = "") const {
    return "apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: " + name("vm") +
           "}\nspec:\n  memory: 64MiB\n  shutdownTimeout: 1s\n  disks: [{volume: {pool: " + name("pool") +
           ", name: disk.qcow2}}]\n" + extra;
  }

  static inline int counter_ = 0;
  std::string prefix_;
  testing::TempDir dir_;
  int files_ = 0;
  std::string out_, err_;
  struct ConnClose {
    void operator()(virConnectPtr c) const { virConnectClose(c); }
  };
  std::unique_ptr<virConnect, ConnClose> conn_;
};

TEST_F(TestDriver, CreatesPoolVolumeAndVmThenConverges) {
  RunOptions o = options(storage() + vm());
  ASSERT_EQ(apply(o), kExitOk) << out_ << err_;
  EXPECT_TRUE(contains(out_, "Apply complete: 3 done.")) << out_;

  DomainHandle dom(virDomainLookupByName(conn_.get(), name("vm").c_str()));
  ASSERT_TRUE(dom);
  EXPECT_EQ(virDomainIsActive(dom.get()), 1);
  int autostart = 0;
  virDomainGetAutostart(dom.get(), &autostart);
  EXPECT_EQ(autostart, 1);
  const std::string xml = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
  EXPECT_TRUE(contains(xml, "<hostform:owner>tdriver</hostform:owner>")) << xml;
  EXPECT_TRUE(contains(xml, "volume='disk.qcow2'")) << xml;

  o.detailedExitCode = DetailedExitCode::Yes;
  EXPECT_EQ(plan(o), kExitOk) << out_ << err_;
  EXPECT_EQ(out_, "No changes. Host matches the manifests.\n");
}

TEST_F(TestDriver, ChangesToAStoppedVmAreNotRestartClass) {
  ASSERT_EQ(apply(options(storage() + vm("  state: stopped\n"))), kExitOk) << out_ << err_;
  RunOptions o = options(storage() + vm("  state: stopped\n  machine: pc\n  vcpus: 2\n"));
  ASSERT_EQ(plan(o), kExitOk) << err_;
  EXPECT_TRUE(contains(out_, "vcpus 1 -> 2, maxVcpus 1 -> 2, machine q35 -> pc\n")) << out_;
  EXPECT_FALSE(contains(out_, "(restart)")) << out_;
}

TEST_F(TestDriver, RestartClassChangesOnARunningVmSayRestart) {
  ASSERT_EQ(apply(options(storage() + vm())), kExitOk) << out_ << err_;
  RunOptions o = options(storage() + vm("  machine: pc\n  maxMemory: 128MiB\n"));
  ASSERT_EQ(plan(o), kExitOk) << err_;
  EXPECT_TRUE(contains(out_, "maxMemory 64MiB -> 128MiB (restart), machine q35 -> pc (restart)")) << out_;
  ASSERT_EQ(apply(o), kExitOk) << out_ << err_;
  DomainHandle dom(virDomainLookupByName(conn_.get(), name("vm").c_str()));
  const std::string persistent = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
  EXPECT_TRUE(contains(persistent, "machine='pc'")) << persistent;
  EXPECT_TRUE(contains(persistent, "<memory unit='KiB'>131072</memory>")) << persistent;
  EXPECT_EQ(virDomainIsActive(dom.get()), 1);
  o.detailedExitCode = DetailedExitCode::Yes;
  EXPECT_EQ(plan(o), kExitOk) << out_;
}

TEST_F(TestDriver, PruneDeletesOwnedObjectsAndNeverTheDriversOwn) {
  ASSERT_EQ(apply(options(storage() + vm())), kExitOk) << out_ << err_;
  RunOptions o = options(storage());
  o.prune = Prune::Yes;
  ASSERT_EQ(apply(o), kExitOk) << out_ << err_;
  EXPECT_TRUE(contains(out_, "- VirtualMachine/" + name("vm"))) << out_;
  EXPECT_FALSE(contains(out_, "VirtualMachine/test ")) << out_;  // the driver's own domain: not ours
  EXPECT_FALSE(virDomainLookupByName(conn_.get(), name("vm").c_str()));
  DomainHandle theirs(virDomainLookupByName(conn_.get(), "test"));
  EXPECT_TRUE(theirs);
  // The VM's disk stays: volumes are never deleted as a side effect.
  PoolHandle pool(virStoragePoolLookupByName(conn_.get(), name("pool").c_str()));
  ASSERT_TRUE(pool);
  VolumeHandle vol(virStorageVolLookupByName(pool.get(), "disk.qcow2"));
  EXPECT_TRUE(vol);
}

TEST_F(TestDriver, ExportedObjectsApplyAsNoChange) {
  ASSERT_EQ(apply(options(storage() + vm("  vcpus: 2\n  maxVcpus: 4\n  autostart: false\n"))), kExitOk) << err_;
  std::ostringstream out, err;
  ProviderSet providers(ProviderOptions{kUri, "tdriver", dir_.path() + "/state"});
  Console console{out, err, Color::Off};
  ASSERT_EQ(runExport({kinds::StoragePool, kinds::Volume, kinds::VirtualMachine}, providers, console), kExitOk)
      << err.str();
  // Keep this test's documents (the driver has objects of its own).
  std::string mine;
  std::istringstream docs(out.str());
  std::string line, doc;
  auto flush = [&] {
    if (contains(doc, prefix_)) mine += doc + "---\n";
    doc.clear();
  };
  while (std::getline(docs, line)) {
    if (line == "---") flush();
    else doc += line + "\n";
  }
  flush();
  EXPECT_TRUE(contains(mine, "vcpus: 2")) << mine;
  EXPECT_TRUE(contains(mine, "maxVcpus: 4")) << mine;
  RunOptions o = options(mine);
  o.detailedExitCode = DetailedExitCode::Yes;
  EXPECT_EQ(plan(o), kExitOk) << out_ << err_ << mine;
  EXPECT_EQ(out_, "No changes. Host matches the manifests.\n") << mine;
}

TEST_F(TestDriver, AnUnownedDomainIsNeverChangedButCanBeAdoptedAsItIs) {
  // The driver's "test" domain: 8 GiB, 2 vCPUs, running. Declared differently: refused.
  RunOptions differs = options(
      "apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: test}\nspec: {memory: 1GiB}\n");
  EXPECT_EQ(plan(differs), kExitError);
  EXPECT_TRUE(contains(err_, "error: metadata.name: the name test is taken by a domain hostform did not create, and "
                             "it differs from the manifest in: ")) << err_;
  EXPECT_EQ(apply(differs), kExitError);
  DomainHandle dom(virDomainLookupByName(conn_.get(), "test"));
  const std::string xml = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
  EXPECT_FALSE(contains(xml, "hostform")) << xml;
}

TEST_F(TestDriver, FixedFieldsAreRefusedAtPlanTime) {
  ASSERT_EQ(apply(options(storage())), kExitOk) << out_ << err_;
  std::string moved = storage();
  moved.replace(moved.find("target: /"), 9, "target: /elsewhere/");
  moved.replace(moved.find("capacity: 1GiB"), 14, "capacity: 1GiB, format: raw");
  RunOptions o = options(moved);
  EXPECT_EQ(apply(o), kExitError);
  EXPECT_TRUE(contains(err_, "error: spec.target: storage pool " + name("pool") + " has target /" + name("pool") +
                             " on the host and /elsewhere/" + name("pool") +
                             " in the manifest; it is fixed when the pool is created.")) << err_;
  EXPECT_TRUE(contains(err_, "error: spec.format: Volume/" + name("pool") +
                             "/disk.qcow2 is qcow2 on the host and raw in the manifest; the format is fixed when a "
                             "volume is created.")) << err_;
  EXPECT_TRUE(contains(err_, "nothing was changed")) << err_;
}

TEST_F(TestDriver, PreallocatedVolumesAreFullAndPruningVolumesNeedsPermission) {
  RunOptions o = options(storage() + "apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: thick.raw}\nspec: {pool: " +
                         name("pool") + ", capacity: 64MiB, format: raw, allocation: full}\n");
  ASSERT_EQ(apply(o), kExitOk) << out_ << err_;
  PoolHandle pool(virStoragePoolLookupByName(conn_.get(), name("pool").c_str()));
  VolumeHandle vol(virStorageVolLookupByName(pool.get(), "thick.raw"));
  virStorageVolInfo info{};
  ASSERT_EQ(virStorageVolGetInfo(vol.get(), &info), 0);
  EXPECT_EQ(info.capacity, 64u << 20);
  EXPECT_EQ(info.allocation, 64u << 20);

  // Pruning the volumes loses data: refused without --allow-data-loss, and the
  // pool cannot go while they stay.
  RunOptions none = options("");
  none.prune = Prune::Yes;
  none.allowEmpty = AllowEmpty::Yes;
  EXPECT_EQ(apply(none), kExitRefused) << out_ << err_;
  EXPECT_TRUE(contains(err_, "refused: deleting volume " + name("pool") + "/thick.raw destroys its 64MiB of contents")) << err_;
  EXPECT_TRUE(VolumeHandle(virStorageVolLookupByName(pool.get(), "thick.raw")));
  none.dataLoss = DataLoss::Allow;
  ASSERT_EQ(apply(none), kExitOk) << out_ << err_;
  EXPECT_TRUE(contains(out_, "Plan: 0 to create, 0 to change, 3 to delete.")) << out_;
  EXPECT_FALSE(PoolHandle(virStoragePoolLookupByName(conn_.get(), name("pool").c_str())));
  EXPECT_TRUE(PoolHandle(virStoragePoolLookupByName(conn_.get(), "default-pool"))) << "not ours: never touched";
}

// ---- Between plan and apply: the provider driven by hand, as the engine drives it ----

/// A stopped VM without disks on bridge NICs (bridges are not checked here:
/// this is the provider alone, without the planner's references).
VirtualMachineSpec nicVm(std::vector<InterfaceSpec> nics, VmState state = VmState::Stopped) {
  VirtualMachineSpec spec;
  spec.memory = spec.maxMemory = 64 * MiB;
  spec.state = state;
  spec.autostart = false;
  spec.shutdownTimeout = Millis(1'000);
  spec.interfaces = std::move(nics);
  return spec;
}

class ProviderByHand : public TestDriver {
 protected:
  Resource vm(const VirtualMachineSpec& spec) const {
    Resource r;
    r.id = ResourceId{kinds::VirtualMachine, "", name("vm")};
    r.spec = spec;
    return r;
  }

  /// Observes and plans `desired` (owner tdriver), then applies the action,
  /// letting `meanwhile` change the delta or the host between the two.
  Result<void> planAndApply(const Resource& desired,
                            const std::function<void(DomainDelta&)>& meanwhile = [](DomainDelta&) {}) {
    auto observed = provider_.observe();
    if (!observed) return hostform::unexpected(observed.error());
    const Observed* live = nullptr;
    for (const Observed& o : observed->objects)
      if (o.resource.id == desired.id) live = &o;
    PlanContext ctx;
    ctx.owner = "tdriver";
    Diff diff = provider_.plan(desired, live, ctx, *observed->snapshot);
    if (!diff.problems.empty()) return fail(diff.problems.front().message);
    changes_ = diff.changes;
    Action a;
    a.op = live ? Op::Update : Op::Create;
    a.id = desired.id;
    a.desired = &desired;
    a.live = live;
    a.adopt = live && live->owner.empty();
    a.restartsNow = diff.restartsNow;
    a.delta = std::move(diff.delta);
    a.provider = &provider_;
    a.snapshot = observed->snapshot.get();
    meanwhile(std::any_cast<DomainDelta&>(a.delta));
    return provider_.apply(a, ApplyContext{"tdriver"});
  }

  /// The persistent definition as libvirt has it.
  DomainConfig definition() const {
    DomainHandle dom(virDomainLookupByName(conn_.get(), name("vm").c_str()));
    EXPECT_TRUE(dom);
    auto config = parseDomainXml(takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE)));
    EXPECT_TRUE(config) << config.error().message;
    return config ? *config : DomainConfig{};
  }

  KvmProvider provider_{kUri};
  std::vector<FieldChange> changes_;  ///< what the last plan showed
};

TEST_F(ProviderByHand, ANicWithoutAMacGetsARealOneWhenApplyWritesIt) {
  VirtualMachineSpec spec = nicVm({InterfaceSpec{"hfbr0", std::nullopt, "virtio"}});
  ASSERT_TRUE(planAndApply(vm(spec))) << "create";
  const std::vector<DomainNic> created = definition().nics;
  ASSERT_EQ(created.size(), 1u);
  EXPECT_TRUE(created[0].mac.starts_with("52:54:00:")) << created[0].mac;

  // Kept from then on: the next plan finds the NIC by its bridge.
  ASSERT_TRUE(planAndApply(vm(spec)));
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(definition().nics, created);

  // A second one gets a MAC of its own, and the first keeps its.
  spec.interfaces.push_back(InterfaceSpec{"hfbr1", std::nullopt, "virtio"});
  ASSERT_TRUE(planAndApply(vm(spec))) << "update";
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].to, "hfbr1");
  const std::vector<DomainNic> updated = definition().nics;
  ASSERT_EQ(updated.size(), 2u);
  EXPECT_EQ(updated[0], created[0]);
  EXPECT_TRUE(updated[1].mac.starts_with("52:54:00:")) << updated[1].mac;
  EXPECT_NE(updated[1].mac, created[0].mac);
}

TEST_F(ProviderByHand, ApplyCarriesOutThePlanItWasGivenNotAFreshComparison) {
  VirtualMachineSpec spec = nicVm({});
  ASSERT_TRUE(planAndApply(vm(spec)));
  spec.memory = 96 * MiB;
  spec.maxMemory = 128 * MiB;
  // Between plan and apply someone adds a NIC to the definition. The plan did
  // not say to remove it, so apply does not: the next plan will show it.
  ASSERT_TRUE(planAndApply(vm(spec), [&](DomainDelta&) {
    DomainHandle dom(virDomainLookupByName(conn_.get(), name("vm").c_str()));
    std::string xml = takeString(virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE));
    xml.insert(xml.find("</devices>"), nicDeviceXml({"theirs", "52:54:00:fe:fe:fe", "virtio"}));
    ASSERT_TRUE(DomainHandle(virDomainDefineXML(conn_.get(), xml.c_str()))) << lastError();
  }));
  const DomainConfig now = definition();
  EXPECT_EQ(now.memory, 96 * MiB);
  EXPECT_EQ(now.maxMemory, 128 * MiB);
  ASSERT_EQ(now.nics.size(), 1u);
  EXPECT_EQ(now.nics[0].mac, "52:54:00:fe:fe:fe");
}

TEST_F(ProviderByHand, ANicModelChangePlannedAsDetachAndAttachIsExecutedSo) {
  VirtualMachineSpec spec = nicVm({InterfaceSpec{"hfbr0", std::string("52:54:00:00:00:07"), "e1000"}},
                                  VmState::Running);
  ASSERT_TRUE(planAndApply(vm(spec)));
  spec.interfaces[0].model = "virtio";
  // The plan makes a model change restart-class; here it is planned as a live
  // replacement of the NIC instead, and apply must do exactly that: write the
  // definition, then detach the NIC from the running domain (the test driver
  // cannot hot-plug, so that is where it stops, saying so).
  auto applied = planAndApply(vm(spec), [](DomainDelta& d) {
    ASSERT_FALSE(d.hasLiveChanges());
    d.detachNics.push_back(DomainNic{"hfbr0", "52:54:00:00:00:07", "e1000"});
    d.attachNics.push_back(0);
  });
  ASSERT_FALSE(applied);
  EXPECT_TRUE(contains(applied.error().message, "cannot detach interface 52:54:00:00:00:07 on running domain " +
                                                    name("vm") + ": "))
      << applied.error().message;
  EXPECT_EQ(definition().nics.at(0).model, "virtio");
}

TEST_F(TestDriver, UnreachableLibvirtIsAClearErrorNamingTheUri) {
  RunOptions o = options(vm());
  ProviderSet providers(ProviderOptions{"qemu+unix:///system?socket=/nonexistent/libvirt-sock", o.owner, o.stateDir});
  std::ostringstream out, err;
  Console console{out, err, Color::Off};
  EXPECT_EQ(runPlan(o, providers, console), kExitError);
  EXPECT_TRUE(contains(err.str(), "cannot connect to libvirt at qemu+unix:///system?socket=/nonexistent/libvirt-sock"))
      << err.str();
}

}  // namespace
}  // namespace hostform::kvm
