#pragma once
/// cloud-init's NoCloud seed for a VirtualMachine (spec.cloudInit): the three
/// files, their digest and the instance-id (pure functions), and the ISO9660
/// image that carries them (volume id cidata, Joliet and Rock Ridge), built
/// with libisofs.

#include <filesystem>
#include <string>
#include <string_view>

#include "reconciler/digest.h"
#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/result.h"

namespace hostform::kvm {

/// The seed's files as written into the ISO.
struct SeedFiles {
  std::string userData;       ///< verbatim; "#cloud-config\n" when the manifest gives none
  std::string metaData;       ///< JSON (valid YAML for cloud-init), with instance-id and local-hostname
  std::string networkConfig;  ///< JSON; empty: no network-config file (cloud-init's default networking)
};

/// What a declared cloudInit becomes on the host.
struct Seed {
  SeedFiles files;
  std::string instanceId;
  bool instanceIdDeclared = false;  ///< metaData sets instance-id
  std::string digest;               ///< sha256 of the files as written (seedDigest), 64 hex
};

/// The seed volume's name: <vm>-cidata.iso.
std::string seedVolumeName(std::string_view vm);

/// The files, instance-id and digest for VM `vm`. Defaults: instance-id
/// <vm>-<first 8 hex of sha256 over userData, metaData without instance-id and
/// networkConfig>, local-hostname <vm>; metaData's own values win.
Seed seedFor(std::string_view vm, const CloudInitSpec& spec);

/// sha256 over the files as written, each with its name, so moving text from
/// one file to another changes it too.
std::string seedDigest(const SeedFiles& files);

/// Writes the NoCloud ISO (volume id cidata; user-data, meta-data and, when
/// there is one, network-config) to `out`.
Result<void> writeSeedIso(const SeedFiles& files, const std::filesystem::path& out);

/// The files of a seed image (writeSeedIso's output, as bytes), read back with
/// libisofs; a file the image lacks is empty.
Result<SeedFiles> readSeedIso(std::string_view image);

}  // namespace hostform::kvm
