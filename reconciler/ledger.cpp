#include "reconciler/ledger.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "reconciler/atomic_file.h"

namespace hostform {

namespace {

constexpr int kVersion = 1;

std::string lastError() { return std::error_code(errno, std::generic_category()).message(); }

std::string corrupt(const std::filesystem::path& file, const std::string& why) {
  return "the ownership ledger " + file.string() + " is corrupt: " + why +
         "; repair it or move it away (hostform then treats the resources it listed as unowned).";
}

}  // namespace

Ledger::Ledger(std::filesystem::path file, std::map<std::string, std::string> owners)
    : file_(std::move(file)), owners_(std::move(owners)), mutex_(std::make_unique<std::mutex>()) {}

Result<Ledger> Ledger::open(std::filesystem::path stateDir) {
  if (auto made = makeStateDirectory(stateDir); !made) return hostform::unexpected(made.error());
  std::error_code ec;
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
  return writeFileAtomically(file_, text, "the ownership ledger");
}

}  // namespace hostform
