#pragma once
/// Filling a storage volume from a local file through libvirt's stream API
/// (virStorageVolUpload), so the same code serves a remote libvirtd.

#include <cstdint>
#include <filesystem>
#include <functional>

#include "providers/kvm/session.h"

namespace hostform::kvm {

/// Bytes sent so far and in all, after each chunk.
using UploadProgress = std::function<void(std::uint64_t sent, std::uint64_t total)>;

/// Writes `file` into `vol` from offset 0. The volume must already be at least
/// as large as the file. On failure the stream is aborted; the volume's
/// content is then undefined, and the caller deletes it.
Result<void> uploadToVolume(virConnectPtr conn, virStorageVolPtr vol, const std::filesystem::path& file,
                            const UploadProgress& progress = {});

}  // namespace hostform::kvm
