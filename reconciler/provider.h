#pragma once
/// The one interface every provider implements (netlink, lvm, kvm). The engine
/// knows providers only through this and the registry; it never names one.
///
/// The verbs are the same everywhere: observe, plan, apply, export.

#include <any>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconciler/plan.h"
#include "reconciler/result.h"

namespace hostform {

/// Settings a provider may need; each takes what concerns it.
struct ProviderOptions {
  std::string libvirtUri;           ///< empty: $LIBVIRT_DEFAULT_URI, else qemu:///system
  std::string owner = "default";    ///< written into ownership marks
  std::filesystem::path stateDir;
};

/// Where a provider keeps the ownership mark of a kind (docs/spec.md §4).
enum class OwnershipMark {
  InBand,  ///< on the object itself (LVM tag, domain <metadata>, bridge ifalias)
  Ledger,  ///< the backend has no place: the engine's ledger under --state-dir
};

/// Everything the planner knows, for checks that look beyond one resource
/// (free space in a VG, a bridge the VM's NIC names).
struct PlanContext {
  std::unordered_map<ResourceId, const Resource*> desired;
  std::unordered_map<ResourceId, const Observed*> observed;
  /// Live objects the declared resources reference, directly or through other
  /// such objects, without declaring them: never changed, never deleted.
  std::unordered_set<ResourceId> external;
  std::string owner;
  /// Take a snapshot before a loss the plan allows (docs/spec.md §4 Snapshot
  /// before loss): a provider that can sets Diff/Deletion::snapshotFirst and
  /// its apply takes it before the destructive command. `--no-snapshot` turns
  /// it off.
  bool snapshotBeforeLoss = true;

  const Resource* findDesired(const ResourceId& id) const;
  const Observed* findObserved(const ResourceId& id) const;
  /// What `--prune` deletes: on the host, owned by this owner, neither declared
  /// nor referenced by anything declared.
  bool prunable(const ResourceId& id) const;

  /// A value computed once per plan from the whole context (every declared
  /// bridge's ports, every LV of a VG in order), so that checks made for each
  /// resource stay linear in the size of the manifests. `key` names it; `build`
  /// makes it on first use. Rebuilt if `desired` or `observed` grew since.
  template <class T, class Build>
  std::shared_ptr<const T> memo(std::string_view key, Build&& build) const;

 private:
  struct Memo {
    std::mutex mutex;
    std::size_t desired = 0, observed = 0;  ///< sizes the values were built for
    std::map<std::string, std::shared_ptr<const void>, std::less<>> values;
  };
  std::shared_ptr<Memo> memo_ = std::make_shared<Memo>();
};

template <class T, class Build>
std::shared_ptr<const T> PlanContext::memo(std::string_view key, Build&& build) const {
  {
    std::lock_guard lock(memo_->mutex);
    if (memo_->desired != desired.size() || memo_->observed != observed.size()) {
      memo_->values.clear();
      memo_->desired = desired.size();
      memo_->observed = observed.size();
    }
    if (auto it = memo_->values.find(key); it != memo_->values.end()) return std::static_pointer_cast<const T>(it->second);
  }
  // Built without the lock: a builder may ask for another memo.
  auto value = std::make_shared<const T>(build());
  std::lock_guard lock(memo_->mutex);
  auto it = memo_->values.emplace(std::string(key), value).first;  // a racing builder may have won: same value
  return std::static_pointer_cast<const T>(it->second);
}

/// A provider's verdict on one declared resource.
struct Diff {
  std::vector<FieldChange> changes;     ///< empty: in sync
  /// What cannot be done (immutable field, not enough space): plan errors naming
  /// the field ("spec.extentSize") and the reason.
  struct Problem {
    std::string field;
    std::string message;
  };
  std::vector<Problem> problems;
  /// What can be done but deserves a reader's eye (a thin pool over-committed):
  /// plan warnings naming the field, shown in the plan (text and JSON) whether
  /// or not the resource changes. They never stop a plan.
  std::vector<Problem> warnings;
  std::optional<std::string> dataLoss;  ///< set: applying loses data (shrink, disk replace)
  LossDetail loss;                      ///< with dataLoss: how much, and the snapshot taken first
  /// What apply must do, in the provider's own type (a bridge's attributes to
  /// set, the commands of an LV resize, a domain's definition and live
  /// changes); the action carries it to apply unchanged. A provider that
  /// classifies a change as Replace gives the delta its create runs with,
  /// after the engine has run its delete.
  std::any delta;
  /// Applying restarts the object (restartPolicy: auto), so restart-class
  /// changes take effect now rather than at the next restart.
  bool restartsNow = false;
};

/// What deleting a live object would mean.
struct Deletion {
  /// Why it is impossible, not merely lossy (a volume group that still holds
  /// volumes hostform will not delete). Reported as plan errors, so apply never
  /// discovers them; when there are any, dataLoss is not looked at.
  std::vector<Diff::Problem> problems;
  std::optional<std::string> dataLoss;  ///< what it loses; nullopt: nothing
  LossDetail loss;                      ///< with dataLoss: how much, and the snapshot taken first
  /// What apply's delete carries out (Action::delta of a Delete), in the
  /// provider's own type: the snapshot to take first. Empty: a plain delete.
  std::any delta;
};

/// What `hostform restore NAME` would do (docs/spec.md §2 restore): a provider's
/// verdict on restoring one live Snapshot.
struct RestorePlan {
  /// The source the snapshot restores: "LogicalVolume/vg0/data".
  ResourceId source;
  /// For people, one line: "restore LogicalVolume/vg0/data to snapshot s1 taken 2h ago: discards everything
  /// written since".
  std::string description;
  /// Further consequences, one sentence each ("the snapshot is merged into its origin and disappears").
  std::vector<std::string> notes;
  /// Why it cannot be done now (plan-time refusals); non-empty: nothing runs.
  std::vector<Diff::Problem> problems;
  /// What restore() carries out, in the provider's own type.
  std::any delta;
};

/// What an action may use while it runs.
struct ApplyContext {
  std::string owner;
  /// Progress of a long action ("waiting for ACPI shutdown, 12s of 60s").
  std::function<void(const std::string&)> progress = [](const std::string&) {};
};

/// One thing `hostform status` shows of a resource (docs/spec.md, `status`):
/// its name, the same word in the text and the JSON output ("state",
/// "allocation", "ports"), its value as the text output prints it, and as the
/// JSON output has it (a string, a number of bytes or seconds, a list…).
struct StatusFact {
  std::string name;
  std::string text;
  nlohmann::json json;
};

/// Facts in the shapes every provider uses, so the same kind of value reads
/// the same whatever gives it.
/// A word or phrase: the same string in text and JSON ("running", "up").
StatusFact wordFact(std::string name, std::string value);
/// A size: "1.5GiB" (one decimal at most) in text, the bytes in JSON.
StatusFact sizeFact(std::string name, Bytes bytes);
/// A percentage: "12.50%" (two decimals, as lvm prints them) in text, 12.5 in JSON; nullopt: "unknown" and null
/// (the backend could not say; never a made-up number).
StatusFact percentFact(std::string name, std::optional<double> percent);
/// A duration in whole seconds: "1h2m3s" in text, 3723 in JSON.
StatusFact secondsFact(std::string name, std::int64_t seconds);
/// A size as the text output shows it: the largest binary unit, one decimal at most ("63.9MiB", "512B").
std::string approximateSize(Bytes bytes);

/// One number a provider exports from its snapshot for `watch --listen`'s
/// /metrics (a thin pool's data use): a gauge sample in Prometheus' terms.
struct Gauge {
  std::string name;  ///< "hostform_thin_pool_data_percent"
  std::string help;  ///< the family's HELP line
  std::vector<std::pair<std::string, std::string>> labels;  ///< in the order shown
  double value = 0;
};

/// What a provider tells `watch` when its objects may have changed behind
/// hostform's back (docs/watch.md Events): a file descriptor to poll for
/// input, and drain() to read what arrived. Level-based like every cycle: a
/// change carries nothing but "run a cycle", so a lost event costs only
/// latency (the interval stays the safety net). Used from one thread.
class EventSource {
 public:
  virtual ~EventSource() = default;
  EventSource() = default;
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;

  /// The label of hostform_watch_events_total: "netlink", "libvirt", "lvm".
  virtual std::string_view name() const = 0;
  /// Readable (POLLIN) when something arrived or a poll is due; owned by the source.
  virtual int fd() const = 0;
  /// Reads what is pending without blocking: how many changes that matter to
  /// this provider's kinds arrived (0: only noise, such as learnt FDB entries).
  /// An error means the source is broken (a closed connection, lost events):
  /// the watcher runs a cycle, drops the source and opens a new one at the
  /// next cycle.
  virtual Result<std::size_t> drain() = 0;
};

/// Settings of event sources.
struct EventOptions {
  /// For a backend without notifications (lvm): how often to poll it (--lvm-poll).
  std::chrono::milliseconds pollInterval{2000};
};

class Provider {
 public:
  virtual ~Provider() = default;
  Provider() = default;
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  virtual std::string_view name() const = 0;
  virtual std::vector<Kind> kinds() const = 0;
  /// Whether this provider handles `r`, one of its kinds: a kind may be served
  /// by several providers, each for its own resources (Snapshot: lvm for
  /// logicalVolume sources, kvm for volume and virtualMachine sources). It
  /// must hold for every object its observe() returns. Default: all of them.
  virtual bool serves(const Resource& /*r*/) const { return true; }
  virtual OwnershipMark ownershipMark(Kind) const { return OwnershipMark::InBand; }
  /// Whether this provider's objects carry the host's connectivity and live
  /// only in the running kernel (the netlink provider): apply writes a
  /// checkpoint of what it touches before changing them and rolls them back
  /// when an action fails, the confirm deadline passes or the probe gets no
  /// answer; `hostform boot` re-creates them from the last applied manifests
  /// (docs/spec.md §4 Checkpoint and rollback). Such a provider must mark
  /// ownership InBand. Default: false.
  virtual bool checkpointed() const { return false; }

  /// Reads the whole live state of this provider's kinds in one go (one dump,
  /// one report, one list call where the backend allows), with each object's
  /// owner, and whatever else its plan needs, as its snapshot.
  virtual Result<Observation> observe() = 0;

  /// Compares a declared resource with the host (`live` null: absent), field by
  /// field, classifying each change, checks that applying it is possible, and
  /// computes the delta apply will execute. `host` is this provider's own
  /// snapshot from the observe the plan was made from.
  virtual Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) = 0;

  /// Whether deleting a live object is possible and what it loses. Default:
  /// nothing stands in the way and nothing is lost.
  virtual Deletion deletion(const Observed& /*live*/, const PlanContext&, const Snapshot& /*host*/) { return {}; }

  /// Carries out one action as planned: its op, its delta, against the
  /// snapshot it was planned from (action.snapshot). Never a Replace: the
  /// engine runs that as a delete and a create. Called from several executor
  /// threads at once for actions that do not share a serialKey().
  virtual Result<void> apply(const Action& action, const ApplyContext& ctx) = 0;

  /// Actions with the same non-empty key never run at the same time (LVM: one VG).
  virtual std::string serialKey(const Action&) const { return {}; }

  /// Live objects as manifests an operator can adopt. Default: what observe() sees.
  virtual Result<std::vector<Resource>> exportResources();

  /// What `hostform status` shows of one declared resource: the facts a
  /// person checks on the host (a VM's state and addresses, a volume's
  /// allocation), read from `host` (this provider's snapshot) or, for what a
  /// plan never needs (carrier, a guest's addresses), from the backend now.
  /// `live` null: the resource is absent (the engine says so itself and does
  /// not ask). The first fact is "state".
  /// Something that cannot be read is a fact saying so, never an error of the
  /// command. Default: state present or absent.
  virtual std::vector<StatusFact> status(const Resource& desired, const Observed* live, const Snapshot& host);

  /// `watch`'s notifications of changes to this provider's objects (the
  /// Events section of docs/watch.md), opened when the manifests in force
  /// declare one of its kinds. The source owns its own connection, so it may
  /// outlive the cycle's providers. nullptr (the default): no events; drift is
  /// corrected at the interval. An error: it could not be opened (logged; the
  /// watcher tries again at the next cycle).
  virtual Result<std::unique_ptr<EventSource>> events(const EventOptions& /*options*/) {
    return std::unique_ptr<EventSource>();
  }

  /// Gauges of what `host` (this provider's snapshot) shows, for /metrics:
  /// of every object observed, declared or not. Default: none.
  virtual std::vector<Gauge> gauges(const Snapshot& /*host*/) const { return {}; }
  /// `hostform restore`: what restoring the live Snapshot `snapshot` (one this
  /// provider observed) would do, or nullopt when this provider cannot
  /// restore snapshots at all (the default).
  virtual std::optional<RestorePlan> planRestore(const Observed& /*snapshot*/, const PlanContext&,
                                                 const Snapshot& /*host*/) {
    return std::nullopt;
  }
  /// Carries out a RestorePlan without problems that planRestore returned.
  /// Default: not supported.
  virtual Result<void> restore(const Observed& snapshot, const RestorePlan& plan, const Snapshot& host,
                               const ApplyContext& ctx);
};

/// How the engine gets providers without naming them: each provider registers a
/// factory at static-initialisation time with HOSTFORM_REGISTER_PROVIDER.
struct ProviderFactory {
  std::string name;
  std::vector<Kind> kinds;
  std::function<std::unique_ptr<Provider>(const ProviderOptions&)> make;
};

/// The process-wide list of factories.
std::vector<ProviderFactory>& providerFactories();
bool registerProvider(ProviderFactory factory);

/// How a module (reconciler/module.h) makes its provider: its entry "provider".
using ProviderMaker = std::unique_ptr<Provider>(const ProviderOptions&);

/// A ProviderFactory's `make` for a provider whose code is `module`: the
/// module is loaded when the provider is first made, that is, by the first run
/// that declares or observes one of its kinds. When it cannot be loaded, the
/// provider made fails its observe, plan and apply with the loader's sentence,
/// so the run stops before it changes anything.
std::function<std::unique_ptr<Provider>(const ProviderOptions&)> moduleProvider(std::string module,
                                                                               std::string name,
                                                                               std::vector<Kind> kinds);

#define HOSTFORM_CONCAT_INNER(a, b) a##b
#define HOSTFORM_CONCAT(a, b) HOSTFORM_CONCAT_INNER(a, b)
#define HOSTFORM_REGISTER_PROVIDER(...) \
  static const bool HOSTFORM_CONCAT(hostform_registered_, __LINE__) = ::hostform::registerProvider(__VA_ARGS__)

/// A command of one provider's own (`hostform console NAME`), reached through
/// the CLI without the engine naming the provider: the CLI adds a subcommand
/// for each registered one, taking one positional argument. `run` gets the
/// global settings and the argument and returns the exit code (docs/spec.md §2).
struct ProviderCommand {
  std::string name;          ///< the subcommand: "console"
  std::string description;   ///< its one-line help
  std::string argument;      ///< the positional argument's name: "NAME"
  std::string argumentHelp;  ///< its help
  std::function<int(const ProviderOptions&, const std::string& argument)> run;
};

/// The process-wide list of provider commands, in registration order.
std::vector<ProviderCommand>& providerCommands();
bool registerProviderCommand(ProviderCommand command);

/// How a module runs a provider command: its entry named as the command.
using ProviderCommandRun = int(const ProviderOptions&, const std::string& argument);

/// A ProviderCommand's `run` that is `module`'s entry `command`; when the
/// module cannot be loaded it says why on stderr and returns 1.
std::function<int(const ProviderOptions&, const std::string&)> moduleCommand(std::string module,
                                                                             std::string command);

#define HOSTFORM_REGISTER_PROVIDER_COMMAND(...)                               \
  static const bool HOSTFORM_CONCAT(hostform_registered_command_, __LINE__) = \
      ::hostform::registerProviderCommand(__VA_ARGS__)

/// The providers of one run, created lazily: a plan that declares no VM never
/// connects to libvirt.
class ProviderSet {
 public:
  /// From the registered factories.
  explicit ProviderSet(ProviderOptions options);
  /// From explicit instances (tests, benchmarks).
  explicit ProviderSet(std::vector<std::unique_ptr<Provider>> providers);

  /// The first provider for `kind`, created on first use; nullptr when none is built in.
  Provider* forKind(Kind kind);
  /// Every provider for `kind`, in registration order, created on first use.
  std::vector<Provider*> allForKind(Kind kind);
  /// The provider that serves `r`: the first for its kind whose serves(r)
  /// holds; nullptr when none does.
  Provider* forResource(const Resource& r);
  /// Every provider, created if needed.
  std::vector<Provider*> all();

 private:
  ProviderOptions options_;
  std::vector<ProviderFactory> factories_;
  std::vector<std::unique_ptr<Provider>> instances_;
};

}  // namespace hostform
