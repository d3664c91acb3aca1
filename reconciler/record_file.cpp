#include "reconciler/record_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "reconciler/atomic_file.h"

namespace hostform {

namespace {

constexpr int kVersion = 1;

/// One lock for every record file: each put is a read, a change and a rename.
std::mutex& filesMutex() {
  static std::mutex m;
  return m;
}

}  // namespace

RecordFile::RecordFile(std::filesystem::path file, std::string what, std::string member)
    : file_(std::move(file)), what_(std::move(what)), member_(std::move(member)) {}

unexpected<Error> RecordFile::corrupt(const std::string& why) const {
  return fail(what_ + " " + file_.string() + " are corrupt (" + why + "); move the file away to start over.");
}

Result<std::map<std::string, nlohmann::json>> RecordFile::read() const {
  std::ifstream in(file_);
  if (!in) {
    const int e = errno;
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) return std::map<std::string, nlohmann::json>{};
    return fail("cannot read " + what_ + " " + file_.string() + ": " + std::strerror(e) + ".");
  }
  std::stringstream text;
  text << in.rdbuf();
  std::map<std::string, nlohmann::json> out;
  try {
    const nlohmann::json doc = nlohmann::json::parse(text.str());
    if (doc.value("version", 0) != kVersion)
      return fail(what_ + " " + file_.string() + " are not version " + std::to_string(kVersion) +
                  "; move the file away to start over.");
    for (const auto& [key, record] : doc.at(member_).items()) out.emplace(key, record);
  } catch (const nlohmann::json::exception& e) {
    return corrupt(e.what());
  }
  return out;
}

Result<void> RecordFile::put(const std::string& key, const std::optional<nlohmann::json>& record) const {
  std::lock_guard lock(filesMutex());
  auto records = read();
  if (!records) return hostform::unexpected(records.error());
  if (record)
    (*records)[key] = *record;
  else if (records->erase(key) == 0)
    return {};
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  if (ec) return fail("cannot create " + file_.parent_path().string() + ": " + ec.message() + ".");
  nlohmann::json members = nlohmann::json::object();
  for (auto& [k, r] : *records) members[k] = std::move(r);
  const std::string text = nlohmann::json{{"version", kVersion}, {member_, std::move(members)}}.dump(2) + "\n";
  return writeFileAtomically(file_, text, what_);
}

}  // namespace hostform
