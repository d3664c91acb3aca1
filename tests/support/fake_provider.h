#pragma once
/// The one fake of the project: an in-memory provider for engine tests and the
/// planner benchmark. It changes a fake world (Ninja's lesson), so a test can
/// apply a plan, plan again, and assert that the second run does nothing.
///
/// Configure a FakeProvider (its public settings) before planning or applying;
/// the settings are then read from several executor threads at once and must
/// not change. The recorded counters are safe to read at any time.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/provider.h"

namespace hostform::fake {

/// The "host": live objects by identity, each with its in-band owner.
class FakeWorld {
 public:
  /// Inserts or replaces the object with the same identity.
  void put(Observed object);
  void put(Resource resource, std::string owner) { put(Observed{std::move(resource), std::move(owner)}); }
  void erase(const ResourceId& id);
  std::optional<Observed> get(const ResourceId& id) const;
  bool contains(const ResourceId& id) const;
  std::size_t size() const;
  /// Every object of one of `kinds`, in identity order.
  std::vector<Observed> ofKinds(const std::vector<Kind>& kinds) const;
  std::map<ResourceId, Observed> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<ResourceId, Observed> objects_;
};

class FakeProvider : public Provider {
 public:
  FakeProvider(std::string name, std::vector<Kind> kinds, std::shared_ptr<FakeWorld> world);

  // ---- settings ---------------------------------------------------------------
  // Field paths are those of hostform::fields() ("mtu", "stp.forwardDelay");
  // a path also covers the leaves below it ("disks" covers "disks[0].bus").

  std::set<std::string> restartFields;    ///< changes classified Restart
  std::set<std::string> replaceFields;    ///< changes classified Replace
  std::set<std::string> immutableFields;  ///< a difference is a Diff::Problem, not a change
  /// Shrinking LogicalVolume size / Volume capacity, and deleting LV, Volume,
  /// VG or pool, report data loss.
  bool reportsDataLoss = true;
  /// Called at the end of plan() to add problems, data loss or changes.
  std::function<void(const Resource&, const Observed*, const PlanContext&, Diff&)> extraChecks;
  /// The problems deletion() reports; unset: nothing stands in the way.
  std::function<std::vector<Diff::Problem>(const Observed&, const PlanContext&)> deletionProblemsOf;

  std::string observeError;               ///< non-empty: observe() fails with this message
  std::function<void()> onObserve;        ///< called first thing in each observe(), on its thread
  std::set<ResourceId> failOn;            ///< apply() fails with "injected failure", changing nothing
  std::set<std::string> ignoreFields;     ///< an update or replace silently keeps the live value
  std::chrono::milliseconds delay{0};     ///< apply() sleeps this long (to observe parallelism)
  /// apply() reports each, as given, through ApplyContext::progress before
  /// changing the world (or failing).
  std::vector<std::string> progressReports;
  std::function<std::string(const Action&)> serialKeyOf;  ///< empty: no serialisation
  std::set<Kind> ledgerKinds;             ///< kinds whose ownership mark is the ledger
  bool isCheckpointed = false;            ///< Provider::checkpointed
  /// Provider::serves; empty: every resource of its kinds. observe() returns
  /// only the objects it serves.
  std::function<bool(const Resource&)> servesOf;
  /// planRestore's answer; empty: the default (cannot restore).
  std::function<std::optional<RestorePlan>(const Observed&)> restorePlanOf;
  /// Snapshots restore() was called for, in order.
  std::vector<ResourceId> restored() const;

  // ---- what happened ----------------------------------------------------------
  std::size_t observeCalls() const;
  std::size_t applyCalls() const;  ///< every call, failed ones included
  /// Ids whose apply() changed the world, in the order they finished.
  std::vector<ResourceId> applied() const;
  /// Most apply() calls in flight at once, overall and for one serial key.
  int maxConcurrency() const;
  int maxConcurrency(const std::string& serialKey) const;

  // ---- Provider -----------------------------------------------------------------
  std::string_view name() const override { return name_; }
  std::vector<Kind> kinds() const override { return kinds_; }
  OwnershipMark ownershipMark(Kind kind) const override;
  bool checkpointed() const override { return isCheckpointed; }
  bool serves(const Resource& r) const override { return !servesOf || servesOf(r); }
  Result<Observation> observe() override;
  std::optional<RestorePlan> planRestore(const Observed& snapshot, const PlanContext&, const Snapshot&) override {
    return restorePlanOf ? restorePlanOf(snapshot) : std::nullopt;
  }
  Result<void> restore(const Observed& snapshot, const RestorePlan&, const Snapshot&, const ApplyContext&) override;
  /// Field by field with fields(); `live` null (a create) compares nothing and
  /// only runs extraChecks.
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  Deletion deletion(const Observed& live, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;
  std::string serialKey(const Action& action) const override;

 private:
  /// Counts one apply() in flight for its lifetime, overall and per serial key.
  class InFlight;

  Resource appliedState(const Action& action) const;

  std::string name_;
  std::vector<Kind> kinds_;
  std::shared_ptr<FakeWorld> world_;

  mutable std::mutex recordMutex_;
  std::size_t observeCalls_ = 0;
  std::size_t applyCalls_ = 0;
  std::vector<ResourceId> applied_;
  std::vector<ResourceId> restored_;
  int current_ = 0;
  int max_ = 0;
  std::map<std::string, int> currentPerKey_;
  std::map<std::string, int> maxPerKey_;
};

// ---- test resources, with `id` filled by identityOf -----------------------------
Resource makeBridge(const std::string& name, std::optional<std::uint32_t> mtu = std::nullopt);
Resource makeVg(const std::string& name, std::vector<std::string> physicalVolumes, Bytes extentSize = 4 * MiB);
Resource makeLv(const std::string& vg, const std::string& name, Bytes size, LvType type = LvType::Linear);
Resource makePool(const std::string& name, std::string target = {});  ///< dir pool; target defaults below /var/lib/libvirt/images
Resource makeVolume(const std::string& pool, const std::string& name, Bytes capacity);
Resource makeVm(const std::string& name, std::uint32_t vcpus, Bytes memory);

}  // namespace hostform::fake
