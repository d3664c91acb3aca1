#pragma once
/// One planned action as lvm2 commands. Each command is one argv run through
/// runChecked on ApplyInputs::commands; the first failure stops the action and is its error, carrying
/// lvm's own message.

#include <chrono>

#include "providers/lvm/session.h"
#include "providers/lvm/report.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

struct ApplyInputs {
  const LvmState& state;             ///< lvm's report the plan was made from
  Commands& commands;                ///< where the commands go
  std::chrono::milliseconds timeout; ///< per command
};

/// Runs `action` (a VolumeGroup or LogicalVolume create, update or delete).
/// Ownership tags are written by the command that creates the object
/// (vgcreate/lvcreate --addtag), so a crash never leaves an unowned object.
Result<void> applyAction(const Action& action, const ApplyContext& ctx, ApplyInputs in);

}  // namespace hostform::lvm
