#include "tests/support/fake_provider.h"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <utility>

namespace hostform::fake {

// ---- FakeWorld ---------------------------------------------------------------------

void FakeWorld::put(Observed object) {
  std::lock_guard lock(mutex_);
  ResourceId id = object.resource.id;
  objects_.insert_or_assign(std::move(id), std::move(object));
}

void FakeWorld::erase(const ResourceId& id) {
  std::lock_guard lock(mutex_);
  objects_.erase(id);
}

std::optional<Observed> FakeWorld::get(const ResourceId& id) const {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

bool FakeWorld::contains(const ResourceId& id) const {
  std::lock_guard lock(mutex_);
  return objects_.contains(id);
}

std::size_t FakeWorld::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

std::vector<Observed> FakeWorld::ofKinds(const std::vector<Kind>& kinds) const {
  std::lock_guard lock(mutex_);
  std::vector<Observed> out;
  for (const auto& [id, object] : objects_)
    if (std::ranges::find(kinds, id.kind) != kinds.end()) out.push_back(object);
  return out;
}

std::map<ResourceId, Observed> FakeWorld::snapshot() const {
  std::lock_guard lock(mutex_);
  return objects_;
}

// ---- field paths ---------------------------------------------------------------------

namespace {

/// True when `path` is `prefix` or a leaf below it ("disks" covers "disks[0].bus").
bool below(const std::string& path, const std::string& prefix) {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

bool covered(const std::set<std::string>& paths, const std::string& path) {
  return std::ranges::any_of(paths, [&](const std::string& p) { return below(path, p); });
}

std::string shown(const std::optional<std::string>& value) { return value.value_or("unset"); }

/// Copies one spec member from the live spec into the applied one, so an
/// ignored field really keeps its old value in the world (and verify sees it).
using Copier = void (*)(Spec&, const Spec&);
#define HOSTFORM_FAKE_FIELD(S, member) \
  {#member, [](Spec& to, const Spec& from) { to.get<S>().member = from.get<S>().member; }}

const std::map<Kind, std::map<std::string, Copier>>& copiers() {
  static const std::map<Kind, std::map<std::string, Copier>> table{
      {kinds::Bridge,
       {HOSTFORM_FAKE_FIELD(BridgeSpec, state), HOSTFORM_FAKE_FIELD(BridgeSpec, mtu),
        HOSTFORM_FAKE_FIELD(BridgeSpec, macAddress), HOSTFORM_FAKE_FIELD(BridgeSpec, stp.enabled),
        HOSTFORM_FAKE_FIELD(BridgeSpec, stp.priority), HOSTFORM_FAKE_FIELD(BridgeSpec, stp.forwardDelay),
        HOSTFORM_FAKE_FIELD(BridgeSpec, stp.helloTime), HOSTFORM_FAKE_FIELD(BridgeSpec, stp.maxAge),
        HOSTFORM_FAKE_FIELD(BridgeSpec, ports), HOSTFORM_FAKE_FIELD(BridgeSpec, addresses)}},
      {kinds::VolumeGroup,
       {HOSTFORM_FAKE_FIELD(VolumeGroupSpec, physicalVolumes), HOSTFORM_FAKE_FIELD(VolumeGroupSpec, extentSize)}},
      {kinds::LogicalVolume,
       {HOSTFORM_FAKE_FIELD(LogicalVolumeSpec, volumeGroup), HOSTFORM_FAKE_FIELD(LogicalVolumeSpec, type),
        HOSTFORM_FAKE_FIELD(LogicalVolumeSpec, size), HOSTFORM_FAKE_FIELD(LogicalVolumeSpec, thinPool)}},
      {kinds::StoragePool,
       {HOSTFORM_FAKE_FIELD(StoragePoolSpec, type), HOSTFORM_FAKE_FIELD(StoragePoolSpec, target),
        HOSTFORM_FAKE_FIELD(StoragePoolSpec, source.volumeGroup), HOSTFORM_FAKE_FIELD(StoragePoolSpec, source.host),
        HOSTFORM_FAKE_FIELD(StoragePoolSpec, source.path), HOSTFORM_FAKE_FIELD(StoragePoolSpec, autostart),
        HOSTFORM_FAKE_FIELD(StoragePoolSpec, active)}},
      {kinds::Volume,
       {HOSTFORM_FAKE_FIELD(VolumeSpec, pool), HOSTFORM_FAKE_FIELD(VolumeSpec, capacity),
        HOSTFORM_FAKE_FIELD(VolumeSpec, format), HOSTFORM_FAKE_FIELD(VolumeSpec, allocation),
        HOSTFORM_FAKE_FIELD(VolumeSpec, backingVolume)}},
      {kinds::VirtualMachine,
       {HOSTFORM_FAKE_FIELD(VirtualMachineSpec, vcpus), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, maxVcpus),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, memory), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, maxMemory),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, machine), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, firmware),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, cpuMode), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, accelerator),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, state),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, autostart), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, shutdownTimeout),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, disks), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, interfaces),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, boot), HOSTFORM_FAKE_FIELD(VirtualMachineSpec, graphics),
        HOSTFORM_FAKE_FIELD(VirtualMachineSpec, restartPolicy)}},
  };
  return table;
}
#undef HOSTFORM_FAKE_FIELD

/// The size that shrinking loses data below, for the kinds that have one.
std::optional<Bytes> sizeOf(const Resource& r) {
  if (auto* lv = r.spec.get_if<LogicalVolumeSpec>()) return lv->size;
  if (auto* vol = r.spec.get_if<VolumeSpec>()) return vol->capacity;
  return std::nullopt;
}

}  // namespace

// ---- FakeProvider ----------------------------------------------------------------------

class FakeProvider::InFlight {
 public:
  InFlight(FakeProvider& p, std::string key) : p_(p), key_(std::move(key)) {
    std::lock_guard lock(p_.recordMutex_);
    ++p_.applyCalls_;
    p_.max_ = std::max(p_.max_, ++p_.current_);
    if (!key_.empty()) p_.maxPerKey_[key_] = std::max(p_.maxPerKey_[key_], ++p_.currentPerKey_[key_]);
  }
  ~InFlight() {
    std::lock_guard lock(p_.recordMutex_);
    --p_.current_;
    if (!key_.empty()) --p_.currentPerKey_[key_];
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  FakeProvider& p_;
  std::string key_;
};

FakeProvider::FakeProvider(std::string name, std::vector<Kind> kinds, std::shared_ptr<FakeWorld> world)
    : name_(std::move(name)), kinds_(std::move(kinds)), world_(std::move(world)) {}

std::size_t FakeProvider::observeCalls() const {
  std::lock_guard lock(recordMutex_);
  return observeCalls_;
}

std::size_t FakeProvider::applyCalls() const {
  std::lock_guard lock(recordMutex_);
  return applyCalls_;
}

std::vector<ResourceId> FakeProvider::applied() const {
  std::lock_guard lock(recordMutex_);
  return applied_;
}

int FakeProvider::maxConcurrency() const {
  std::lock_guard lock(recordMutex_);
  return max_;
}

int FakeProvider::maxConcurrency(const std::string& serialKey) const {
  std::lock_guard lock(recordMutex_);
  auto it = maxPerKey_.find(serialKey);
  return it == maxPerKey_.end() ? 0 : it->second;
}

OwnershipMark FakeProvider::ownershipMark(Kind kind) const {
  return ledgerKinds.contains(kind) ? OwnershipMark::Ledger : OwnershipMark::InBand;
}

Result<Observation> FakeProvider::observe() {
  if (onObserve) onObserve();
  {
    std::lock_guard lock(recordMutex_);
    ++observeCalls_;
  }
  if (!observeError.empty()) return fail(observeError);
  Observation seen{world_->ofKinds(kinds_)};
  if (servesOf) std::erase_if(seen.objects, [&](const Observed& o) { return !servesOf(o.resource); });
  return seen;
}

Result<void> FakeProvider::restore(const Observed& snapshot, const RestorePlan&, const Snapshot&, const ApplyContext&) {
  std::lock_guard lock(recordMutex_);
  restored_.push_back(snapshot.resource.id);
  return {};
}

std::vector<ResourceId> FakeProvider::restored() const {
  std::lock_guard lock(recordMutex_);
  return restored_;
}

Diff FakeProvider::plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot&) {
  Diff diff;
  if (live) {
    const std::vector<Field> want = fields(desired);
    const std::vector<Field> have = fields(live->resource);
    auto valueIn = [](const std::vector<Field>& list, const std::string& path) -> std::optional<std::string> {
      auto it = std::ranges::find(list, path, &Field::path);
      if (it == list.end()) return std::nullopt;
      return it->value;
    };
    auto compare = [&](const std::string& path, std::optional<std::string> from, std::optional<std::string> to) {
      if (from == to) return;
      if (covered(immutableFields, path)) {
        diff.problems.push_back({"spec." + path, "is immutable: " + shown(from) + " on the host, " + shown(to) + " declared"});
        return;
      }
      ChangeClass cls = covered(replaceFields, path)   ? ChangeClass::Replace
                        : covered(restartFields, path) ? ChangeClass::Restart
                                                       : ChangeClass::Live;
      diff.changes.push_back({path, std::move(from), std::move(to), cls});
    };
    for (const Field& f : want) compare(f.path, valueIn(have, f.path), f.value);
    for (const Field& f : have)
      if (!valueIn(want, f.path)) compare(f.path, f.value, std::nullopt);

    const auto wantSize = sizeOf(desired), haveSize = sizeOf(live->resource);
    if (reportsDataLoss && wantSize && haveSize && *wantSize < *haveSize)
      diff.dataLoss = "shrinking " + desired.id.str() + " from " + formatSize(*haveSize) + " to " +
                      formatSize(*wantSize) + " loses the data beyond " + formatSize(*wantSize);
  }
  if (extraChecks) extraChecks(desired, live, ctx, diff);
  return diff;
}

namespace {

std::optional<std::string> fakeDeletionLoss(const Observed& live) {
  const Resource& r = live.resource;
  const std::string prefix = "deleting " + r.id.str() + " destroys its data";
  if (r.kind() == kinds::LogicalVolume || r.kind() == kinds::Volume)
    return prefix + " (" + formatSize(*sizeOf(r)) + ")";
  if (r.kind() == kinds::VolumeGroup) {
    std::string pvs;
    for (const std::string& pv : r.as<VolumeGroupSpec>().physicalVolumes) pvs += (pvs.empty() ? "" : ", ") + pv;
    return prefix + " (on " + pvs + ")";
  }
  if (r.kind() == kinds::StoragePool) return prefix;
  return std::nullopt;  // a bridge or a VM holds no data
}

}  // namespace

Deletion FakeProvider::deletion(const Observed& live, const PlanContext& ctx, const Snapshot&) {
  Deletion d;
  if (deletionProblemsOf) d.problems = deletionProblemsOf(live, ctx);
  if (d.problems.empty() && reportsDataLoss) d.dataLoss = fakeDeletionLoss(live);
  return d;
}

Resource FakeProvider::appliedState(const Action& action) const {
  Resource r = *action.desired;
  // Observed objects come from the host, not from a file.
  r.source = {};
  r.positions.clear();
  if (!action.live) return r;
  const auto& table = copiers().at(r.kind());
  for (const std::string& ignored : ignoreFields) {
    bool known = false;
    for (const auto& [path, copy] : table) {
      if (below(ignored, path) || below(path, ignored)) {
        copy(r.spec, action.live->resource.spec);
        known = true;
      }
    }
    if (!known) throw std::invalid_argument("FakeProvider: cannot ignore unknown field " + ignored);
  }
  return r;
}

Result<void> FakeProvider::apply(const Action& action, const ApplyContext& ctx) {
  InFlight inFlight(*this, serialKey(action));
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  for (const std::string& report : progressReports) ctx.progress(report);
  if (failOn.contains(action.id)) return fail("injected failure");

  switch (action.op) {
    case Op::Replace:  // the engine carries a replace out as a delete and a create
      return fail("FakeProvider: " + action.id.str() + ": a replace reached the provider.");
    case Op::Create:
    case Op::Update: {
      if (!action.desired) return fail("FakeProvider: " + action.id.str() + " has no desired state.");
      std::string owner = ownershipMark(action.id.kind) == OwnershipMark::InBand ? ctx.owner : std::string();
      world_->put(appliedState(action), std::move(owner));
      break;
    }
    case Op::Delete:
      world_->erase(action.id);
      break;
    case Op::Orphan:
      return fail("FakeProvider: orphan actions are never applied.");
  }
  std::lock_guard lock(recordMutex_);
  applied_.push_back(action.id);
  return {};
}

std::string FakeProvider::serialKey(const Action& action) const {
  return serialKeyOf ? serialKeyOf(action) : std::string();
}

// ---- test resources ------------------------------------------------------------------------

namespace {
Resource make(Kind kind, const std::string& name, Spec spec) {
  Resource r;
  r.id = identityOf(kind, name, spec);
  r.spec = std::move(spec);
  return r;
}
}  // namespace

Resource makeBridge(const std::string& name, std::optional<std::uint32_t> mtu) {
  BridgeSpec s;
  s.mtu = mtu;
  return make(kinds::Bridge, name, s);
}

Resource makeVg(const std::string& name, std::vector<std::string> physicalVolumes, Bytes extentSize) {
  VolumeGroupSpec s;
  s.physicalVolumes = std::move(physicalVolumes);
  s.extentSize = extentSize;
  return make(kinds::VolumeGroup, name, s);
}

Resource makeLv(const std::string& vg, const std::string& name, Bytes size, LvType type) {
  LogicalVolumeSpec s;
  s.volumeGroup = vg;
  s.size = size;
  s.type = type;
  return make(kinds::LogicalVolume, name, s);
}

Resource makePool(const std::string& name, std::string target) {
  StoragePoolSpec s;
  s.type = PoolType::Dir;
  s.target = target.empty() ? "/var/lib/libvirt/images/" + name : std::move(target);
  return make(kinds::StoragePool, name, s);
}

Resource makeVolume(const std::string& pool, const std::string& name, Bytes capacity) {
  VolumeSpec s;
  s.pool = pool;
  s.capacity = capacity;
  return make(kinds::Volume, name, s);
}

Resource makeVm(const std::string& name, std::uint32_t vcpus, Bytes memory) {
  VirtualMachineSpec s;
  s.vcpus = s.maxVcpus = vcpus;
  s.memory = s.maxMemory = memory;
  return make(kinds::VirtualMachine, name, s);
}

}  // namespace hostform::fake
