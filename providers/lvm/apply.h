#pragma once
/// One planned action as lvm2 commands: the plan's delta (plan.h) carried out
/// as it was decided, nothing recomputed. Each command is one argv run
/// through runChecked on ApplyInputs::commands; the first failure stops the
/// action and is its error, carrying lvm's own message.

#include <chrono>

#include "providers/lvm/session.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

struct ApplyInputs {
  Commands& commands;                ///< where the commands go
  std::chrono::milliseconds timeout; ///< per command
};

/// Runs `action` (a VolumeGroup or LogicalVolume create, update or delete):
/// a create or update runs its delta (VolumeGroupDelta, LogicalVolumeDelta),
/// then, when the action adopts the object, writes its ownership tag.
/// Ownership tags of new objects are written by the command that creates them
/// (vgcreate/lvcreate --addtag), so a crash never leaves an unowned object.
Result<void> applyAction(const Action& action, const ApplyContext& ctx, ApplyInputs in);

/// `hostform restore` of an LVM snapshot: lvconvert --merge of the plan's RestoreDelta.
Result<void> restoreSnapshot(const RestorePlan& plan, const ApplyContext& ctx, ApplyInputs in);

}  // namespace hostform::lvm
