#include "reconciler/watch/watch_state.h"

#include <ctime>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "reconciler/atomic_file.h"

namespace hostform::watch {
namespace {

using nlohmann::json;
/// Written in the order docs/watch.md shows, for people reading the file.
using ordered = nlohmann::ordered_json;

constexpr int kVersion = 1;

ordered orNull(const std::string& s) { return s.empty() ? ordered(nullptr) : ordered(s); }

/// The string at `key`; empty for null. Anything else is corrupt.
std::string text(const json& object, const char* key) {
  const json& v = object.at(key);
  if (v.is_null()) return {};
  return v.get<std::string>();
}

std::size_t count(const json& object, const char* key) { return object.at(key).get<std::size_t>(); }

}  // namespace

ordered runJson(const RunRecord& r) {
  return {{"at", r.at},
          {"trigger", r.trigger},
          {"commit", orNull(r.commit)},
          {"result", r.result},
          {"exitCode", r.exitCode},
          {"dryRun", r.dryRun},
          {"plan",
           {{"create", r.create}, {"update", r.update}, {"replace", r.replace}, {"delete", r.remove},
            {"orphan", r.orphan}}},
          {"actions", {{"done", r.done}, {"failed", r.failed}, {"skipped", r.skipped}}},
          {"errors", r.errors}};
}

namespace {

RunRecord runFromJson(const json& j) {
  RunRecord r;
  r.at = text(j, "at");
  r.trigger = text(j, "trigger");
  r.commit = text(j, "commit");
  r.result = text(j, "result");
  r.exitCode = j.at("exitCode").get<int>();
  r.dryRun = j.at("dryRun").get<bool>();
  const json& plan = j.at("plan");
  r.create = count(plan, "create");
  r.update = count(plan, "update");
  r.replace = count(plan, "replace");
  r.remove = count(plan, "delete");
  r.orphan = count(plan, "orphan");
  const json& actions = j.at("actions");
  r.done = count(actions, "done");
  r.failed = count(actions, "failed");
  r.skipped = count(actions, "skipped");
  r.errors = j.at("errors").get<std::vector<std::string>>();
  return r;
}

ordered history(const std::vector<RunRecord>& runs) {
  ordered out = ordered::array();
  for (const RunRecord& r : runs) out.push_back(runJson(r));
  return out;
}

}  // namespace

nlohmann::ordered_json toJson(const WatchState& s) {
  return {{"version", kVersion},
          {"repo", s.repo},
          {"branch", s.branch},
          {"path", s.path},
          {"lastFetch", s.lastFetchAt.empty() ? ordered(nullptr)
                                              : ordered{{"at", s.lastFetchAt}, {"error", orNull(s.lastFetchError)}}},
          {"lastSeenCommit", orNull(s.lastSeenCommit)},
          {"targetCommit", orNull(s.targetCommit)},
          {"rejected", s.rejectedCommit.empty() ? ordered(nullptr)
                                                : ordered{{"commit", s.rejectedCommit}, {"errors", s.rejectedErrors}}},
          {"lastApplied", s.lastAppliedCommit.empty()
                              ? ordered(nullptr)
                              : ordered{{"commit", s.lastAppliedCommit}, {"at", s.lastAppliedAt}}},
          {"suspended", s.suspended ? ordered{{"at", s.suspended->at}, {"reason", orNull(s.suspended->reason)}}
                                    : ordered(nullptr)},
          {"lastRun", s.lastRun ? runJson(*s.lastRun) : ordered(nullptr)},
          {"history", history(s.history)}};
}

void recordRun(WatchState& state, RunRecord run) {
  state.history.insert(state.history.begin(), run);
  if (state.history.size() > kHistory) state.history.resize(kHistory);
  state.lastRun = std::move(run);
}

Result<std::optional<WatchState>> loadWatchState(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::optional<WatchState>();
    return fail("cannot read the watch state " + file.string() + ".");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    const json j = json::parse(buffer.str());
    if (!j.is_object() || j.value("version", 0) != kVersion)
      throw std::runtime_error("expected an object with \"version\": " + std::to_string(kVersion));
    WatchState s;
    s.repo = text(j, "repo");
    s.branch = text(j, "branch");
    s.path = text(j, "path");
    if (const json& fetch = j.at("lastFetch"); !fetch.is_null()) {
      s.lastFetchAt = text(fetch, "at");
      s.lastFetchError = text(fetch, "error");
    }
    s.lastSeenCommit = text(j, "lastSeenCommit");
    s.targetCommit = text(j, "targetCommit");
    if (const json& rejected = j.at("rejected"); !rejected.is_null()) {
      s.rejectedCommit = text(rejected, "commit");
      s.rejectedErrors = rejected.at("errors").get<std::vector<std::string>>();
    }
    if (const json& applied = j.at("lastApplied"); !applied.is_null()) {
      s.lastAppliedCommit = text(applied, "commit");
      s.lastAppliedAt = text(applied, "at");
    }
    if (const json& run = j.at("lastRun"); !run.is_null()) s.lastRun = runFromJson(run);
    // Keys added later (issue 17) are optional, so older files load.
    if (auto it = j.find("suspended"); it != j.end() && !it->is_null())
      s.suspended = Suspension{text(*it, "at"), text(*it, "reason"), {}};
    if (auto it = j.find("history"); it != j.end()) {
      for (const json& run : it->get_ref<const json::array_t&>()) s.history.push_back(runFromJson(run));
      if (s.history.size() > kHistory) s.history.resize(kHistory);
    } else if (s.lastRun) {
      s.history.push_back(*s.lastRun);
    }
    return std::optional<WatchState>(std::move(s));
  } catch (const std::exception& e) {
    return fail("the watch state " + file.string() + " is corrupt: " + e.what() +
                "; repair it or delete it (the watcher then starts afresh: it applies the branch tip).");
  }
}

Result<void> saveWatchState(const std::filesystem::path& file, const WatchState& state) {
  return writeFileAtomically(file, toJson(state).dump(2) + "\n", "the watch state");
}

std::string nowRfc3339() { return rfc3339(std::time(nullptr)); }

std::string rfc3339(std::time_t t) {
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace hostform::watch
