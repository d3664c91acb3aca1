#include "reconciler/loader.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <condition_variable>
#include <memory>
#include <thread>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <unordered_map>


#include "reconciler/graph.h"
#include "reconciler/limits.h"
#include "reconciler/text.h"
#include "reconciler/schema.h"
#include "reconciler/yaml_tree.h"

namespace hostform {
namespace fs = std::filesystem;
namespace {

// ---- files and documents ----------------------------------------------------

bool isManifestFile(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

/// Expands `paths` into the files to read, in order; problems go to `diags`.
std::vector<fs::path> expandPaths(const std::vector<std::string>& paths, Diagnostics& diags) {
  std::vector<fs::path> files;
  for (const std::string& arg : paths) {
    std::error_code ec;
    const fs::path path(arg);
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      diags.error({arg, 0, 0}, "", "no such file or directory");
      continue;
    }
    if (!fs::is_directory(status)) {
      files.push_back(path);
      continue;
    }
    std::vector<fs::path> found;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && isManifestFile(it->path())) found.push_back(it->path());
    }
    if (ec) diags.error({arg, 0, 0}, "", "cannot read the directory: " + ec.message());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

// ---- decoding a validated document into the model ---------------------------

/// Reads one schema-valid document. Schema validation already rejected wrong
/// types and shapes; what is checked here is what a schema cannot say (sizes
/// that overflow, maxVcpus ≥ vcpus, reserved LVM names).
class Decoder {
 public:
  Decoder(const schema::Locator& where, Diagnostics& diags) : where_(where), diags_(diags) {}

  std::optional<Resource> decode(const yaml::Node& doc) {
    Resource r;
    r.source = where_.at(doc);
    const auto kind = parseKind(doc["kind"].scalar());
    if (!kind) return std::nullopt;  // schema validation reported it
    const yaml::Node metadata = doc["metadata"];
    const std::string name = metadata["name"].scalar();
    if (const yaml::Node labels = metadata["labels"])
      for (std::size_t i = 0; i < labels.size(); ++i) r.labels[labels.key(i).scalar()] = labels.value(i).scalar();
    const yaml::Node spec = doc["spec"];  // required by every schema
    const SourcePos namePos = where_.at(metadata["name"]);
    r.positions.push_back({"metadata.name", namePos.line, namePos.column});
    recordPositions(spec, "spec", r.positions);
    switch (*kind) {
      case Kind::Bridge: r.spec = bridge(spec); break;
      case Kind::VolumeGroup: r.spec = volumeGroup(spec); checkLvmName(metadata["name"], name, "metadata.name"); break;
      case Kind::LogicalVolume: r.spec = logicalVolume(spec); checkLvmName(metadata["name"], name, "metadata.name"); break;
      case Kind::StoragePool: r.spec = storagePool(spec); break;
      case Kind::Volume: r.spec = volume(spec); break;
      case Kind::VirtualMachine: r.spec = virtualMachine(spec); break;
    }
    r.id = identityOf(*kind, name, r.spec);
    if (failed_) return std::nullopt;
    return r;
  }

 private:
  void error(const yaml::Node& at, const std::string& path, std::string message) {
    diags_.error(where_.at(at), path, std::move(message));
    failed_ = true;
  }

  void recordPositions(const yaml::Node& node, const std::string& path, std::vector<FieldPos>& out) {
    const SourcePos pos = where_.at(node);
    out.push_back({path, pos.line, pos.column});
    if (node.isMap()) {
      for (std::size_t i = 0; i < node.size(); ++i)
        recordPositions(node.value(i), path + "." + node.key(i).scalar(), out);
    } else if (node.isSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i)
        recordPositions(node[i], path + "[" + std::to_string(i) + "]", out);
    }
  }

  /// A value in a message: as written when short, else cut (text.h).
  static std::string shown(const yaml::Node& n) { return showValue(n.scalar()); }

  // The schema has checked every type, so these read without re-checking.
  static const std::string& text(const yaml::Node& n) { return n.scalar(); }
  static std::optional<std::string> optText(const yaml::Node& n) {
    if (!n) return std::nullopt;
    return n.scalar();
  }
  static bool flag(const yaml::Node& n, bool fallback) { return n ? std::tolower(n.scalar()[0]) == 't' : fallback; }
  static std::uint32_t number(const yaml::Node& n) {
    return static_cast<std::uint32_t>(std::strtoul(n.scalar().c_str(), nullptr, 10));
  }
  static std::vector<std::string> texts(const yaml::Node& n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(n[i].scalar());
    return out;
  }

  template <class E>
  static E choice(const yaml::Node& n, E fallback) {
    E out = fallback;
    if (n) fromString(n.scalar(), out);
    return out;
  }

  Bytes size(const yaml::Node& n, const std::string& path, Bytes fallback = 0) {
    if (!n) return fallback;
    auto parsed = parseSize(n.scalar());
    if (!parsed) {
      error(n, path, parsed.error().message);
      return fallback;
    }
    return *parsed;
  }

  Bytes positiveSize(const yaml::Node& n, const std::string& path) {
    const Bytes b = size(n, path);
    if (n && b == 0 && !failed_) error(n, path, "expected a size greater than 0, found " + shown(n));
    return b;
  }

  Millis duration(const yaml::Node& n, const std::string& path, Millis fallback) {
    if (!n) return fallback;
    auto parsed = parseDuration(n.scalar());
    if (!parsed) {
      error(n, path, parsed.error().message);
      return fallback;
    }
    return *parsed;
  }

  /// Kernel limits of bridge timers (net/bridge/br_stp.c), checked here so a plan never
  /// promises what the kernel refuses.
  Millis timer(const yaml::Node& n, const std::string& path, Millis fallback, Millis lo, Millis hi) {
    const Millis d = duration(n, path, fallback);
    if (n && (d < lo || d > hi))
      error(n, path, "expected a duration from " + formatDuration(lo) + " to " + formatDuration(hi) + ", found " +
                         shown(n));
    return d;
  }

  std::optional<std::string> mac(const yaml::Node& n) {
    auto m = optText(n);
    if (m) std::transform(m->begin(), m->end(), m->begin(), [](unsigned char c) { return std::tolower(c); });
    return m;
  }

  /// lvm2's rules (lib/misc/lvm-string.c) beyond the schema's character set.
  void checkLvmName(const yaml::Node& at, const std::string& name, const std::string& path) {
    if (name == "." || name == "..") {
      error(at, path, "\"" + name + "\" is not a valid LVM name");
      return;
    }
    if (name.starts_with("snapshot") || name.starts_with("pvmove")) {
      error(at, path, "LVM reserves names starting with \"snapshot\" or \"pvmove\", found \"" + name + "\"");
      return;
    }
    static constexpr std::string_view kReserved[] = {"_cdata", "_cmeta", "_corig", "_cpool", "_cvol",  "_imeta",
                                                     "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta",
                                                     "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig"};
    for (std::string_view r : kReserved)
      if (name.find(r) != std::string::npos) {
        error(at, path, "LVM reserves names containing \"" + std::string(r) + "\", found \"" + name + "\"");
        return;
      }
  }

  BridgeSpec bridge(const yaml::Node& s) {
    BridgeSpec b;
    b.state = choice(s["state"], b.state);
    if (s["mtu"]) b.mtu = number(s["mtu"]);
    b.macAddress = mac(s["macAddress"]);
    if (const yaml::Node stp = s["stp"]) {
      b.stp.enabled = flag(stp["enabled"], b.stp.enabled);
      if (stp["priority"]) b.stp.priority = number(stp["priority"]);
      b.stp.forwardDelay = timer(stp["forwardDelay"], "spec.stp.forwardDelay", b.stp.forwardDelay, Millis(2'000), Millis(30'000));
      b.stp.helloTime = timer(stp["helloTime"], "spec.stp.helloTime", b.stp.helloTime, Millis(1'000), Millis(10'000));
      b.stp.maxAge = timer(stp["maxAge"], "spec.stp.maxAge", b.stp.maxAge, Millis(6'000), Millis(40'000));
    }
    b.ports = texts(s["ports"]);
    b.addresses = texts(s["addresses"]);
    return b;
  }

  /// A local path stays where it says: no ".." component, so /dev/../etc/passwd
  /// is never a device (and never reaches lvm or libvirt).
  void checkPath(const yaml::Node& n, const std::string& path) {
    if (!n) return;
    for (const auto& part : std::filesystem::path(n.scalar()))
      if (part == "..") {
        const std::string normal = std::filesystem::path(n.scalar()).lexically_normal().string();
        error(n, path, "expected a path without \"..\" components, found " + quoteValue(n.scalar()) + " (" +
                           showValue(normal) + ")");
        return;
      }
  }

  VolumeGroupSpec volumeGroup(const yaml::Node& s) {
    VolumeGroupSpec vg;
    vg.physicalVolumes = texts(s["physicalVolumes"]);
    for (std::size_t i = 0; i < s["physicalVolumes"].size(); ++i)
      checkPath(s["physicalVolumes"][i], "spec.physicalVolumes[" + std::to_string(i) + "]");
    vg.extentSize = size(s["extentSize"], "spec.extentSize", vg.extentSize);
    const Bytes e = vg.extentSize;
    // lvm2 takes extents from 1KiB to 1TiB (vgcreate -s refuses 2TiB).
    if (s["extentSize"] && !failed_ && (e < KiB || e > TiB || (e & (e - 1)) != 0))
      error(s["extentSize"], "spec.extentSize",
            "expected a power of two from 1KiB to 1TiB (such as 4MiB), found " + shown(s["extentSize"]));
    vg.force = flag(s["force"], vg.force);
    return vg;
  }

  LogicalVolumeSpec logicalVolume(const yaml::Node& s) {
    LogicalVolumeSpec lv;
    lv.volumeGroup = text(s["volumeGroup"]);
    lv.type = choice(s["type"], lv.type);
    lv.size = positiveSize(s["size"], "spec.size");
    lv.thinPool = optText(s["thinPool"]);
    checkLvmName(s["volumeGroup"], lv.volumeGroup, "spec.volumeGroup");
    if (lv.thinPool) checkLvmName(s["thinPool"], *lv.thinPool, "spec.thinPool");
    return lv;
  }

  StoragePoolSpec storagePool(const yaml::Node& s) {
    StoragePoolSpec p;
    p.type = choice(s["type"], p.type);
    p.target = optText(s["target"]);
    checkPath(s["target"], "spec.target");
    if (const yaml::Node src = s["source"]) {
      p.source.volumeGroup = optText(src["volumeGroup"]);
      p.source.host = optText(src["host"]);
      p.source.path = optText(src["path"]);
    }
    p.autostart = flag(s["autostart"], p.autostart);
    p.active = flag(s["active"], p.active);
    return p;
  }

  VolumeSpec volume(const yaml::Node& s) {
    VolumeSpec v;
    v.pool = text(s["pool"]);
    v.capacity = positiveSize(s["capacity"], "spec.capacity");
    v.format = choice(s["format"], v.format);
    // QEMU's qcow2 (64KiB clusters, the size it creates) addresses at most 2PiB.
    if (!failed_ && v.format == VolumeFormat::Qcow2 && v.capacity > 2 * PiB)
      error(s["capacity"], "spec.capacity",
            "expected at most 2PiB for a qcow2 volume (QEMU's limit), found " + shown(s["capacity"]));
    v.allocation = choice(s["allocation"], v.allocation);
    if (const yaml::Node b = s["backingVolume"]) v.backingVolume = VolumeRef{text(b["pool"]), text(b["name"])};
    return v;
  }

  VirtualMachineSpec virtualMachine(const yaml::Node& s) {
    VirtualMachineSpec vm;
    if (s["vcpus"]) vm.vcpus = number(s["vcpus"]);
    vm.maxVcpus = s["maxVcpus"] ? number(s["maxVcpus"]) : vm.vcpus;
    if (vm.maxVcpus < vm.vcpus)
      error(s["maxVcpus"], "spec.maxVcpus",
            "expected at least vcpus (" + std::to_string(vm.vcpus) + "), found " + std::to_string(vm.maxVcpus));
    vm.memory = positiveSize(s["memory"], "spec.memory");
    vm.maxMemory = s["maxMemory"] ? positiveSize(s["maxMemory"], "spec.maxMemory") : vm.memory;
    if (!failed_ && vm.memory % KiB != 0)
      error(s["memory"], "spec.memory", "expected a whole number of KiB, found " + shown(s["memory"]));
    if (!failed_ && vm.maxMemory % KiB != 0)
      error(s["maxMemory"], "spec.maxMemory", "expected a whole number of KiB, found " + shown(s["maxMemory"]));
    if (!failed_ && vm.maxMemory < vm.memory)
      error(s["maxMemory"], "spec.maxMemory",
            "expected at least memory (" + formatSize(vm.memory) + "), found " + formatSize(vm.maxMemory));
    vm.machine = choice(s["machine"], vm.machine);
    vm.firmware = choice(s["firmware"], vm.firmware);
    vm.cpuMode = choice(s["cpuMode"], vm.cpuMode);
    vm.accelerator = choice(s["accelerator"], vm.accelerator);
    vm.state = choice(s["state"], vm.state);
    vm.autostart = flag(s["autostart"], vm.autostart);
    vm.shutdownTimeout = duration(s["shutdownTimeout"], "spec.shutdownTimeout", vm.shutdownTimeout);
    std::map<std::string, std::size_t> targets;
    if (const yaml::Node disks = s["disks"])
      for (std::size_t i = 0; i < disks.size(); ++i) {
        const yaml::Node d = disks[i];
        DiskSpec disk;
        if (const yaml::Node v = d["volume"]) disk.source = VolumeRef{text(v["pool"]), text(v["name"])};
        else if (const yaml::Node lv = d["logicalVolume"])
          disk.source = LogicalVolumeRef{text(lv["volumeGroup"]), text(lv["name"])};
        else {
          disk.source = text(d["path"]);
          checkPath(d["path"], "spec.disks[" + std::to_string(i) + "].path");
        }
        disk.target = optText(d["target"]);
        disk.bus = choice(d["bus"], disk.bus);
        disk.readOnly = flag(d["readOnly"], disk.readOnly);
        if (disk.target) {
          auto [it, fresh] = targets.emplace(*disk.target, i);
          if (!fresh)
            error(d["target"], "spec.disks[" + std::to_string(i) + "].target",
                  "target \"" + *disk.target + "\" is already used by disk " + std::to_string(it->second));
        }
        vm.disks.push_back(std::move(disk));
      }
    std::map<std::string, std::size_t> macs;
    if (const yaml::Node nics = s["interfaces"])
      for (std::size_t i = 0; i < nics.size(); ++i) {
        const yaml::Node n = nics[i];
        InterfaceSpec nic;
        nic.bridge = text(n["bridge"]);
        nic.macAddress = mac(n["macAddress"]);
        if (n["model"]) nic.model = text(n["model"]);
        if (nic.macAddress) {
          auto [it, fresh] = macs.emplace(*nic.macAddress, i);
          if (!fresh)
            error(n["macAddress"], "spec.interfaces[" + std::to_string(i) + "].macAddress",
                  "MAC address " + *nic.macAddress + " is already used by interface " + std::to_string(it->second));
        }
        vm.interfaces.push_back(std::move(nic));
      }
    if (const yaml::Node boot = s["boot"]) {
      vm.boot.clear();
      for (std::size_t i = 0; i < boot.size(); ++i) vm.boot.push_back(choice(boot[i], BootDevice::Hd));
    }
    vm.graphics = choice(s["graphics"], vm.graphics);
    vm.restartPolicy = choice(s["restartPolicy"], vm.restartPolicy);
    return vm;
  }

  const schema::Locator& where_;
  Diagnostics& diags_;
  bool failed_ = false;
};

}  // namespace

namespace {

/// What checking a run of documents produced, merged into the LoadResult in order.
struct Batch {
  std::vector<yaml::Document> documents;
  std::vector<Resource> resources;
  Diagnostics diagnostics;
};

/// Validates and decodes each document of `batch`; touches nothing shared.
void checkBatch(Batch& batch, const schema::Locator& where) {
  for (const yaml::Document& doc : batch.documents) {
    const yaml::Node root = doc.root();
    const std::size_t before = batch.diagnostics.errorCount();
    schema::validateDocument(root, where, batch.diagnostics);
    if (batch.diagnostics.errorCount() != before) continue;
    Decoder decoder(where, batch.diagnostics);
    if (auto r = decoder.decode(root)) batch.resources.push_back(std::move(*r));
  }
  batch.documents.clear();  // free the trees as soon as they are read
}

/// Batches waiting to be checked, shared by the parsing thread and the workers.
/// Bounded, so a huge file never has more than a few parsed trees in memory.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

  /// Blocks while the queue is full.
  void push(Batch* batch) {
    std::unique_lock lock(mutex_);
    notFull_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(batch);
    notEmpty_.notify_one();
  }
  /// The next batch; nullptr once closed and drained.
  Batch* pop(bool wait) {
    std::unique_lock lock(mutex_);
    if (wait) notEmpty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return nullptr;
    Batch* b = queue_.front();
    queue_.pop_front();
    notFull_.notify_one();
    return b;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    notEmpty_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable notFull_, notEmpty_;
  std::deque<Batch*> queue_;
  bool closed_ = false;
};

}  // namespace

void loadText(std::string_view text, const std::string& fileName, LoadResult& into) {
  // Documents are independent: while this thread parses (libyaml is
  // sequential), workers on the other cores validate and decode batches of
  // them; when parsing is done this thread helps. Batches are merged in file
  // order, so the result never depends on scheduling.
  constexpr std::size_t kBatch = 128;
  const schema::Locator where{fileName};
  std::vector<std::unique_ptr<Batch>> batches;
  const std::size_t workers = std::max(1u, std::thread::hardware_concurrency()) - 1;
  BatchQueue queue(2 * workers + 2);
  std::vector<std::jthread> pool;

  yaml::StreamParser parser(text, limits::kDocuments - std::min(limits::kDocuments, into.documentsRead));
  auto batch = std::make_unique<Batch>();
  while (std::optional<yaml::Document> doc = parser.next()) {
    if (doc->empty()) continue;  // e.g. a trailing "---"
    ++into.documents;
    batch->documents.push_back(std::move(*doc));
    if (batch->documents.size() < kBatch) continue;
    // A small file (the common case) never starts a thread.
    if (pool.empty())
      for (std::size_t i = 0; i < workers; ++i)
        pool.emplace_back([&queue, &where] {
          while (Batch* b = queue.pop(true)) checkBatch(*b, where);
        });
    if (pool.empty()) checkBatch(*batch, where);  // one core: no one to hand it to
    else queue.push(batch.get());
    batches.push_back(std::move(batch));
    batch = std::make_unique<Batch>();
  }
  checkBatch(*batch, where);
  batches.push_back(std::move(batch));
  queue.close();
  while (Batch* b = queue.pop(false)) checkBatch(*b, where);
  pool.clear();  // joins: every batch is checked

  for (auto& b : batches) {
    for (Resource& r : b->resources) into.resources.push_back(std::move(r));
    into.diagnostics.append(b->diagnostics);
  }
  into.documentsRead += parser.documents();
  if (const auto& e = parser.error())
    into.diagnostics.error({fileName, e->mark.line + 1, e->mark.column + 1}, "",
                           e->limit ? e->message : "invalid YAML: " + e->message);
}

void checkCrossReferences(LoadResult& result) {
  auto& resources = result.resources;
  std::unordered_map<ResourceId, std::size_t> index;
  std::vector<bool> duplicate(resources.size(), false);
  for (std::size_t i = 0; i < resources.size(); ++i) {
    auto [it, fresh] = index.emplace(resources[i].id, i);
    if (fresh) continue;
    const SourcePos& first = resources[it->second].source;
    result.diagnostics.error(resources[i].source, "metadata.name",
                             resources[i].id.str() + " is declared twice; first at " + first.file + ":" +
                                 std::to_string(first.line) + ":" + std::to_string(first.column));
    duplicate[i] = true;
  }

  Needs needs(resources.size());
  for (std::size_t i = 0; i < resources.size(); ++i) {
    const Resource& r = resources[i];
    for (const Reference& ref : references(r)) {
      auto it = index.find(ref.target);
      if (it == index.end()) {
        result.diagnostics.warning(locate(r, ref.field), ref.field,
                                   "references " + ref.target.str() +
                                       ", which these manifests do not declare; plan requires it on the host");
        continue;
      }
      needs[i].push_back(it->second);
      const Resource& target = resources[it->second];
      if (ref.field == "spec.thinPool" && target.as<LogicalVolumeSpec>().type != LvType::ThinPool)
        result.diagnostics.error(locate(r, ref.field), ref.field,
                                 "references " + target.id.str() + ", which is a " +
                                     std::string(toString(target.as<LogicalVolumeSpec>().type)) +
                                     " volume; expected a thin-pool");
    }
  }
  for (const auto& cycle : findCycles(needs)) {
    std::string walk;
    for (std::size_t i : cycle) walk += resources[i].id.str() + " -> ";
    walk += resources[cycle.front()].id.str();
    // Reported at the field of the first resource that makes the first step.
    const Resource& first = resources[cycle.front()];
    const ResourceId& next = resources[cycle.size() > 1 ? cycle[1] : cycle.front()].id;
    std::string field;
    for (const Reference& ref : references(first))
      if (ref.target == next) {
        field = ref.field;
        break;
      }
    result.diagnostics.error(locate(first, field), field, "dependency cycle: " + walk);
  }
  // Drop second declarations so later stages see one resource per identity.
  std::size_t out = 0;
  for (std::size_t i = 0; i < resources.size(); ++i) {
    if (duplicate[i]) continue;
    if (out != i) resources[out] = std::move(resources[i]);  // never self-move: it empties strings
    ++out;
  }
  resources.resize(out);
}

LoadResult loadManifests(const std::vector<std::string>& paths) {
  LoadResult result;
  std::size_t budget = limits::kManifestBytes;  // for all files together, as for one commit
  for (const fs::path& file : expandPaths(paths, result.diagnostics)) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      result.diagnostics.error({file.string(), 0, 0}, "", "cannot read the file");
      continue;
    }
    // Read at most what is left of the budget, and one byte more to know it
    // was exceeded: a file's size says nothing for /dev/zero or a pipe.
    std::string text;
    char chunk[1 << 16];
    while (text.size() <= budget && (in.read(chunk, sizeof chunk) || in.gcount() > 0))
      text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > budget) {
      std::string where;
      for (const std::string& p : paths) where += (where.empty() ? "" : ", ") + p;
      result.diagnostics.error({file.string(), 0, 0}, "", limits::manifestsTooLarge(where));
      break;
    }
    budget -= text.size();
    loadText(text, file.string(), result);
  }
  checkCrossReferences(result);
  result.diagnostics.sort();
  return result;
}

LoadResult loadManifestTexts(const std::vector<ManifestText>& files) {
  LoadResult result;
  std::size_t total = 0;
  for (const ManifestText& file : files) total += file.text.size();
  if (total > limits::kManifestBytes) {
    result.diagnostics.error({}, "", limits::manifestsTooLarge("these paths"));
    return result;
  }
  for (const ManifestText& file : files) loadText(file.text, file.name, result);
  checkCrossReferences(result);
  result.diagnostics.sort();
  return result;
}

SourcePos locate(const Resource& r, std::string_view fieldPath) {
  for (const FieldPos& p : r.positions)
    if (p.path == fieldPath) return {r.source.file, p.line, p.column};
  return r.source;
}

}  // namespace hostform
