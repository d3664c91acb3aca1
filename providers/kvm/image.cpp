#include "providers/kvm/image.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reconciler/atomic_file.h"
#include "reconciler/record_file.h"
#include "reconciler/digest.h"
#include "reconciler/handle.h"
#include "reconciler/process.h"

namespace hostform::kvm {
namespace {

using namespace std::chrono_literals;

std::string errnoText(int e = errno) { return std::strerror(e); }

/// qemu-img's own words for a failure: stderr, trimmed, lines joined.
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

Result<std::string> runQemuImg(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  auto run = runCommand(argv, timeout);
  if (!run) return hostform::unexpected(run.error());
  if (run->exitCode != 0)
    return fail(showCommand(argv) + " failed with exit code " + std::to_string(run->exitCode) + ": " +
                toolText(run->err));
  return std::move(run->out);
}

/// A progress line at most about once a second.
class Throttle {
 public:
  bool due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < 1s) return false;
    last_ = now;
    return true;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
};

std::string percentOf(std::uint64_t have, std::uint64_t total) {
  if (total == 0) return formatSize(have);
  return formatSize(have) + " of " + formatSize(total) + " (" + std::to_string(have * 100 / total) + "%)";
}

// ---- libcurl ------------------------------------------------------------------------

using CurlHandle = Handle<CURL, curl_easy_cleanup>;

void initCurl() {
  // curl_global_init is not thread-safe: once per process, before any handle.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  int fd = -1;
  int error = 0;
  std::uint64_t start = 0;  ///< bytes the part held when this transfer began
  const DownloadProgress* progress = nullptr;
};

size_t writeChunk(char* data, size_t size, size_t count, void* opaque) {
  auto* sink = static_cast<Sink*>(opaque);
  const size_t n = size * count;
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(sink->fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      sink->error = errno;
      return 0;  // libcurl stops with CURLE_WRITE_ERROR
    }
    done += static_cast<size_t>(w);
  }
  return n;
}

int transferInfo(void* opaque, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* sink = static_cast<Sink*>(opaque);
  if (sink->progress && *sink->progress)
    (*sink->progress)(sink->start + static_cast<std::uint64_t>(now),
                      total > 0 ? sink->start + static_cast<std::uint64_t>(total) : 0);
  return 0;
}

enum class Attempt { Done, Restart };

/// One transfer from `offset` on; Restart when the server will not serve the
/// range (the part is then started over).
Result<Attempt> transfer(const std::string& url, const fs::path& part, std::uint64_t offset,
                         const DownloadProgress& progress) {
  UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (offset > 0 ? O_APPEND : O_TRUNC), 0600));
  if (!fd) return fail("cannot write " + part.string() + ": " + errnoText() + ".");
  CurlHandle curl(curl_easy_init());
  if (!curl) return fail("cannot start a download (libcurl could not make a handle).");
  Sink sink{fd.get(), 0, offset, &progress};
  std::array<char, CURL_ERROR_SIZE> why{};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // several executor threads download at once
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled server: under 1 byte/s for a minute ends the try; the part stays for the next.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why.data());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, writeChunk);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, transferInfo);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (offset > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK) {
    if (!fd.close()) return fail("cannot write " + part.string() + ": " + errnoText() + ".");
    return Attempt::Done;
  }
  // A server without ranges (CURLE_RANGE_ERROR), or one that finds the part
  // already too long (416): start over.
  if (offset > 0 && (rc == CURLE_RANGE_ERROR || status == 416)) return Attempt::Restart;
  if (rc == CURLE_WRITE_ERROR && sink.error)
    return fail("cannot write " + part.string() + ": " + errnoText(sink.error) + ".");
  std::string reason = why[0] ? why.data() : curl_easy_strerror(rc);
  return fail("cannot download " + url + ": " + reason + ".");
}

}  // namespace

// ---- hashing, inspecting, converting ----------------------------------------------

Result<std::string> sha256OfFile(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("cannot read " + file.string() + ": " + errnoText() + ".");
  Sha256 sha;
  std::vector<unsigned char> buffer(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot read " + file.string() + ": " + errnoText() + ".");
    }
    if (n == 0) break;
    sha.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return sha.hex();
}

Result<ImageInfo> inspectImage(const fs::path& file) {
  auto out = runQemuImg({"qemu-img", "info", "--output=json", file.string()}, 2min);
  if (!out) return hostform::unexpected(out.error());
  ImageInfo info;
  try {
    const nlohmann::json doc = nlohmann::json::parse(*out);
    info.format = doc.at("format").get<std::string>();
    info.virtualSize = doc.at("virtual-size").get<Bytes>();
    // An image that names other files would make the import read them.
    if (doc.contains("backing-filename"))
      return fail(file.string() + " is a " + info.format + " image with a backing file (" +
                  doc["backing-filename"].get<std::string>() + "); hostform imports only self-contained images.");
    if (const auto fmt = doc.find("format-specific"); fmt != doc.end() && fmt->contains("data")) {
      const auto& data = (*fmt)["data"];
      if (data.contains("data-file"))
        return fail(file.string() + " is a qcow2 image with an external data file; hostform imports only "
                    "self-contained images.");
      if (const auto extents = data.find("extents"); extents != data.end() && extents->is_array())
        for (const auto& extent : *extents)
          if (extent.contains("filename") && extent["filename"].get<std::string>() != file.string())
            return fail(file.string() + " is a vmdk image with an extent in another file (" +
                        extent["filename"].get<std::string>() + "); hostform imports only self-contained images.");
    }
  } catch (const nlohmann::json::exception& e) {
    return fail("cannot read what qemu-img says of " + file.string() + ": " + e.what() + ".");
  }
  std::error_code ec;
  info.fileSize = fs::file_size(file, ec);
  return info;
}

bool needsConversion(const std::string& imageFormat, VolumeFormat volume) {
  return imageFormat != toString(volume);
}

Result<void> convertImage(const fs::path& from, const std::string& fromFormat, const fs::path& to,
                          VolumeFormat toFormat) {
  // The source format is named, so qemu-img does not guess it again.
  auto out = runQemuImg({"qemu-img", "convert", "-f", fromFormat, "-O", std::string(toString(toFormat)),
                         from.string(), to.string()},
                        6h);
  if (!out) return hostform::unexpected(out.error());
  return {};
}

// ---- downloads and the cache ----------------------------------------------------------

Result<void> download(const std::string& url, const fs::path& part, const DownloadProgress& progress) {
  initCurl();
  std::error_code ec;
  std::uint64_t offset = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  if (ec) offset = 0;
  auto attempt = transfer(url, part, offset, progress);
  if (!attempt) return hostform::unexpected(attempt.error());
  if (*attempt == Attempt::Restart) {
    attempt = transfer(url, part, 0, progress);
    if (!attempt) return hostform::unexpected(attempt.error());
    if (*attempt == Attempt::Restart) return fail("cannot download " + url + ": the server refused the request.");
  }
  return {};
}

fs::path imageCache(const fs::path& stateDir) { return stateDir / "kvm" / "images"; }

fs::path cachedImage(const fs::path& stateDir, const std::string& sha256) { return imageCache(stateDir) / sha256; }

fs::path conversionFile(const fs::path& stateDir, const std::string& volumeName) {
  static std::atomic<unsigned> counter{0};
  return imageCache(stateDir) /
         (volumeName + "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".tmp");
}

namespace {

/// One download of an image at a time in this process (the state lock keeps
/// other processes out): two volumes of the same image in one apply share one
/// `.part`, so the second waits for the first and then finds the image cached.
std::mutex& downloadMutex(const std::string& sha256) {
  static std::mutex guard;
  static std::map<std::string, std::unique_ptr<std::mutex>> perImage;
  std::lock_guard lock(guard);
  auto& m = perImage[sha256];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

}  // namespace

Result<fs::path> fetchImage(const ImageSource& source, const fs::path& stateDir,
                            const std::function<void(const std::string&)>& progress) {
  if (source.local()) {
    const fs::path file = source.localPath();
    progress("checking the SHA-256 of " + file.string());
    auto sum = sha256OfFile(file);
    if (!sum) return hostform::unexpected(sum.error());
    if (*sum != source.sha256)
      return fail(file.string() + " has SHA-256 " + *sum + ", not " + source.sha256 +
                  " as declared; nothing was created.");
    return file;
  }
  if (stateDir.empty()) return fail("images are downloaded into the state directory, and none is set (--state-dir).");
  std::lock_guard oneDownload(downloadMutex(source.sha256));
  const fs::path dir = imageCache(stateDir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("cannot create " + dir.string() + ": " + ec.message() + ".");
  const fs::path done = cachedImage(stateDir, source.sha256);
  if (fs::exists(done, ec)) {
    // A cached image was verified when it arrived; checked again, in case the disk changed it since.
    progress("checking the SHA-256 of the cached " + done.string());
    auto sum = sha256OfFile(done);
    if (!sum) return hostform::unexpected(sum.error());
    if (*sum == source.sha256) return done;
    fs::remove(done, ec);
  }
  const fs::path part = fs::path(done.string() + ".part");
  Throttle throttle;
  const std::uint64_t resumeAt = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  progress(resumeAt > 0 ? "resuming the download of " + source.url + " at " + formatSize(resumeAt)
                        : "downloading " + source.url);
  auto got = download(source.url, part, [&](std::uint64_t have, std::uint64_t total) {
    if (throttle.due()) progress("downloading " + source.url + ": " + percentOf(have, total));
  });
  if (!got) {
    const auto kept = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
    if (kept == 0) return hostform::unexpected(got.error());
    return fail(got.error().message + " The " + formatSize(kept) + " that arrived are kept in " + part.string() +
                "; the next apply resumes from there.");
  }
  auto sum = sha256OfFile(part);
  if (!sum) return hostform::unexpected(sum.error());
  if (*sum != source.sha256) {
    // Wrong bytes are never resumed from: the next try starts over.
    fs::remove(part, ec);
    return fail(source.url + " has SHA-256 " + *sum + ", not " + source.sha256 +
                " as declared; the download was deleted and nothing was created.");
  }
  fs::rename(part, done, ec);
  if (ec) return fail("cannot move " + part.string() + " to " + done.string() + ": " + ec.message() + ".");
  return done;
}

// ---- records ------------------------------------------------------------------------

namespace {

RecordFile sourceRecords(const fs::path& stateDir) {
  return RecordFile(stateDir / "kvm" / "sources.json", "the volume source records", "volumes");
}

SourceRecord decodeSource(const nlohmann::json& r) {
  SourceRecord record;
  record.source.url = r.value("url", "");
  record.source.path = r.value("path", "");
  record.source.sha256 = r.at("sha256").get<std::string>();
  record.importing = r.at("state").get<std::string>() == "importing";
  return record;
}

}  // namespace

Result<SourceRecords> readSourceRecords(const fs::path& stateDir) {
  if (stateDir.empty()) return SourceRecords{};
  return sourceRecords(stateDir).read<SourceRecord>(decodeSource);
}

Result<void> writeSourceRecord(const fs::path& stateDir, const std::string& key,
                               const std::optional<SourceRecord>& record) {
  if (stateDir.empty()) return {};
  if (!record) return sourceRecords(stateDir).put(key, std::nullopt);
  nlohmann::json entry{{"sha256", record->source.sha256}, {"state", record->importing ? "importing" : "done"}};
  if (!record->source.url.empty())
    entry["url"] = record->source.url;
  else
    entry["path"] = record->source.path;
  return sourceRecords(stateDir).put(key, entry);
}

}  // namespace hostform::kvm
