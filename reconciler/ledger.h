#pragma once
/// The ownership ledger (docs/spec.md §4): who owns the objects whose backend has no
/// place for a mark (OwnershipMark::Ledger), kept in `<stateDir>/ledger.json`:
///   {"version":1,"owners":{"StoragePool/images":"default"}}
///
/// Every change is on disk, atomically, before the call returns, so a crash
/// never loses a mark the executor recorded before creating an object.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "reconciler/model.h"
#include "reconciler/result.h"

namespace hostform {

class Ledger {
 public:
  /// Reads `<stateDir>/ledger.json`, creating `stateDir` if missing; a missing
  /// file is an empty ledger. A corrupt file is an error naming it.
  static Result<Ledger> open(std::filesystem::path stateDir);

  Ledger(Ledger&&) noexcept = default;
  Ledger& operator=(Ledger&&) noexcept = default;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  /// The recorded owner; empty when the ledger does not list `id`.
  std::string ownerOf(const ResourceId& id) const;
  /// Records `owner` for `id` and persists it. Thread-safe.
  Result<void> record(const ResourceId& id, const std::string& owner);
  /// Drops `id` (nothing to do when absent) and persists it. Thread-safe.
  Result<void> forget(const ResourceId& id);

  /// Every entry, by `ResourceId::str()`.
  std::map<std::string, std::string> owners() const;
  const std::filesystem::path& file() const { return file_; }

 private:
  Ledger(std::filesystem::path file, std::map<std::string, std::string> owners);
  /// Writes `owners` to a temporary file, fsyncs it, renames it over the ledger
  /// and fsyncs the directory. Called with the mutex held.
  Result<void> persist(const std::map<std::string, std::string>& owners) const;

  std::filesystem::path file_;
  std::map<std::string, std::string> owners_;
  std::unique_ptr<std::mutex> mutex_;  ///< in a unique_ptr so the ledger can move
};

}  // namespace hostform
