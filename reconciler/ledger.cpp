#include "reconciler/ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace hostform {

namespace {

constexpr int kVersion = 1;

std::string lastError() { return std::error_code(errno, std::generic_category()).message(); }

/// Closes a file descriptor on every exit path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  /// Closes now, so a failing close (a lost write) can be reported.
  bool close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

std::string corrupt(const std::filesystem::path& file, const std::string& why) {
  return "the ownership ledger " + file.string() + " is corrupt: " + why +
         "; repair it or move it away (hostform then treats the resources it listed as unowned).";
}

}  // namespace

Ledger::Ledger(std::filesystem::path file, std::map<std::string, std::string> owners)
    : file_(std::move(file)), owners_(std::move(owners)), mutex_(std::make_unique<std::mutex>()) {}

Result<Ledger> Ledger::open(std::filesystem::path stateDir) {
  std::error_code ec;
  std::filesystem::create_directories(stateDir, ec);
  if (ec) return fail("cannot create the state directory " + stateDir.string() + ": " + ec.message() + ".");
  std::filesystem::path file = stateDir / "ledger.json";

  std::ifstream in(file);
  if (!in) {
    if (!std::filesystem::exists(file, ec)) return Ledger(std::move(file), {});
    return fail("cannot read the ownership ledger " + file.string() + ": " + lastError() + ".");
  }
  std::stringstream text;
  text << in.rdbuf();

  std::map<std::string, std::string> owners;
  try {
    const nlohmann::json doc = nlohmann::json::parse(text.str());
    if (!doc.is_object()) return fail(corrupt(file, "expected a JSON object"));
    if (doc.value("version", 0) != kVersion)
      return fail(corrupt(file, "expected \"version\": " + std::to_string(kVersion)));
    const auto it = doc.find("owners");
    if (it == doc.end() || !it->is_object()) return fail(corrupt(file, "expected an \"owners\" object"));
    for (const auto& [id, owner] : it->items()) {
      if (!owner.is_string()) return fail(corrupt(file, "the owner of " + id + " is not a string"));
      owners.emplace(id, owner.get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(corrupt(file, e.what()));
  }
  return Ledger(std::move(file), std::move(owners));
}

std::string Ledger::ownerOf(const ResourceId& id) const {
  std::lock_guard lock(*mutex_);
  auto it = owners_.find(id.str());
  return it == owners_.end() ? std::string() : it->second;
}

std::map<std::string, std::string> Ledger::owners() const {
  std::lock_guard lock(*mutex_);
  return owners_;
}

Result<void> Ledger::record(const ResourceId& id, const std::string& owner) {
  std::lock_guard lock(*mutex_);
  const std::string key = id.str();
  if (auto it = owners_.find(key); it != owners_.end() && it->second == owner) return {};
  // Change a copy, so memory and disk never disagree when the write fails.
  auto next = owners_;
  next[key] = owner;
  if (auto written = persist(next); !written) return written;
  owners_ = std::move(next);
  return {};
}

Result<void> Ledger::forget(const ResourceId& id) {
  std::lock_guard lock(*mutex_);
  const std::string key = id.str();
  if (!owners_.contains(key)) return {};
  auto next = owners_;
  next.erase(key);
  if (auto written = persist(next); !written) return written;
  owners_ = std::move(next);
  return {};
}

Result<void> Ledger::persist(const std::map<std::string, std::string>& owners) const {
  const std::string text = nlohmann::json{{"version", kVersion}, {"owners", owners}}.dump(2) + "\n";
  const std::filesystem::path tmp = file_.string() + ".tmp";
  auto failed = [&](const std::string& step) {
    return fail("cannot write the ownership ledger " + file_.string() + " (" + step + "): " + lastError() + ".");
  };

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return failed("open " + tmp.string());
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("write");
    off += static_cast<std::size_t>(n);
  }
  // The data must be on disk before the rename makes it the ledger, or a crash
  // could leave an empty ledger behind a successful rename.
  if (::fsync(fd.get()) != 0) return failed("fsync");
  if (!fd.close()) return failed("close");
  if (::rename(tmp.c_str(), file_.c_str()) != 0) return failed("rename");
  // And the rename itself is durable only once the directory is synced.
  const std::filesystem::path dirPath = file_.has_parent_path() ? file_.parent_path() : ".";
  Fd dir(::open(dirPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return failed("fsync of the state directory");
  return {};
}

}  // namespace hostform
