#include "reconciler/provider.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <iostream>

#include "reconciler/module.h"


namespace hostform {

// ---- plan.h -----------------------------------------------------------------

std::string_view toString(Op op) {
  switch (op) {
    case Op::Create: return "create";
    case Op::Update: return "update";
    case Op::Replace: return "replace";
    case Op::Delete: return "delete";
    case Op::Orphan: return "orphan";
  }
  return "?";
}

bool Action::needsRestart() const {
  return std::any_of(changes.begin(), changes.end(),
                     [](const FieldChange& c) { return c.cls == ChangeClass::Restart; });
}

PlanSummary Plan::summary() const {
  PlanSummary s;
  for (const Action& a : actions) {
    switch (a.op) {
      case Op::Create: ++s.create; break;
      case Op::Update: ++s.update; break;
      case Op::Replace: ++s.replace; break;
      case Op::Delete: ++s.remove; break;
      case Op::Orphan: ++s.orphan; break;
    }
    if (a.dataLoss && !allowDataLoss && a.op != Op::Orphan) ++s.refused;
  }
  return s;
}

std::vector<const Action*> Plan::refused() const {
  std::vector<const Action*> out;
  if (allowDataLoss) return out;
  for (const Action& a : actions)
    if (a.dataLoss && a.op != Op::Orphan) out.push_back(&a);
  return out;
}

// ---- provider.h ---------------------------------------------------------------

const Resource* PlanContext::findDesired(const ResourceId& id) const {
  auto it = desired.find(id);
  return it == desired.end() ? nullptr : it->second;
}

const Observed* PlanContext::findObserved(const ResourceId& id) const {
  auto it = observed.find(id);
  return it == observed.end() ? nullptr : it->second;
}

bool PlanContext::prunable(const ResourceId& id) const {
  const Observed* o = findObserved(id);
  return o && o->owner == owner && !findDesired(id) && !external.contains(id);
}

Result<std::vector<Resource>> Provider::exportResources() {
  auto live = observe();
  if (!live) return hostform::unexpected(live.error());
  std::vector<Resource> out;
  out.reserve(live->objects.size());
  for (Observed& o : live->objects) out.push_back(std::move(o.resource));
  return out;
}

Result<void> Provider::restore(const Observed& snapshot, const RestorePlan&, const Snapshot&, const ApplyContext&) {
  return fail("the " + std::string(name()) + " provider cannot restore " + snapshot.resource.id.str() + ".");
}

std::vector<StatusFact> Provider::status(const Resource&, const Observed* live, const Snapshot&) {
  return {wordFact("state", live ? "present" : "absent")};
}

StatusFact wordFact(std::string name, std::string value) {
  StatusFact f{std::move(name), value, nullptr};
  f.json = std::move(value);
  return f;
}

std::string approximateSize(Bytes bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) std::snprintf(text, sizeof text, "%" PRIu64 "B", static_cast<std::uint64_t>(bytes));
  else std::snprintf(text, sizeof text, "%.1f%s", value, kUnits[unit]);
  std::string out = text;
  if (auto dot = out.find(".0"); dot != std::string::npos && unit > 0 && !std::isdigit(static_cast<unsigned char>(out[dot + 2])))
    out.erase(dot, 2);  // "64.0MiB" -> "64MiB"
  return out;
}

StatusFact sizeFact(std::string name, Bytes bytes) {
  return {std::move(name), approximateSize(bytes), static_cast<std::uint64_t>(bytes)};
}

StatusFact percentFact(std::string name, std::optional<double> percent) {
  if (!percent) return {std::move(name), "unknown", nullptr};
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", *percent);
  return {std::move(name), text, *percent};
}

StatusFact secondsFact(std::string name, std::int64_t seconds) {
  return {std::move(name), formatDuration(std::chrono::seconds(seconds < 0 ? 0 : seconds)), seconds < 0 ? 0 : seconds};
}

std::vector<ProviderCommand>& providerCommands() {
  static std::vector<ProviderCommand> commands;
  return commands;
}

bool registerProviderCommand(ProviderCommand command) {
  providerCommands().push_back(std::move(command));
  return true;
}

std::vector<ProviderFactory>& providerFactories() {
  static std::vector<ProviderFactory> factories;
  return factories;
}

bool registerProvider(ProviderFactory factory) {
  providerFactories().push_back(std::move(factory));
  return true;
}

namespace {

/// The stand-in for a provider whose module could not be loaded: every call
/// that would read or change the host fails with the loader's sentence.
class UnloadedProvider final : public Provider {
 public:
  UnloadedProvider(std::string name, std::vector<Kind> kinds, std::string why)
      : name_(std::move(name)), kinds_(std::move(kinds)), why_(std::move(why)) {}
  std::string_view name() const override { return name_; }
  std::vector<Kind> kinds() const override { return kinds_; }
  Result<Observation> observe() override { return fail(why_); }
  Diff plan(const Resource&, const Observed*, const PlanContext&, const Snapshot&) override {
    Diff d;
    d.problems.push_back({"kind", why_});
    return d;
  }
  Result<void> apply(const Action&, const ApplyContext&) override { return fail(why_); }

 private:
  std::string name_;
  std::vector<Kind> kinds_;
  std::string why_;
};

}  // namespace

std::function<std::unique_ptr<Provider>(const ProviderOptions&)> moduleProvider(std::string module,
                                                                               std::string name,
                                                                               std::vector<Kind> kinds) {
  return [module = std::move(module), name = std::move(name),
          kinds = std::move(kinds)](const ProviderOptions& options) -> std::unique_ptr<Provider> {
    auto make = moduleFunction<ProviderMaker>(module, "provider");
    if (!make) return std::make_unique<UnloadedProvider>(name, kinds, make.error().message);
    return (*make)(options);
  };
}

std::function<int(const ProviderOptions&, const std::string&)> moduleCommand(std::string module,
                                                                             std::string command) {
  return [module = std::move(module), command = std::move(command)](const ProviderOptions& options,
                                                                    const std::string& argument) {
    auto run = moduleFunction<ProviderCommandRun>(module, command);
    if (!run) {
      std::cerr << "error: " << run.error().message << "\n";
      return 1;
    }
    return (*run)(options, argument);
  };
}

ProviderSet::ProviderSet(ProviderOptions options) : options_(std::move(options)), factories_(providerFactories()) {
  instances_.resize(factories_.size());
}

ProviderSet::ProviderSet(std::vector<std::unique_ptr<Provider>> providers) : instances_(std::move(providers)) {
  for (const auto& p : instances_) factories_.push_back({std::string(p->name()), p->kinds(), nullptr});
}

Provider* ProviderSet::forKind(Kind kind) {
  auto all = allForKind(kind);
  return all.empty() ? nullptr : all.front();
}

std::vector<Provider*> ProviderSet::allForKind(Kind kind) {
  std::vector<Provider*> out;
  for (std::size_t i = 0; i < factories_.size(); ++i) {
    const auto& kinds = factories_[i].kinds;
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) continue;
    if (!instances_[i]) instances_[i] = factories_[i].make(options_);
    out.push_back(instances_[i].get());
  }
  return out;
}

Provider* ProviderSet::forResource(const Resource& r) {
  for (std::size_t i = 0; i < factories_.size(); ++i) {
    const auto& kinds = factories_[i].kinds;
    if (std::find(kinds.begin(), kinds.end(), r.kind()) == kinds.end()) continue;
    if (!instances_[i]) instances_[i] = factories_[i].make(options_);
    if (instances_[i]->serves(r)) return instances_[i].get();
  }
  return nullptr;
}

std::vector<Provider*> ProviderSet::all() {
  std::vector<Provider*> out;
  for (Kind k : allKinds())
    for (Provider* p : allForKind(k))
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

}  // namespace hostform
