#pragma once
/// `hostform status`: each declared resource's live state, as its provider
/// reads it (Provider::status), in text or JSON (docs/spec.md, `status`).

#include <string>
#include <vector>

#include "reconciler/engine.h"

namespace hostform {

/// One declared resource's status.
struct ResourceStatus {
  ResourceId id;
  bool present = false;
  std::vector<StatusFact> facts;  ///< "state" first
};

/// The text output: each resource's identity, then one indented line per fact,
/// names aligned ("  state   running").
std::string renderStatusText(const std::vector<ResourceStatus>& statuses);
/// The JSON output: {"resources": [{"kind", "name", "scope"?, "present", "facts": {name: value}}]}.
std::string renderStatusJson(const std::vector<ResourceStatus>& statuses);

/// Loads the manifests as `plan` does, observes the providers of the declared
/// kinds, and prints each declared resource's status on console.out in
/// options.output. Exit 0 when the host could be read, 1 on errors (bad
/// manifests, a provider that cannot be read).
int runStatus(const RunOptions& options, ProviderSet& providers, const Console& console);

}  // namespace hostform
