#include "reconciler/saved_plan.h"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reconciler/atomic_file.h"

namespace hostform {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "hostform-plan";

json toJson(const ObservedRecord& r) {
  if (!r.present) return nullptr;
  return {{"owner", r.owner}, {"labels", r.labels}, {"fields", r.fields}};
}

ObservedRecord recordFromJson(const json& j) {
  ObservedRecord r;
  if (j.is_null()) return r;
  r.present = true;
  r.owner = j.at("owner").get<std::string>();
  r.labels = j.at("labels").get<std::map<std::string, std::string>>();
  r.fields = j.at("fields").get<std::map<std::string, std::string>>();
  return r;
}

std::string shown(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "(none)" : it->second.empty() ? "\"\"" : it->second;
}

/// "mtu 1500 → 9000, labels.app a → b" for the keys of `a` and `b` that differ.
void mapChanges(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b,
                const std::string& prefix, std::vector<std::string>& out) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  for (const std::string& k : keys)
    if (shown(a, k) != shown(b, k)) out.push_back(prefix + k + " " + shown(a, k) + " → " + shown(b, k));
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

/// Generated names carry the time they were planned at ("-before-20261207T041502"):
/// a plan made again minutes later differs only there, so those are not compared.
std::string withoutTimes(std::string s) {
  auto digits = [&](std::size_t from, std::size_t n) {
    if (from + n > s.size()) return false;
    for (std::size_t i = from; i < from + n; ++i)
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
  };
  for (std::size_t t = s.find('T', 8); t != std::string::npos; t = s.find('T', t + 1))
    if (digits(t - 8, 8) && digits(t + 1, 6)) s.replace(t - 8, 15, "YYYYMMDDThhmmss");
  return s;
}

/// An action as one phrase: "update (mtu 1500 → 9000)".
std::string describe(const json& action) {
  if (action.is_null()) return "nothing";
  std::vector<std::string> changes;
  for (const json& c : action.value("changes", json::array())) {
    auto value = [&](const char* key) {
      const json& v = c.value(key, json(nullptr));
      return v.is_string() ? v.get<std::string>() : std::string("(none)");
    };
    changes.push_back(c.value("field", "") + " " + value("from") + " → " + value("to"));
  }
  std::string s = action.value("op", "?");
  if (!changes.empty()) s += " (" + joined(changes) + ")";
  return s;
}

}  // namespace

std::map<std::string, ObservedRecord> observedRecords(const Plan& plan) {
  std::map<ResourceId, const Observed*> live;
  for (const Observed& o : plan.observed) live.emplace(o.resource.id, &o);
  std::set<ResourceId> ids;
  for (const Resource& r : plan.desired) ids.insert(r.id);
  for (const Action& a : plan.actions) ids.insert(a.id);
  for (const ResourceId& id : plan.external) ids.insert(id);
  std::map<std::string, ObservedRecord> records;
  for (const ResourceId& id : ids) {
    ObservedRecord& r = records[id.str()];
    auto it = live.find(id);
    if (it == live.end()) continue;
    r.present = true;
    r.owner = it->second->owner;
    r.labels = it->second->resource.labels;
    for (const Field& f : fields(it->second->resource)) r.fields[f.path] = f.value;
  }
  return records;
}

Result<void> writeSavedPlan(const std::filesystem::path& file, const SavedPlan& saved) {
  const SavedOptions& o = saved.options;
  json manifests = json::array();
  for (const ManifestText& m : saved.manifests) manifests.push_back({{"name", m.name}, {"text", m.text}});
  json observed = json::object();
  for (const auto& [id, r] : saved.observed) observed[id] = toJson(r);
  json plan = json::parse(saved.planJson, nullptr, false);
  if (plan.is_discarded()) return fail("cannot save the plan: its JSON form does not parse (a bug).");
  const json doc = {{"format", kFormat},
                    {"version", SavedPlan::kVersion},
                    {"hostform", HOSTFORM_VERSION},
                    {"options",
                     {{"files", o.files},
                      {"prune", o.prune},
                      {"allowEmpty", o.allowEmpty},
                      {"allowDataLoss", o.allowDataLoss},
                      {"snapshotBeforeLoss", o.snapshotBeforeLoss},
                      {"owner", o.owner},
                      {"stateDir", o.stateDir},
                      {"libvirtUri", o.libvirtUri}}},
                    {"manifests", std::move(manifests)},
                    {"plan", std::move(plan)},
                    {"observed", std::move(observed)}};
  // Invalid UTF-8 cannot come from the loader (it refuses it); replace rather than throw anyway.
  return writeFileAtomically(file, doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n", "the saved plan");
}

Result<SavedPlan> readSavedPlan(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) return fail(name + " is a directory, not a saved plan.");
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot read the saved plan " + name + ".");
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("format", json()) != kFormat)
    return fail(name + " is not a plan saved by `hostform plan -out`.");
  const json& version = doc.value("version", json());
  if (!version.is_number_integer())
    return fail(name + " is a damaged saved plan: make the plan again with `hostform plan -out`.");
  if (version.get<long long>() != SavedPlan::kVersion)
    return fail(name + " is a saved plan of format version " + version.dump() + "; this hostform reads version " +
                std::to_string(SavedPlan::kVersion) + " only: make the plan again with `hostform plan -out`.");
  try {
    SavedPlan saved;
    const json& o = doc.at("options");
    saved.options.files = o.at("files").get<std::vector<std::string>>();
    saved.options.prune = o.at("prune").get<bool>();
    saved.options.allowEmpty = o.at("allowEmpty").get<bool>();
    saved.options.allowDataLoss = o.at("allowDataLoss").get<bool>();
    saved.options.snapshotBeforeLoss = o.at("snapshotBeforeLoss").get<bool>();
    saved.options.owner = o.at("owner").get<std::string>();
    saved.options.stateDir = o.at("stateDir").get<std::string>();
    saved.options.libvirtUri = o.at("libvirtUri").get<std::string>();
    for (const json& m : doc.at("manifests"))
      saved.manifests.push_back({m.at("name").get<std::string>(), m.at("text").get<std::string>()});
    const json& plan = doc.at("plan");
    if (!plan.is_object() || !plan.contains("actions")) throw std::runtime_error("plan");
    saved.planJson = plan.dump(2) + "\n";
    for (const auto& [id, r] : doc.at("observed").items()) saved.observed[id] = recordFromJson(r);
    if (saved.options.owner.empty()) throw std::runtime_error("owner");
    return saved;
  } catch (const std::exception&) {
    return fail(name + " is a damaged saved plan: make the plan again with `hostform plan -out`.");
  }
}

std::vector<std::string> hostChanges(const SavedPlan& saved, const std::map<std::string, ObservedRecord>& now) {
  std::set<std::string> ids;
  for (const auto& [id, r] : saved.observed) ids.insert(id);
  for (const auto& [id, r] : now) ids.insert(id);
  const ObservedRecord absent;
  std::vector<std::string> lines;
  for (const std::string& id : ids) {
    auto s = saved.observed.find(id);
    auto n = now.find(id);
    const ObservedRecord& before = s == saved.observed.end() ? absent : s->second;
    const ObservedRecord& after = n == now.end() ? absent : n->second;
    if (before == after) continue;
    if (!before.present) {
      lines.push_back(id + ": now on the host, absent when the plan was saved");
      continue;
    }
    if (!after.present) {
      lines.push_back(id + ": no longer on the host");
      continue;
    }
    std::vector<std::string> what;
    if (before.owner != after.owner)
      what.push_back("owner " + (before.owner.empty() ? std::string("(none)") : before.owner) + " → " +
                     (after.owner.empty() ? std::string("(none)") : after.owner));
    mapChanges(before.labels, after.labels, "labels.", what);
    mapChanges(before.fields, after.fields, "", what);
    lines.push_back(id + ": " + joined(what));
  }
  return lines;
}

std::vector<std::string> planChanges(const std::string& savedJson, const std::string& nowJson) {
  const json a = json::parse(withoutTimes(savedJson), nullptr, false);
  const json b = json::parse(withoutTimes(nowJson), nullptr, false);
  if (a == b) return {};
  auto byId = [](const json& plan) {
    std::map<std::string, json> actions;
    if (plan.is_object())
      for (const json& action : plan.value("actions", json::array())) actions[action.value("id", "")] = action;
    return actions;
  };
  const auto before = byId(a), after = byId(b);
  std::set<std::string> ids;
  for (const auto& [id, x] : before) ids.insert(id);
  for (const auto& [id, x] : after) ids.insert(id);
  std::vector<std::string> lines;
  for (const std::string& id : ids) {
    auto s = before.find(id);
    auto n = after.find(id);
    const json& x = s == before.end() ? json() : s->second;
    const json& y = n == after.end() ? json() : n->second;
    if (x == y) continue;
    const std::string was = describe(x), is = describe(y);
    lines.push_back(id + ": saved: " + was + "; now: " + (was == is ? is + " (its details differ)" : is));
  }
  if (lines.empty()) lines.push_back("its external references or warnings differ");
  return lines;
}

}  // namespace hostform
