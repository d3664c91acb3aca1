#pragma once
/// Images for Volume.spec.source: getting the bytes (a download with resume,
/// or a local file read in place), checking them against the declared SHA-256,
/// asking qemu-img what they are and converting them, and the records of which
/// image filled which volume.
///
/// Files under <stateDir>/kvm/:
///   images/<sha256>         a verified download, reused by every volume of that image
///   images/<sha256>.part    a download in progress; the next apply resumes it
///   images/<name>.<pid>.<n>.tmp  a conversion, removed when the import ends
///   sources.json            the records (SourceRecords), replaced atomically
///
/// External tools (qemu-img) run with an argument vector (reconciler/process.h).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "providers/kvm/state.h"
#include "reconciler/result.h"

namespace hostform::kvm {

namespace fs = std::filesystem;

/// The SHA-256 of a file's bytes, 64 lower-case hex digits (libcrypto's EVP).
Result<std::string> sha256OfFile(const fs::path& file);

/// What `qemu-img info --output=json` says of an image.
struct ImageInfo {
  std::string format;     ///< raw, qcow2, vmdk, vhdx, vpc, ...
  Bytes virtualSize = 0;  ///< the disk the guest sees
  Bytes fileSize = 0;     ///< the file's bytes
};

/// Inspects `file`. Refused: an image that names other files (a qcow2 backing
/// file or external data file, a vmdk extent elsewhere), since importing it
/// would read files the manifest never named.
Result<ImageInfo> inspectImage(const fs::path& file);

/// `qemu-img convert -f <fromFormat> -O <raw|qcow2> from to`.
Result<void> convertImage(const fs::path& from, const std::string& fromFormat, const fs::path& to,
                          VolumeFormat toFormat);

/// Whether an image of `imageFormat` goes into a volume of `volume` format as
/// it is: only raw into raw and qcow2 into qcow2; anything else (vmdk, vhdx,
/// ...) is converted.
bool needsConversion(const std::string& imageFormat, VolumeFormat volume);

/// Bytes so far and in all (0: unknown), during a download.
using DownloadProgress = std::function<void(std::uint64_t have, std::uint64_t total)>;

/// Downloads an http(s) `url` into `part` with libcurl, appending to what
/// `part` already holds (an HTTP range request); a server that ignores ranges
/// gets a fresh download. On failure `part` keeps what arrived, for the next
/// try to resume.
Result<void> download(const std::string& url, const fs::path& part, const DownloadProgress& progress = {});

/// <stateDir>/kvm/images.
fs::path imageCache(const fs::path& stateDir);
/// The verified download of an image: <stateDir>/kvm/images/<sha256>.
fs::path cachedImage(const fs::path& stateDir, const std::string& sha256);

/// The file of a source, verified against its sha256: a local file in place,
/// or the cached download (made, or resumed, and verified first). A download
/// whose bytes do not match is deleted; nothing else is left behind.
/// `progress` gets a line at most about once a second.
Result<fs::path> fetchImage(const ImageSource& source, const fs::path& stateDir,
                            const std::function<void(const std::string&)>& progress);

/// A file for a conversion's output under <stateDir>/kvm/images/, unique in
/// this process.
fs::path conversionFile(const fs::path& stateDir, const std::string& volumeName);

/// The records of <stateDir>/kvm/sources.json; none when it does not exist.
Result<SourceRecords> readSourceRecords(const fs::path& stateDir);
/// Sets (or, nullopt, drops) one record: read, changed and written back
/// atomically, serialised across the threads of this process.
Result<void> writeSourceRecord(const fs::path& stateDir, const std::string& key,
                               const std::optional<SourceRecord>& record);

}  // namespace hostform::kvm
