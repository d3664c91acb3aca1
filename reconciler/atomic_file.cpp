#include "reconciler/atomic_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "reconciler/handle.h"

namespace hostform {
namespace {

std::string lastError() { return std::error_code(errno, std::generic_category()).message(); }

}  // namespace

Result<void> writeFileAtomically(const std::filesystem::path& file, std::string_view text, std::string_view what) {
  const std::filesystem::path tmp = file.string() + ".tmp";
  auto failed = [&](const std::string& step) {
    return fail("cannot write " + std::string(what) + " " + file.string() + " (" + step + "): " + lastError() + ".");
  };

  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return failed("open " + tmp.string());
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("write");
    off += static_cast<std::size_t>(n);
  }
  // The data must be on disk before the rename makes it the file, or a crash
  // could leave an empty file behind a successful rename.
  if (::fsync(fd.get()) != 0) return failed("fsync");
  if (!fd.close()) return failed("close");
  if (::rename(tmp.c_str(), file.c_str()) != 0) return failed("rename");
  // And the rename itself is durable only once the directory is synced.
  const std::filesystem::path dirPath = file.has_parent_path() ? file.parent_path() : ".";
  UniqueFd dir(::open(dirPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return failed("fsync of the state directory");
  return {};
}

Result<void> makeStateDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (!dir.parent_path().empty()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("cannot create the state directory " + dir.string() + ": " + std::strerror(errno) + ".");
  return {};
}

}  // namespace hostform
