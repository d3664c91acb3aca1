#pragma once
/// A small state file of named records, `{"version": 1, "<member>": {name:
/// record}}`, read whole and rewritten atomically (atomic_file.h). The KVM
/// provider keeps the images its volumes came from and the volume snapshots it
/// took this way; the records' own fields are each user's business.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "reconciler/result.h"

namespace hostform {

class RecordFile {
 public:
  /// `what` names the file in errors ("the volume source records"), `member`
  /// is the object that holds the records ("volumes").
  RecordFile(std::filesystem::path file, std::string what, std::string member);

  /// Every record as written; empty when the file does not exist. A file of
  /// another version, or one that is not JSON of this shape, is an error that
  /// says to move the file away.
  Result<std::map<std::string, nlohmann::json>> read() const;

  /// Every record decoded by `decode`, which throws on a record it cannot
  /// read: the file is then reported corrupt, as by read().
  template <class R>
  Result<std::map<std::string, R>> read(const std::function<R(const nlohmann::json&)>& decode) const {
    auto raw = read();
    if (!raw) return hostform::unexpected(raw.error());
    std::map<std::string, R> out;
    try {
      for (auto& [key, json] : *raw) out.emplace(key, decode(json));
    } catch (const std::exception& e) {
      return corrupt(e.what());
    }
    return out;
  }

  /// Sets one record, or with nullopt removes it, keeping the others as they
  /// are; creates the file's directory. Serialised within the process, so two
  /// threads recording at once both keep their record.
  Result<void> put(const std::string& key, const std::optional<nlohmann::json>& record) const;

 private:
  unexpected<Error> corrupt(const std::string& why) const;

  std::filesystem::path file_;
  std::string what_, member_;
};

}  // namespace hostform
