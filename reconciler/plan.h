#pragma once
/// The plan as data (Terraform's lesson): what will change, why, and in what
/// order. The planner produces it, renderers print it, the executor runs it;
/// none of them decides from the human-readable reason.

#include <cstddef>
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

/// How a field change reaches a resource (docs/spec.md §1, VirtualMachine).
enum class ChangeClass {
  Live,     ///< applied in place, to the running object and its persistent config
  Restart,  ///< persistent config updated; takes effect at the next restart
  Replace,  ///< the object is deleted and created again
};

struct FieldChange {
  std::string field;                ///< path below spec: "size", "stp.forwardDelay"
  std::optional<std::string> from;  ///< display value; nullopt: unset/absent
  std::optional<std::string> to;
  ChangeClass cls = ChangeClass::Live;
};

enum class Op { Create, Update, Replace, Delete, Orphan };
std::string_view toString(Op op);

struct Action {
  Op op = Op::Create;
  ResourceId id;
  std::vector<FieldChange> changes;     ///< Update/Replace: field by field
  std::string reason;                   ///< why, for people: "declared, not on the host"
  std::optional<std::string> dataLoss;  ///< what would be lost; set: needs --allow-data-loss
  const Resource* desired = nullptr;    ///< Create/Update/Replace
  const Observed* live = nullptr;       ///< Update/Replace/Delete/Orphan
  Provider* provider = nullptr;
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
  std::vector<Action> actions;          ///< in execution order: creates/updates by dependency, deletes reversed
  std::vector<ResourceId> external;     ///< referenced, not declared, present on the host
  Diagnostics diagnostics;              ///< plan-time errors (infeasible, dangling) and warnings
  bool allowDataLoss = false;

  PlanSummary summary() const;
  /// Actions that need --allow-data-loss while it is off.
  std::vector<const Action*> refused() const;
};

}  // namespace hostform
