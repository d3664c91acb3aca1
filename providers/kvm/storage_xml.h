#pragma once
/// Storage pool and volume XML, read and written with pugixml.

#include <string>
#include <string_view>

#include "reconciler/kinds/virtual_machine.h"
#include "reconciler/result.h"

namespace hostform::kvm {

struct PoolConfig {
  std::string name;
  std::string type;        ///< dir | logical | netfs | ... as libvirt has it
  std::string target;      ///< target/path
  std::string sourceName;  ///< source/name: the VG of a logical pool
  std::string sourceHost;  ///< source/host@name (netfs)
  std::string sourceDir;   ///< source/dir@path (netfs)
  Bytes capacity = 0;
  Bytes available = 0;
};

Result<PoolConfig> parsePoolXml(std::string_view xml);
std::string newPoolXml(const std::string& name, const StoragePoolSpec& spec);

struct VolumeConfig {
  std::string name;
  std::string key;
  std::string path;
  std::string format;  ///< target/format@type: qcow2, raw, ... (empty for LVs)
  Bytes capacity = 0;
  Bytes allocation = 0;
  std::string backingPath;
  std::string backingFormat;
};

Result<VolumeConfig> parseVolumeXml(std::string_view xml);

/// A new volume. `full` preallocates (allocation = capacity); `backingPath`
/// non-empty makes a qcow2 overlay on that file.
struct VolumeWrite {
  std::string name;
  Bytes capacity = 0;
  VolumeFormat format = VolumeFormat::Qcow2;
  bool full = false;
  bool withFormat = true;  ///< false in logical pools: an LV has no file format
  std::string backingPath;
  std::string backingFormat;
};
std::string newVolumeXml(const VolumeWrite& want);

}  // namespace hostform::kvm
