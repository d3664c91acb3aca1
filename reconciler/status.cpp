#include "reconciler/status.h"

#include <algorithm>
#include <map>
#include <ostream>

#include <nlohmann/json.hpp>

#include "reconciler/loader.h"
#include "reconciler/text.h"

namespace hostform {

std::string renderStatusText(const std::vector<ResourceStatus>& statuses) {
  std::string out;
  for (const ResourceStatus& s : statuses) {
    out += escapeControl(s.id.str()) + "\n";
    std::size_t width = 0;
    for (const StatusFact& f : s.facts) width = std::max(width, f.name.size());
    for (const StatusFact& f : s.facts)
      // Values come from the host (interface names, guest-reported addresses): never raw control characters.
      out += "  " + f.name + std::string(width - f.name.size() + 2, ' ') + escapeControl(f.text) + "\n";
  }
  return out;
}

std::string renderStatusJson(const std::vector<ResourceStatus>& statuses) {
  nlohmann::json resources = nlohmann::json::array();
  for (const ResourceStatus& s : statuses) {
    nlohmann::json r{{"kind", s.id.kind.name()}, {"name", s.id.name}, {"present", s.present}};
    if (!s.id.scope.empty()) r["scope"] = s.id.scope;
    nlohmann::json facts = nlohmann::json::object();
    for (const StatusFact& f : s.facts) facts[f.name] = f.json;
    r["facts"] = std::move(facts);
    resources.push_back(std::move(r));
  }
  return nlohmann::json{{"resources", std::move(resources)}}.dump(2) + "\n";
}

int runStatus(const RunOptions& options, ProviderSet& providers, const Console& console) {
  if (options.files.empty()) {
    console.err << "error: no manifests given; pass -f FILE or -f DIRECTORY\n";
    return kExitError;
  }
  LoadResult loaded = loadManifests(options.files);
  if (loaded.diagnostics.hasErrors()) {
    loaded.diagnostics.print(console.err, Severity::Error);
    console.err << loaded.diagnostics.errorCount() << " error(s).\n";
    return kExitError;
  }
  loaded.diagnostics.print(console.err, Severity::Warning);
  std::vector<Resource>& desired = loaded.resources;
  std::sort(desired.begin(), desired.end(), [](const Resource& a, const Resource& b) { return a.id < b.id; });

  // Only the providers of the declared resources: a manifest of bridges never connects to libvirt.
  std::vector<Provider*> serving;
  for (const Resource& r : desired)
    if (Provider* p = providers.forResource(r); p && std::find(serving.begin(), serving.end(), p) == serving.end())
      serving.push_back(p);
  auto observed = observe(providers, serving, /*ledger=*/nullptr, nullptr, nullptr);
  if (!observed) {
    console.err << "error: " << observed.error().message << "\n";
    return kExitError;
  }
  std::map<ResourceId, const Observed*> live;
  for (const Observed& o : observed->objects) live.emplace(o.resource.id, &o);

  std::vector<ResourceStatus> statuses;
  for (const Resource& r : desired) {
    Provider* provider = providers.forResource(r);
    if (!provider) {
      console.err << "error: " << r.id.str() << ": no provider for the kind " << r.kind().name()
                  << " is built in.\n";
      return kExitError;
    }
    auto it = live.find(r.id);
    const Observed* object = it == live.end() ? nullptr : it->second;
    auto snapshot = observed->snapshots.find(provider);
    static const Snapshot kNothing;
    const Snapshot& host = snapshot != observed->snapshots.end() && snapshot->second ? *snapshot->second : kNothing;
    statuses.push_back({r.id, object != nullptr,
                        object ? provider->status(r, object, host)
                               : std::vector<StatusFact>{wordFact("state", "absent")}});
  }
  console.out << (options.output == OutputFormat::Json ? renderStatusJson(statuses) : renderStatusText(statuses));
  console.out.flush();
  return kExitOk;
}

}  // namespace hostform
