#include "providers/kvm/upload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hostform::kvm {

namespace {

using StreamHandle = Handle<virStream, virStreamFree>;

struct Source {
  int fd = -1;
  std::uint64_t sent = 0, total = 0;
  const UploadProgress* progress = nullptr;
  int error = 0;  ///< errno of a failed read
};

/// virStreamSendAll's source: the next chunk of the file.
int readChunk(virStreamPtr /*stream*/, char* data, size_t nbytes, void* opaque) {
  auto* src = static_cast<Source*>(opaque);
  ssize_t n;
  do n = ::read(src->fd, data, nbytes);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    src->error = errno;
    return -1;
  }
  src->sent += static_cast<std::uint64_t>(n);
  if (n > 0 && src->progress && *src->progress) (*src->progress)(src->sent, src->total);
  return static_cast<int>(n);
}

}  // namespace

Result<void> uploadToVolume(virConnectPtr conn, virStorageVolPtr vol, const std::filesystem::path& file,
                            const UploadProgress& progress) {
  const std::string name = virStorageVolGetName(vol);
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("cannot read " + file.string() + " to upload into volume " + name + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("cannot stat " + file.string() + ": " + std::strerror(errno));
  Source src{fd.get(), 0, static_cast<std::uint64_t>(st.st_size), &progress, 0};

  StreamHandle stream(virStreamNew(conn, 0));
  if (!stream) return libvirtFailure("cannot open a stream to volume " + name);
  if (virStorageVolUpload(vol, stream.get(), 0, src.total, 0) < 0)
    return libvirtFailure("cannot upload into volume " + name);
  if (virStreamSendAll(stream.get(), readChunk, &src) < 0) {
    virStreamAbort(stream.get());
    if (src.error) return fail("cannot read " + file.string() + ": " + std::strerror(src.error));
    return libvirtFailure("cannot upload into volume " + name);
  }
  if (virStreamFinish(stream.get()) < 0) return libvirtFailure("cannot finish the upload into volume " + name);
  return {};
}

}  // namespace hostform::kvm
