#include "reconciler/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "reconciler/atomic_file.h"
#include "reconciler/loader.h"
#include "reconciler/manifest_writer.h"

namespace hostform {
namespace {

constexpr int kVersion = 1;
using Clock = std::chrono::system_clock;

std::string utc(Clock::time_point t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<Clock::time_point> parseUtc(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  if (in.fail()) return std::nullopt;
  return Clock::from_time_t(timegm(&tm));
}

std::string corrupt(const std::filesystem::path& file, const std::string& why) {
  return "the network checkpoint " + file.string() + " is corrupt: " + why +
         "; check the host's links by hand, then move the file away.";
}

/// The ids in the checkpoint, for filtering what the rollback observes.
std::set<ResourceId> idsOf(const Checkpoint& cp) {
  std::set<ResourceId> ids;
  for (const auto& t : cp.touched) ids.insert(t.id);
  for (const auto& c : cp.creates) ids.insert(c);
  return ids;
}

std::string readAll(const std::filesystem::path& file, bool& present) {
  std::ifstream in(file, std::ios::binary);
  present = static_cast<bool>(in);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs a plan's actions, printing one line per action as apply does.
ApplyReport runActions(const Plan& plan, const std::string& owner, const Console& console) {
  ExecuteOptions exec;
  exec.jobs = 1;
  exec.owner = owner;  // a deleted object is created again with its owner's mark
  exec.onFinish = [&](const Action& a, const ActionOutcome& o) {
    if (o.status == Outcome::Done) console.out << a.id.str() << ": " << o.message << "\n";
    else console.out << a.id.str() << ": " << toString(o.status) << ": " << o.message << "\n";
    console.out.flush();
  };
  ApplyReport report = execute(plan, exec);
  return report;
}

}  // namespace

std::filesystem::path checkpointFile(const std::filesystem::path& stateDir) { return stateDir / "checkpoint.json"; }
std::filesystem::path confirmFile(const std::filesystem::path& stateDir) { return stateDir / "checkpoint.confirmed"; }

std::optional<ResourceId> parseResourceId(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto kind = parseKind(text.substr(0, slash));
  if (!kind) return std::nullopt;
  const std::string rest = text.substr(slash + 1);
  const auto second = rest.find('/');
  if (second == std::string::npos) return ResourceId{*kind, "", rest};
  return ResourceId{*kind, rest.substr(0, second), rest.substr(second + 1)};
}

std::string checkpointJson(const Checkpoint& cp) {
  nlohmann::json j;
  j["version"] = kVersion;
  j["id"] = cp.id;
  j["owner"] = cp.owner;
  j["pid"] = cp.pid;
  j["started"] = utc(cp.started);
  j["phase"] = cp.phase;
  j["deadline"] = cp.deadline ? nlohmann::json(utc(*cp.deadline)) : nlohmann::json(nullptr);
  j["touched"] = nlohmann::json::array();
  for (const auto& t : cp.touched) j["touched"].push_back({{"id", t.id.str()}, {"owner", t.owner}});
  j["creates"] = nlohmann::json::array();
  for (const auto& c : cp.creates) j["creates"].push_back(c.str());
  j["before"] = cp.before;
  j["applied"] = cp.applied;
  return j.dump(2) + "\n";
}

Result<Checkpoint> parseCheckpoint(const std::string& text, const std::filesystem::path& file) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object()) return fail(corrupt(file, "not a JSON object"));
    if (j.value("version", 0) != kVersion)
      return fail(corrupt(file, "version " + j.value("version", nlohmann::json(nullptr)).dump() + " is not 1"));
    Checkpoint cp;
    cp.id = j.at("id").get<std::string>();
    cp.owner = j.at("owner").get<std::string>();
    cp.pid = j.at("pid").get<int>();
    auto started = parseUtc(j.at("started").get<std::string>());
    if (!started) return fail(corrupt(file, "started is not a UTC time"));
    cp.started = *started;
    cp.phase = j.at("phase").get<std::string>();
    if (cp.phase != "applying" && cp.phase != "waiting" && cp.phase != "rolling-back")
      return fail(corrupt(file, "phase " + cp.phase + " is not applying, waiting or rolling-back"));
    if (!j.at("deadline").is_null()) {
      auto deadline = parseUtc(j.at("deadline").get<std::string>());
      if (!deadline) return fail(corrupt(file, "deadline is not a UTC time"));
      cp.deadline = *deadline;
    }
    for (const auto& t : j.at("touched")) {
      auto id = parseResourceId(t.at("id").get<std::string>());
      if (!id) return fail(corrupt(file, "touched names an unknown resource " + t.at("id").dump()));
      cp.touched.push_back({*id, t.at("owner").get<std::string>()});
    }
    for (const auto& c : j.at("creates")) {
      auto id = parseResourceId(c.get<std::string>());
      if (!id) return fail(corrupt(file, "creates names an unknown resource " + c.dump()));
      cp.creates.push_back(*id);
    }
    cp.before = j.at("before").get<std::string>();
    cp.applied = j.at("applied").get<std::string>();
    return cp;
  } catch (const nlohmann::json::exception& e) {
    return fail(corrupt(file, e.what()));
  }
}

Result<std::optional<Checkpoint>> readCheckpoint(const std::filesystem::path& stateDir) {
  const auto file = checkpointFile(stateDir);
  bool present = false;
  const std::string text = readAll(file, present);
  if (!present) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec) && !ec) return std::optional<Checkpoint>{};
    return fail("cannot read the network checkpoint " + file.string() + ": " +
                (ec ? ec.message() : std::error_code(errno, std::generic_category()).message()) + ".");
  }
  auto cp = parseCheckpoint(text, file);
  if (!cp) return hostform::unexpected(cp.error());
  return std::optional<Checkpoint>(std::move(*cp));
}

Result<void> writeCheckpoint(const std::filesystem::path& stateDir, const Checkpoint& cp) {
  if (auto made = makeStateDirectory(stateDir); !made) return made;
  return writeFileAtomically(checkpointFile(stateDir), checkpointJson(cp), "the network checkpoint");
}

Result<void> removeCheckpoint(const std::filesystem::path& stateDir) {
  std::error_code ec;
  std::filesystem::remove(confirmFile(stateDir), ec);
  std::filesystem::remove(checkpointFile(stateDir), ec);
  if (ec) return fail("cannot remove the network checkpoint " + checkpointFile(stateDir).string() + ": " + ec.message() + ".");
  return {};
}

std::optional<Checkpoint> checkpointOf(const Plan& plan, const std::string& owner) {
  Checkpoint cp;
  std::vector<Resource> before;
  for (const Action& a : plan.actions) {
    if (a.op == Op::Orphan || !a.provider || !a.provider->checkpointed()) continue;
    if (a.op == Op::Create) {
      cp.creates.push_back(a.id);
    } else if (a.live) {
      cp.touched.push_back({a.id, a.live->owner});
      before.push_back(a.live->resource);
    }
  }
  if (cp.creates.empty() && cp.touched.empty()) return std::nullopt;
  cp.owner = owner;
  cp.pid = static_cast<int>(::getpid());
  cp.started = Clock::now();
  std::string stamp = utc(cp.started);
  stamp.erase(std::remove(stamp.begin(), stamp.end(), '-'), stamp.end());
  stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
  cp.id = stamp + "-" + std::to_string(cp.pid);
  cp.before = writeManifests(before);
  return cp;
}

std::filesystem::path lastAppliedFile(const std::filesystem::path& stateDir, const std::string& owner) {
  return stateDir / "last-applied" / (owner + ".yaml");
}

Result<void> writeLastApplied(const std::filesystem::path& stateDir, const std::string& owner,
                              const std::string& manifests) {
  // Unchanged manifests are not written again: a converged watch would
  // otherwise rewrite (and fsync) the same file every interval.
  bool present = false;
  const std::string kept = readAll(lastAppliedFile(stateDir, owner), present);
  if (present && kept.size() >= manifests.size() && kept.ends_with(manifests) &&
      kept.find("\n# hostform boot applies") != std::string::npos &&
      kept.size() - manifests.size() == kept.find('\n', kept.find("\n# hostform boot applies") + 1) + 1)
    return {};
  if (auto made = makeStateDirectory(stateDir); !made) return made;
  if (auto made = makeStateDirectory(stateDir / "last-applied"); !made) return made;
  const std::string text = "# The manifests owner " + owner + " last applied and kept, written by hostform at " +
                           utc(Clock::now()) + ".\n# hostform boot applies their network kinds at boot.\n" +
                           manifests;
  return writeFileAtomically(lastAppliedFile(stateDir, owner), text, "the last applied manifests");
}

Result<std::size_t> rollBack(const Checkpoint& cp, const std::filesystem::path& stateDir, ProviderSet& providers,
                             const Console& console) {
  const auto started = std::chrono::steady_clock::now();
  LoadResult loaded = loadManifestTexts({{checkpointFile(stateDir).string() + " (before)", cp.before}});
  if (loaded.diagnostics.hasErrors()) {
    loaded.diagnostics.print(console.err, Severity::Error);
    return fail("the checkpoint's recorded state cannot be read back; nothing was rolled back.");
  }
  const std::set<ResourceId> ids = idsOf(cp);
  std::vector<Provider*> asked;
  for (const ResourceId& id : ids)
    for (Provider* p : providers.allForKind(id.kind))
      if (p->checkpointed() && std::find(asked.begin(), asked.end(), p) == asked.end()) asked.push_back(p);
  auto observed = observe(providers, asked, /*ledger=*/nullptr, nullptr, nullptr);
  if (!observed) return fail("cannot roll back: " + observed.error().message);
  // Only what the checkpoint names is planned: everything else on the host
  // stays as it is, whoever owns it.
  std::erase_if(observed->objects, [&](const Observed& o) { return !ids.contains(o.resource.id); });
  // What the apply created did not exist before it: hostform made it, even if
  // the create failed before its ownership mark was written.
  for (Observed& o : observed->objects)
    if (o.owner.empty() && std::find(cp.creates.begin(), cp.creates.end(), o.resource.id) != cp.creates.end())
      o.owner = cp.owner;
  PlanOptions options;
  options.prune = Prune::Yes;  // the apply's creates, owned by the checkpoint's owner, are deleted
  options.dataLoss = DataLoss::Allow;
  options.owner = cp.owner;
  options.snapshotBeforeLoss = false;
  Plan plan = computePlan(std::move(loaded.resources), std::move(*observed), providers, options);
  if (plan.diagnostics.hasErrors()) {
    plan.diagnostics.print(console.err, Severity::Error);
    return fail("the rollback cannot be planned; nothing was rolled back.");
  }
  const PlanSummary summary = plan.summary();
  if (summary.create + summary.update + summary.replace + summary.remove == 0) {
    console.out << "Nothing to roll back: the network objects are as they were before the apply.\n";
    console.out.flush();
    return std::size_t{0};
  }
  console.out << renderText(plan);
  console.out.flush();
  ApplyReport report = runActions(plan, cp.owner, console);
  ExecuteOptions verifyOptions;
  verifyOptions.owner = cp.owner;
  verify(plan, report, verifyOptions);
  for (const std::string& f : report.verifyFailures) console.err << "error: verify: " << f << "\n";
  spdlog::info("rollback of {} action(s) took {} ms", report.done(),
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                   .count());
  if (!report.ok()) {
    console.out << "Rollback incomplete: " << report.done() << " done, " << report.failed() << " failed, "
                << report.skipped() << " skipped.\n";
    return fail("the rollback did not complete; the checkpoint " + checkpointFile(stateDir).string() +
                " is kept, and the next apply tries again.");
  }
  console.out << "Rollback complete: " << report.done() << " done.\n";
  console.out.flush();
  return report.done();
}

Result<StateLock> lockDecision(const std::filesystem::path& stateDir) {
  return StateLock::acquire(stateDir, std::chrono::seconds(10), "checkpoint.lock",
                            "it decides between a confirmation and a rollback in an instant; try again");
}

namespace {

/// Whether `hostform confirm` confirmed the checkpoint `id`.
bool confirmed(const std::filesystem::path& stateDir, const std::string& id) {
  bool present = false;
  std::string text = readAll(confirmFile(stateDir), present);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return present && text == id;
}

}  // namespace

Result<void> recoverCheckpoint(const std::filesystem::path& stateDir, ProviderSet& providers,
                               const Console& console) {
  auto read = readCheckpoint(stateDir);
  if (!read) return hostform::unexpected(read.error());
  if (!*read) return {};
  Checkpoint cp = std::move(**read);
  bool keep = false;
  {
    auto decision = lockDecision(stateDir);
    if (!decision) return hostform::unexpected(decision.error());
    keep = cp.phase != "rolling-back" && confirmed(stateDir, cp.id);
    if (!keep && cp.phase != "rolling-back") {
      cp.phase = "rolling-back";
      if (auto w = writeCheckpoint(stateDir, cp); !w) return w;
    }
  }
  if (keep) {
    console.err << "note: the checkpoint of an earlier apply (pid " << cp.pid << ", started " << utc(cp.started)
                << ") was confirmed; its changes are kept.\n";
    if (auto w = writeLastApplied(stateDir, cp.owner, cp.applied); !w) return w;
    return removeCheckpoint(stateDir);
  }
  const bool expired = cp.deadline && *cp.deadline <= Clock::now();
  console.err << "warning: an apply (pid " << cp.pid << ", started " << utc(cp.started)
              << ") left an unconfirmed network checkpoint: "
              << (expired ? "its confirm deadline " + utc(*cp.deadline) + " has passed"
                          : std::string("that process is gone"))
              << "; rolling it back first.\n";
  console.out << "Rolling back the network changes of the apply of pid " << cp.pid << ":\n";
  auto done = rollBack(cp, stateDir, providers, console);
  if (!done) return hostform::unexpected(done.error());
  return removeCheckpoint(stateDir);
}

int runConfirm(const std::filesystem::path& stateDir, const Console& console) {
  auto read = readCheckpoint(stateDir);
  if (!read) {
    console.err << "error: " << read.error().message << "\n";
    return kExitError;
  }
  if (!*read) {
    console.err << "error: there is nothing to confirm: no network checkpoint under " << stateDir.string() << ".\n";
    return kExitError;
  }
  auto decision = lockDecision(stateDir);
  if (!decision) {
    console.err << "error: " << decision.error().message << "\n";
    return kExitError;
  }
  read = readCheckpoint(stateDir);  // under the decision lock: the waiter may have decided meanwhile
  if (!read || !*read) {
    console.err << "error: there is nothing to confirm any more: the checkpoint was rolled back or kept meanwhile.\n";
    return kExitError;
  }
  const Checkpoint& cp = **read;
  if (cp.phase == "rolling-back") {
    console.err << "error: too late: the apply of pid " << cp.pid << " is being rolled back.\n";
    return kExitError;
  }
  // The writer holds the apply lock while it applies and waits: if the lock
  // is free, the checkpoint is orphaned and confirm keeps it itself.
  auto applyLock = StateLock::acquire(stateDir, std::chrono::milliseconds(0));
  if (applyLock) {
    if (auto w = writeLastApplied(stateDir, cp.owner, cp.applied); !w) {
      console.err << "error: " << w.error().message << "\n";
      return kExitError;
    }
    if (auto r = removeCheckpoint(stateDir); !r) {
      console.err << "error: " << r.error().message << "\n";
      return kExitError;
    }
    console.out << "Confirmed: the changes of the apply of pid " << cp.pid
                << " (which is no longer running) are kept.\n";
    return kExitOk;
  }
  if (cp.phase == "applying") {
    console.err << "error: the apply of pid " << cp.pid
                << " is still applying; confirm once it waits for confirmation.\n";
    return kExitError;
  }
  if (auto w = writeFileAtomically(confirmFile(stateDir), cp.id + "\n", "the confirmation"); !w) {
    console.err << "error: " << w.error().message << "\n";
    return kExitError;
  }
  console.out << "Confirmed: the apply of pid " << cp.pid << " keeps its changes.\n";
  return kExitOk;
}

}  // namespace hostform

namespace hostform {

int runBoot(const RunOptions& options, ProviderSet& providers, const Console& console) {
  auto lock = StateLock::acquire(options.stateDir, options.lockTimeout);
  if (!lock) {
    console.err << "error: " << lock.error().message << "\n";
    return kExitError;
  }
  if (auto recovered = recoverCheckpoint(options.stateDir, providers, console); !recovered) {
    console.err << "error: " << recovered.error().message << "\n";
    return kExitError;
  }
  const auto dir = options.stateDir / "last-applied";
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec))
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    console.out << "Nothing to bring up: no manifests kept in " << dir.string() << ".\n";
    return kExitOk;
  }
  int exitCode = kExitOk;
  for (const auto& file : files) {
    const std::string owner = file.stem().string();
    bool present = false;
    const std::string text = readAll(file, present);
    LoadResult loaded = loadManifestTexts({{file.string(), text}});
    if (loaded.diagnostics.hasErrors() || !present) {
      loaded.diagnostics.print(console.err, Severity::Error);
      console.err << "error: cannot read the manifests kept in " << file.string() << "; skipped.\n";
      exitCode = std::max(exitCode, static_cast<int>(kExitError));
      continue;
    }
    // Only what the kernel forgets at reboot: the kinds whose every provider
    // is checkpointed. LVM and libvirt keep their own objects across a reboot,
    // and libvirtd is not running yet.
    std::vector<Resource> network;
    std::set<std::string> kindsShown;
    for (Resource& r : loaded.resources) {
      auto serving = providers.allForKind(r.kind());
      if (serving.empty() || !std::all_of(serving.begin(), serving.end(), [](Provider* p) { return p->checkpointed(); }))
        continue;
      kindsShown.insert(std::string(r.kind().name()));
      network.push_back(std::move(r));
    }
    if (network.empty()) {
      console.out << "Owner " << owner << ": no network resources kept in " << file.string() << ".\n";
      continue;
    }
    std::string kinds;
    for (const auto& k : kindsShown) kinds += (kinds.empty() ? "" : ", ") + k;
    console.out << "Owner " << owner << ": applying " << network.size() << " resource(s) (" << kinds << ") kept in "
                << file.string() << ".\n";
    console.out.flush();
    RunOptions run = options;
    run.owner = owner;
    run.prune = Prune::No;
    run.confirmTimeout.reset();
    run.probe.clear();
    ApplyMode mode;
    mode.checkpoint = false;
    mode.keepLastApplied = false;
    const ApplyResult r = applyLocked(std::move(network), run, providers, console, {}, mode);
    exitCode = std::max(exitCode, r.exitCode);
  }
  return exitCode;
}

}  // namespace hostform
