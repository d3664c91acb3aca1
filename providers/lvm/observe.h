#pragma once
/// What observe() does: one `lvm fullreport` through the session, parsed
/// (report.h) into LvmState, turned into the manifest model, and kept as the
/// snapshot that plan, deletion and apply are handed back.

#include <chrono>

#include "providers/lvm/device.h"
#include "providers/lvm/report.h"
#include "providers/lvm/session.h"
#include "reconciler/plan.h"

namespace hostform::lvm {

/// The LVM provider's snapshot: lvm's full report, and what the device probes
/// answered while plans were made from it.
struct LvmSnapshot final : Snapshot {
  explicit LvmSnapshot(LvmState s) : state(std::move(s)) {}
  LvmState state;
  /// Filled by plans, which see the snapshot const: a memo, not state.
  mutable ProbeMemo probes;
};

/// What observe() returns for `state`: its VGs and LVs with their owners, and
/// `state` as the snapshot. Also how tests observe a captured report.
Observation observeFrom(LvmState state);

/// Reads the host: `lvm fullreport` run through `commands` (each command
/// within `timeout`), parsed, then as observeFrom.
Result<Observation> observeHost(Commands& commands, std::chrono::milliseconds timeout);

}  // namespace hostform::lvm
