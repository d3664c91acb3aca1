#include "providers/kvm/snapshot.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>

#include "providers/kvm/session.h"
#include "providers/kvm/xml_util.h"
#include "reconciler/atomic_file.h"
#include "reconciler/record_file.h"
#include "reconciler/process.h"

namespace hostform::kvm {
namespace {

using namespace std::chrono_literals;

/// A tool's own words for a failure: stderr, trimmed, lines joined.
std::string toolText(const std::string& err) {
  std::string out;
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    out += (out.empty() ? "" : "; ") + line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
  }
  return out.empty() ? "it printed no reason" : out;
}

/// Runs a qemu-img/qemu tool; a non-zero exit is an error with its stderr.
/// Snapshots of big images take long: 30 minutes before one is given up.
Result<std::string> runTool(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 30min) {
  auto run = runCommand(argv, timeout);
  if (!run) return hostform::unexpected(run.error());
  if (run->exitCode != 0)
    return fail(showCommand(argv) + " failed with exit code " + std::to_string(run->exitCode) + ": " +
                toolText(run->err));
  return std::move(run->out);
}

const ImageSnapshot* findSnapshot(const ImageSnapshots& image, const std::string& name) {
  for (const ImageSnapshot& s : image.snapshots)
    if (s.name == name) return &s;
  return nullptr;
}

std::string errnoText(int e = errno) { return std::strerror(e); }

/// `qemu-img snapshot` takes no -f: the format is given as image options
/// instead, so a file is never probed (a raw image whose guest wrote a qcow2
/// header would otherwise be read as qcow2). Commas in the path are doubled.
std::string qcow2Options(const fs::path& image) {
  std::string path;
  for (char c : image.string()) path += c == ',' ? std::string(",,") : std::string(1, c);
  return "driver=qcow2,file.driver=file,file.filename=" + path;
}

Result<void> snapshotCommand(const std::string& flag, const std::string& name, const fs::path& image) {
  if (auto r = runTool({"qemu-img", "snapshot", "--image-opts", flag, name, qcow2Options(image)}); !r)
    return hostform::unexpected(r.error());
  return {};
}

}  // namespace

// ---- qcow2 internal snapshots --------------------------------------------------

Result<ImageSnapshots> parseImageInfo(const std::string& json, const std::string& file) {
  ImageSnapshots out;
  try {
    const nlohmann::json doc = nlohmann::json::parse(json);
    out.format = doc.at("format").get<std::string>();
    out.actualSize = doc.value("actual-size", Bytes{0});
    out.backingFile = doc.value("full-backing-filename", doc.value("backing-filename", std::string()));
    if (const auto list = doc.find("snapshots"); list != doc.end())
      for (const auto& s : *list)
        out.snapshots.push_back({s.at("id").get<std::string>(), s.at("name").get<std::string>(),
                                 s.value("date-sec", std::int64_t{0}), s.value("vm-state-size", Bytes{0})});
  } catch (const nlohmann::json::exception& e) {
    return fail("cannot read what qemu-img says of " + file + ": " + e.what());
  }
  return out;
}

Result<ImageSnapshots> readImageSnapshots(const fs::path& image) {
  auto out = runTool({"qemu-img", "info", "-U", "--output=json", image.string()}, 2min);
  if (!out) return hostform::unexpected(out.error());
  return parseImageInfo(*out, image.string());
}

Result<void> createImageSnapshot(const fs::path& image, const std::string& name) {
  auto info = readImageSnapshots(image);
  if (!info) return hostform::unexpected(info.error());
  if (info->format != "qcow2")
    return fail(image.string() + " is a " + info->format + " image; internal snapshots need qcow2.");
  if (findSnapshot(*info, name))
    return fail(image.string() + " already holds an internal snapshot named " + name +
                "; hostform takes no second one of that name (qemu-img would).");
  return snapshotCommand("-c", name, image);
}

Result<void> deleteImageSnapshot(const fs::path& image, const std::string& name) {
  return snapshotCommand("-d", name, image);
}

Result<void> revertImageSnapshot(const fs::path& image, const std::string& name) {
  return snapshotCommand("-a", name, image);
}

// ---- qcow2 external snapshots of a volume --------------------------------------

std::string frozenVolumeName(const std::string& volume, const std::string& snapshot) { return volume + "@" + snapshot; }

namespace {

/// A new empty qcow2 at `path` backed by `backing` (a qcow2 file), with the
/// virtual size of the backing file, owned and moded like `like`.
Result<void> makeOverlay(const fs::path& path, const fs::path& backing, const struct stat& like) {
  if (auto r =
          runTool({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing.string(), path.string()});
      !r)
    return hostform::unexpected(r.error());
  if (::chown(path.c_str(), like.st_uid, like.st_gid) != 0 || ::chmod(path.c_str(), like.st_mode & 07777) != 0)
    return fail("cannot give " + path.string() + " the owner and mode of the volume it replaces: " + errnoText() + ".");
  return {};
}

}  // namespace

Result<void> createExternalVolumeSnapshot(const fs::path& image, const std::string& snapshot) {
  const fs::path frozen = image.parent_path() / frozenVolumeName(image.filename().string(), snapshot);
  auto info = readImageSnapshots(image);
  if (!info) return hostform::unexpected(info.error());
  if (info->format != "qcow2")
    return fail(image.string() + " is a " + info->format + " image; hostform's external snapshots need qcow2.");
  struct stat st {};
  if (::stat(image.c_str(), &st) != 0) return fail("cannot read " + image.string() + ": " + errnoText() + ".");
  std::error_code ec;
  if (fs::exists(frozen, ec)) return fail(frozen.string() + " already exists; hostform never overwrites a file.");
  // The rename is atomic: the volume is either the old file or (after the
  // overlay is made) the overlay on it. If making the overlay fails, the file
  // goes back.
  fs::rename(image, frozen, ec);
  if (ec) return fail("cannot rename " + image.string() + " to " + frozen.string() + ": " + ec.message() + ".");
  if (auto made = makeOverlay(image, frozen, st); !made) {
    fs::remove(image, ec);
    std::error_code back;
    fs::rename(frozen, image, back);
    return fail(made.error().message +
                (back ? " " + frozen.string() + " could not be moved back to " + image.string() + ": " + back.message()
                      : std::string(" The volume was left as it was.")));
  }
  // Nothing writes the frozen file again: read-only for everyone.
  ::chmod(frozen.c_str(), st.st_mode & 0444);
  return {};
}

Result<void> revertExternalVolumeSnapshot(const fs::path& image, const std::string& snapshot) {
  const fs::path frozen = image.parent_path() / frozenVolumeName(image.filename().string(), snapshot);
  auto info = readImageSnapshots(image);
  if (!info) return hostform::unexpected(info.error());
  if (fs::path(info->backingFile) != frozen)
    return fail(image.string() + " is not backed by " + frozen.string() + " but by " +
                (info->backingFile.empty() ? std::string("nothing") : info->backingFile) +
                ": a newer external snapshot lies between them. Delete the newer snapshots first, or restore the "
                "newest.");
  struct stat st {};
  if (::stat(image.c_str(), &st) != 0) return fail("cannot read " + image.string() + ": " + errnoText() + ".");
  // A new overlay next to the volume, renamed over it: never a moment without the volume.
  const fs::path fresh = image.parent_path() / ("." + image.filename().string() + ".restore");
  std::error_code ec;
  fs::remove(fresh, ec);
  if (auto made = makeOverlay(fresh, frozen, st); !made) {
    fs::remove(fresh, ec);
    return hostform::unexpected(made.error());
  }
  fs::rename(fresh, image, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(fresh, ignored);
    return fail("cannot rename " + fresh.string() + " to " + image.string() + ": " + ec.message() + ".");
  }
  return {};
}

Result<void> deleteExternalVolumeSnapshot(const fs::path& image, const std::string& snapshot) {
  const fs::path frozen = image.parent_path() / frozenVolumeName(image.filename().string(), snapshot);
  // The image above the frozen file: walk down from the volume.
  fs::path child = image;
  for (int depth = 0;; ++depth) {
    auto info = readImageSnapshots(child);
    if (!info) return hostform::unexpected(info.error());
    if (info->backingFile.empty() || depth > 64)
      return fail(frozen.string() + " is not in the backing chain of " + image.string() + "; nothing was changed.");
    if (fs::path(info->backingFile) == frozen) break;
    child = info->backingFile;
  }
  auto below = readImageSnapshots(frozen);
  if (!below) return hostform::unexpected(below.error());
  // Safe mode: what the frozen file holds is copied into the child first, so
  // the child reads the same after as before.
  std::vector<std::string> argv{"qemu-img", "rebase", "-f", "qcow2", "-b", below->backingFile};
  if (!below->backingFile.empty()) {
    argv.push_back("-F");
    argv.push_back("qcow2");
  }
  argv.push_back(child.string());
  // The child may be a frozen (read-only) file: writable for the rebase only.
  struct stat st {};
  const bool frozenChild = child != image && ::stat(child.c_str(), &st) == 0;
  if (frozenChild) ::chmod(child.c_str(), (st.st_mode & 07777) | 0200);
  auto rebased = runTool(argv);
  if (frozenChild) ::chmod(child.c_str(), st.st_mode & 07777);
  if (!rebased) return hostform::unexpected(rebased.error());
  std::error_code ec;
  fs::remove(frozen, ec);
  if (ec) return fail("cannot remove " + frozen.string() + ": " + ec.message() + ".");
  return {};
}

// ---- records -------------------------------------------------------------------

std::string_view storageName(SnapshotStorage s) { return s == SnapshotStorage::Internal ? "internal" : "external"; }

namespace {

RecordFile snapshotRecords(const fs::path& stateDir) {
  return RecordFile(stateDir / "kvm" / "snapshots.json", "the volume snapshot records", "snapshots");
}

VolumeSnapshotRecord decodeSnapshot(const nlohmann::json& r) {
  VolumeSnapshotRecord record;
  record.pool = r.at("pool").get<std::string>();
  record.volume = r.at("volume").get<std::string>();
  const std::string storage = r.at("mode").get<std::string>();
  if (storage != "internal" && storage != "external") throw std::runtime_error("mode " + storage);
  record.external = storage == "external";
  record.owner = r.at("owner").get<std::string>();
  record.created = r.at("created").get<std::int64_t>();
  record.safety = r.value("safety", "");
  return record;
}

}  // namespace

Result<VolumeSnapshotRecords> readVolumeSnapshotRecords(const fs::path& stateDir) {
  if (stateDir.empty()) return VolumeSnapshotRecords{};
  return snapshotRecords(stateDir).read<VolumeSnapshotRecord>(decodeSnapshot);
}

Result<void> writeVolumeSnapshotRecord(const fs::path& stateDir, const std::string& name,
                                       const std::optional<VolumeSnapshotRecord>& record) {
  if (stateDir.empty())
    return fail("hostform records the volume snapshots it takes under --state-dir, and none is set.");
  if (!record) return snapshotRecords(stateDir).put(name, std::nullopt);
  const VolumeSnapshotRecord& r = *record;
  nlohmann::json entry{{"pool", r.pool},   {"volume", r.volume},   {"mode", r.external ? "external" : "internal"},
                       {"owner", r.owner}, {"created", r.created}};
  if (!r.safety.empty()) entry["safety"] = r.safety;
  return snapshotRecords(stateDir).put(name, entry);
}

// ---- libvirt domain snapshots -----------------------------------------------------

namespace {
constexpr std::string_view kOwnerMark = "hostform owner=";
}

std::string snapshotDescription(const std::string& owner) { return std::string(kOwnerMark) + owner; }

std::string ownerOfDescription(const std::string& description) {
  if (!description.starts_with(kOwnerMark)) return {};
  std::string owner = description.substr(kOwnerMark.size());
  return owner.find_first_of(" \n\t") == std::string::npos ? owner : std::string();
}

std::string domainSnapshotXml(const std::string& name, const std::string& owner) {
  pugi::xml_document doc;
  auto root = doc.append_child("domainsnapshot");
  root.append_child("name").text().set(name.c_str());
  root.append_child("description").text().set(snapshotDescription(owner).c_str());
  return serialize(doc);
}

Result<DomainSnapshotInfo> parseDomainSnapshotXml(const std::string& domain, const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_string(xml.c_str()))
    return fail("cannot read a snapshot of domain " + domain + ": libvirt gave XML pugixml cannot parse.");
  const auto root = doc.child("domainsnapshot");
  DomainSnapshotInfo out;
  out.domain = domain;
  out.name = root.child("name").text().as_string();
  out.creationTime = root.child("creationTime").text().as_llong();
  out.state = root.child("state").text().as_string();
  const std::string memory = root.child("memory").attribute("snapshot").as_string();
  out.memory = memory == "internal" || memory == "external";
  out.external = memory == "external";
  for (auto disk : root.child("disks").children("disk")) {
    const std::string how = disk.attribute("snapshot").as_string();
    if (how == "no" || how == "none") continue;
    if (how == "external") out.external = true;
    out.disks.emplace_back(disk.attribute("name").as_string());
  }
  out.owner = ownerOfDescription(root.child("description").text().as_string());
  return out;
}

Result<std::vector<DomainSnapshotInfo>> readDomainSnapshots(virConnectPtr conn) {
  virDomainPtr* raw = nullptr;
  int n = virConnectListAllDomains(conn, &raw, VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT);
  if (n < 0) return libvirtFailure("cannot list domains with snapshots");
  std::vector<DomainSnapshotInfo> out;
  for (const DomainHandle& dom : adoptList<DomainHandle>(raw, n)) {
    const std::string domain = virDomainGetName(dom.get());
    virDomainSnapshotPtr* rawSnaps = nullptr;
    int ns = virDomainListAllSnapshots(dom.get(), &rawSnaps, 0);
    if (ns < 0) {
      if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) continue;  // undefined since the list
      return libvirtFailure("cannot list the snapshots of domain " + domain);
    }
    for (const DomainSnapshotHandle& snap : adoptList<DomainSnapshotHandle>(rawSnaps, ns)) {
      const std::string xml = takeString(virDomainSnapshotGetXMLDesc(snap.get(), 0));
      if (xml.empty()) {
        const int code = virGetLastErrorCode();
        if (code == VIR_ERR_NO_DOMAIN_SNAPSHOT || code == VIR_ERR_NO_DOMAIN) continue;  // deleted since the list
        return libvirtFailure("cannot read snapshot " + std::string(virDomainSnapshotGetName(snap.get())) +
                              " of domain " + domain);
      }
      auto info = parseDomainSnapshotXml(domain, xml);
      if (!info) return hostform::unexpected(info.error());
      out.push_back(std::move(*info));
    }
  }
  return out;
}

namespace {

Result<DomainHandle> lookupDomain(virConnectPtr conn, const std::string& name) {
  DomainHandle dom(virDomainLookupByName(conn, name.c_str()));
  if (!dom) return libvirtFailure("cannot find domain " + name);
  return dom;
}

Result<DomainSnapshotHandle> lookupSnapshot(virDomainPtr dom, const std::string& domain, const std::string& name) {
  DomainSnapshotHandle snap(virDomainSnapshotLookupByName(dom, name.c_str(), 0));
  if (!snap) return libvirtFailure("cannot find snapshot " + name + " of domain " + domain);
  return snap;
}

}  // namespace

Result<void> createDomainSnapshot(virConnectPtr conn, const std::string& domain, const std::string& name,
                                  const std::string& owner) {
  auto dom = lookupDomain(conn, domain);
  if (!dom) return hostform::unexpected(dom.error());
  const std::string xml = domainSnapshotXml(name, owner);
  // ATOMIC: all disks or none. libvirt makes an internal checkpoint (memory
  // included) of a running domain, a disk snapshot of a stopped one.
  DomainSnapshotHandle snap(virDomainSnapshotCreateXML(dom->get(), xml.c_str(), VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC));
  if (!snap) return libvirtFailure("cannot take snapshot " + name + " of domain " + domain);
  return {};
}

Result<void> deleteDomainSnapshot(virConnectPtr conn, const std::string& domain, const std::string& name) {
  auto dom = lookupDomain(conn, domain);
  if (!dom) return hostform::unexpected(dom.error());
  auto snap = lookupSnapshot(dom->get(), domain, name);
  if (!snap) return hostform::unexpected(snap.error());
  if (virDomainSnapshotDelete(snap->get(), 0) < 0)
    return libvirtFailure("cannot delete snapshot " + name + " of domain " + domain);
  return {};
}

Result<void> revertDomainSnapshot(virConnectPtr conn, const std::string& domain, const std::string& name) {
  auto dom = lookupDomain(conn, domain);
  if (!dom) return hostform::unexpected(dom.error());
  auto snap = lookupSnapshot(dom->get(), domain, name);
  if (!snap) return hostform::unexpected(snap.error());
  if (virDomainRevertToSnapshot(snap->get(), 0) < 0)
    return libvirtFailure("cannot restore domain " + domain + " to snapshot " + name);
  return {};
}

// ---- refusals ------------------------------------------------------------------------

namespace {

bool usesPath(const DomainInfo& d, const VolumeInfo& v) {
  for (const DomainDisk& disk : d.config.disks) {
    if (disk.type == "volume" ? disk.pool == v.pool && disk.volume == v.config.name
                              : !disk.source.empty() && disk.source == v.config.path)
      return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> runningUsers(const VolumeInfo& volume, const KvmState& state) {
  std::vector<std::string> out;
  for (const DomainInfo& d : state.domains) {
    if (!d.active) continue;
    bool uses = usesPath(d, volume);
    // A running VM whose disk is an overlay on this volume reads it too.
    for (const VolumeInfo& other : state.volumes)
      if (!uses && !volume.config.path.empty() && other.config.backingPath == volume.config.path && usesPath(d, other))
        uses = true;
    if (uses) out.push_back(d.config.name);
  }
  return out;
}

std::optional<std::string> volumeSnapshotRefusal(const VolumeInfo& volume, const KvmState& state,
                                                 SnapshotStorage storage, bool local) {
  const std::string id = volume.pool + "/" + volume.config.name;
  const PoolInfo* pool = state.findPool(volume.pool);
  const auto type = pool ? pool->type() : std::nullopt;
  if (!type || (*type != PoolType::Dir && *type != PoolType::Netfs))
    return "volume " + id +
           " is not in a dir or netfs pool: snapshots of a volume are qcow2 snapshots, and only "
           "those pools hold qcow2 files.";
  if (volume.config.format != "qcow2")
    return "volume " + id + " is " + (volume.config.format.empty() ? std::string("raw") : volume.config.format) + ": " +
           (storage == SnapshotStorage::Internal ? "internal snapshots live inside a qcow2 image"
                                                 : "an external snapshot would turn it into a qcow2 overlay") +
           "; declare the volume with format: qcow2.";
  if (!local)
    return "libvirt runs on another host: hostform takes volume snapshots with qemu-img on the volume's file, "
           "which it can reach only on this host.";
  if (storage == SnapshotStorage::External && !volume.config.backingPath.empty())
    return "volume " + id + " is an overlay on " + volume.config.backingPath +
           ": an external snapshot would change its backing volume; take an internal snapshot.";
  if (auto users = runningUsers(volume, state); !users.empty()) {
    std::string names;
    for (const std::string& u : users) names += (names.empty() ? "" : ", ") + u;
    return "volume " + id + " is in use by running VM " + names +
           ": qemu-img cannot change an image QEMU has open. Snapshot the VM instead (source: {virtualMachine: " +
           users.front() + "}), or stop it first.";
  }
  return std::nullopt;
}

std::optional<std::string> domainSnapshotRefusal(const DomainInfo& domain, const KvmState& state,
                                                 SnapshotStorage storage) {
  const std::string& name = domain.config.name;
  if (storage == SnapshotStorage::External)
    return "external snapshots of VM " + name +
           " are not offered: libvirt moves the VM's disks onto new overlay files that its manifest does not name, "
           "and libvirt before 9.7 cannot revert to an external snapshot; use mode: internal, or snapshot its volumes "
           "with mode: external.";
  if (domain.config.firmware == Firmware::Uefi)
    return "VM " + name +
           " boots UEFI firmware from pflash, and libvirt takes no internal snapshot of such a VM; "
           "snapshot its volumes instead.";
  for (const DomainDisk& disk : domain.config.disks) {
    if (disk.readOnly || disk.device == "cdrom") continue;  // not snapshotted
    std::string format = disk.driverType.empty() ? "raw" : disk.driverType;
    if (disk.type == "volume")
      if (const VolumeInfo* v = state.findVolume(disk.pool, disk.volume); v && !v->config.format.empty())
        format = v->config.format;
    if (format != "qcow2") {
      const std::string what = disk.type == "volume" ? "volume " + disk.pool + "/" + disk.volume : disk.source;
      return "disk " + disk.target + " of VM " + name + " (" + what + ") is " + format +
             ": internal snapshots of a VM need every writable disk in qcow2.";
    }
  }
  return std::nullopt;
}

}  // namespace hostform::kvm
