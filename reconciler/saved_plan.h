#pragma once
/// A reviewed plan on disk (docs/spec.md §2 "Saved plans"): `plan -out FILE`
/// writes the manifests as they were loaded, the options that shaped the plan,
/// the plan itself and what the host looked like for every resource it
/// touches or compares; `apply FILE` plans again from exactly those inputs and
/// applies only when the host and the plan are still the same.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "reconciler/loader.h"
#include "reconciler/plan.h"
#include "reconciler/result.h"

namespace hostform {

/// The options of the `plan -out` that made a saved plan.
struct SavedOptions {
  std::vector<std::string> files;  ///< -f as given (shown only: the texts are saved)
  bool prune = false;
  bool allowEmpty = false;
  bool allowDataLoss = false;
  bool snapshotBeforeLoss = true;  ///< false with --no-snapshot
  std::string owner;
  std::string stateDir;
  std::string libvirtUri;  ///< as given; empty: $LIBVIRT_DEFAULT_URI, else the default
};

/// One resource as the planner observed it: absent, or its owner, labels and
/// spec fields as the plan shows them ("mtu" → "9000").
struct ObservedRecord {
  bool present = false;
  std::string owner;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> fields;
  bool operator==(const ObservedRecord&) const = default;
};

struct SavedPlan {
  /// The file format's version; a file of another version is refused.
  static constexpr int kVersion = 1;
  SavedOptions options;
  std::vector<ManifestText> manifests;
  std::string planJson;  ///< renderJson() of the plan
  /// By ResourceId::str(): every resource the plan declares, acts on or
  /// references (external).
  std::map<std::string, ObservedRecord> observed;
};

/// The records of every resource `plan` declares, acts on or references.
std::map<std::string, ObservedRecord> observedRecords(const Plan& plan);

/// Writes `saved` to `file` atomically, mode 0600 (it holds the manifests).
Result<void> writeSavedPlan(const std::filesystem::path& file, const SavedPlan& saved);

/// Reads a saved plan; a missing, foreign, damaged or newer file is an error
/// of one sentence naming `file`.
Result<SavedPlan> readSavedPlan(const std::filesystem::path& file);

/// How the host differs from the saved observation, one line per resource:
/// "Bridge/br0: mtu 1500 → 9000". Empty: the same.
std::vector<std::string> hostChanges(const SavedPlan& saved, const std::map<std::string, ObservedRecord>& now);

/// How a plan made now (renderJson) differs from the saved one, one line per
/// action: "Bridge/br0: saved: update (mtu 1500 → 9000); now: create". Times
/// in generated names (a snapshot's "-before-20261207T041502") are not
/// compared. Empty: the same plan.
std::vector<std::string> planChanges(const std::string& savedJson, const std::string& nowJson);

}  // namespace hostform
