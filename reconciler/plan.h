#pragma once
/// The plan as data (Terraform's lesson): what will change, why, and in what
/// order. The planner produces it, renderers print it, the executor runs it;
/// none of them decides from the human-readable reason.

#include <any>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/diagnostics.h"
#include "reconciler/model.h"

namespace hostform {

class Provider;

/// What the host has for one resource, in the manifest model.
struct Observed {
  Resource resource;  ///< live state in the same schema as the desired state
  std::string owner;  ///< owner name from the ownership mark; empty: unowned
};

/// What one provider read of the host in one observe besides its objects (the
/// kernel's links, lvm's report, libvirt's capabilities), in a type of the
/// provider's own that derives from this. Its plan, deletion check and apply
/// are handed it back: a provider keeps no state between observe, plan and
/// apply, so nothing can be planned before it was observed.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

/// What one provider's observe returns.
struct Observation {
  std::vector<Observed> objects;
  std::shared_ptr<const Snapshot> snapshot = std::make_shared<const Snapshot>();
};

/// What every observed provider read for one plan.
struct Observations {
  std::vector<Observed> objects;
  std::map<const Provider*, std::shared_ptr<const Snapshot>> snapshots;
};

/// How a field change reaches a resource (docs/spec.md §1, VirtualMachine).
enum class ChangeClass {
  Live,     ///< applied in place, to the running object and its persistent config
  Restart,  ///< persistent config updated; takes effect at the next restart
  /// The object is made again: the provider consents to this class only for
  /// changes it cannot make in place. The engine carries a replace out as
  /// the provider's delete, then its create, and asks the provider's
  /// deletion check first (what stands in the way, what is lost).
  Replace,
};

/// One change as the plan shows it. For people and for the plan's JSON only:
/// apply executes the provider's typed delta (Action::delta), never these.
struct FieldChange {
  std::string field;                ///< path below spec: "size", "stp.forwardDelay"
  std::optional<std::string> from;  ///< display value; nullopt: unset/absent
  std::optional<std::string> to;
  ChangeClass cls = ChangeClass::Live;
};

enum class Op { Create, Update, Replace, Delete, Orphan };
std::string_view toString(Op op);

/// A snapshot a provider takes before a loss (docs/spec.md §4 Snapshot before
/// loss), as the plan and apply tell it.
struct SnapshotFirst {
  std::string what;     ///< "thin snapshot vg0/data-before-20261206T220102", as the plan shows it
  std::string name;     ///< the name `hostform restore NAME` takes: the Snapshot's metadata.name
  std::string drop;     ///< the backend command that drops it: "lvm lvremove -f vg0/data-before-20261206T220102"
  bool operator==(const SnapshotFirst&) const = default;
};

/// What a data-losing change or deletion says besides its loss: how much it
/// destroys, and the snapshot taken first, or why none can be.
struct LossDetail {
  std::optional<Bytes> destroys;               ///< "would destroy N GiB"; nullopt: unknown
  std::optional<SnapshotFirst> snapshotFirst;  ///< set: apply takes it before the loss
  /// Set when a snapshot was wanted (snapshotBeforeLoss) and the backend
  /// cannot take one: why ("a thick snapshot of an active origin blocks lvreduce").
  std::optional<std::string> noSnapshot;
  bool operator==(const LossDetail&) const = default;
};

/// One planned change of one object: what the plan shows, and everything its
/// provider's apply executes, decided at plan time.
struct Action {
  Op op = Op::Create;
  ResourceId id;
  std::vector<FieldChange> changes;     ///< Create/Update/Replace: field by field, as shown
  std::string reason;                   ///< why, for people: "declared, not on the host"
  std::optional<std::string> dataLoss;  ///< what would be lost; set: needs --allow-data-loss
  LossDetail loss;                      ///< with dataLoss: how much, and the snapshot taken first
  const Resource* desired = nullptr;    ///< Create/Update/Replace: the declared state
  const Observed* live = nullptr;       ///< Update/Replace/Delete/Orphan: the observed state
  /// Update: the object is unowned and becomes this owner's (its mark is written).
  bool adopt = false;
  /// Update: apply restarts the object, so restart-class changes take effect now.
  bool restartsNow = false;
  /// Create/Update: what the provider's plan computed for its apply to carry
  /// out, in the provider's own type (Diff::delta); empty when it needs none.
  std::any delta;
  /// Replace: what its delete carries out (Deletion::delta); the executor
  /// hands it to the provider's delete as that action's delta. (A Delete
  /// carries its Deletion::delta in `delta`.)
  std::any deleteDelta;
  Provider* provider = nullptr;
  const Snapshot* snapshot = nullptr;   ///< what the provider observed; owned by the plan
  std::vector<std::size_t> after;       ///< indices in Plan::actions that must finish first

  bool needsRestart() const;
};

struct PlanSummary {
  std::size_t create = 0, update = 0, replace = 0, remove = 0, orphan = 0;
  std::size_t refused = 0;  ///< actions with dataLoss while --allow-data-loss is off
  bool empty() const { return create + update + replace + remove + orphan == 0; }
};

/// A plan owns the states it was computed from, so actions can point into them:
/// it moves (a moved vector keeps its elements where they are) and never copies.
struct Plan {
  Plan() = default;
  Plan(Plan&&) noexcept = default;
  Plan& operator=(Plan&&) noexcept = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  std::vector<Resource> desired;
  std::vector<Observed> observed;
  std::map<const Provider*, std::shared_ptr<const Snapshot>> snapshots;  ///< what each provider observed
  std::vector<Action> actions;          ///< in execution order: creates/updates by dependency, deletes reversed
  std::vector<ResourceId> external;     ///< referenced, not declared, present on the host
  Diagnostics diagnostics;              ///< plan-time errors (infeasible, dangling) and warnings
  bool allowDataLoss = false;

  PlanSummary summary() const;
  /// Actions that need --allow-data-loss while it is off.
  std::vector<const Action*> refused() const;
};

}  // namespace hostform
