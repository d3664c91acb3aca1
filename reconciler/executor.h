#pragma once
/// Runs a Plan: a graph walk over Action::after with a pool of worker threads,
/// then verification by observing again (nmstate's lesson: apply, then check).

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "reconciler/ledger.h"
#include "reconciler/plan.h"

namespace hostform {

enum class Outcome { Pending, Done, Failed, Skipped };
std::string_view toString(Outcome outcome);

struct ActionOutcome {
  Outcome status = Outcome::Pending;
  std::string message;  ///< Done: "created"…; Failed: the error; Skipped: which dependency failed
};

struct ExecuteOptions {
  std::size_t jobs = 0;            ///< worker threads; 0: std::thread::hardware_concurrency()
  std::string owner = "default";   ///< written into ownership marks
  Ledger* ledger = nullptr;        ///< for kinds whose ownershipMark is Ledger; required if the plan has any
  /// Called before a provider applies an action; may be empty.
  std::function<void(const Action&)> onStart;
  /// Called once per action that ran, failed or was skipped; may be empty.
  /// Calls to onStart and onFinish never overlap, and an action's onFinish
  /// comes before the onStart of anything that depends on it.
  std::function<void(const Action&, const ActionOutcome&)> onFinish;
  /// Called with what a provider reports through ApplyContext::progress while
  /// an action runs ("waiting for ACPI shutdown, 12s of 60s"); may be empty.
  /// Made on the thread running the action, immediately (a long wait must show
  /// while it lasts), never overlapping onStart, onFinish or another call; an
  /// action's progress comes after its onStart and before its onFinish.
  std::function<void(const Action&, const std::string&)> onProgress;
  /// Asked before each action starts; may be empty. Once it returns true, no
  /// further action starts: each is Skipped ("not started: hostform is
  /// stopping"), while the ones already running finish (watch on SIGTERM).
  std::function<bool()> stopRequested;
};

struct ApplyReport {
  std::vector<ActionOutcome> outcomes;       ///< parallel to plan.actions; Orphan actions stay Pending
  std::vector<std::string> verifyFailures;   ///< "Bridge/br0: mtu is 1500 on the host, expected 9000"

  std::size_t done() const;
  std::size_t failed() const;
  std::size_t skipped() const;
  /// No failed or skipped action and no verification failure.
  bool ok() const;
};

/// Applies every action but Orphan ones, each after the actions it lists in
/// `after`, independent ones in parallel on up to `options.jobs` threads.
/// Actions whose provider gives the same non-empty serialKey() never run at
/// the same time. A failed action skips everything that depends on it,
/// directly or not; the rest goes on. Provider exceptions become failures.
///
/// Refuses, as a failure, an action with dataLoss when !plan.allowDataLoss.
/// For kinds marked in the ledger, records the owner before a create (and
/// before an update or replace that adopts an object owned by someone else),
/// so a crash right after creation never leaves an unowned object; forgets
/// it after a delete.
ApplyReport execute(const Plan& plan, const ExecuteOptions& options);

/// Observes every provider touched by a Done action once more and checks each
/// such resource reached its declared state (provider->plan(...).changes empty,
/// owner recorded) or, for deletes, is gone. Appends to report.verifyFailures:
///   "<id>: <field> is <from> on the host, expected <to>"
///   "<id>: owner is <x> on the host, expected <owner>"
///   "<id>: not found on the host after create"   (or update, replace)
///   "<id>: still on the host after delete"
///   "<provider>: observe after apply failed: <message>"
void verify(const Plan& plan, ApplyReport& report, const ExecuteOptions& options);

}  // namespace hostform
