#pragma once
/// Sizes and durations as manifests write them (docs/spec.md §1).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "reconciler/result.h"

namespace hostform {

using Bytes = std::uint64_t;
using Millis = std::chrono::milliseconds;

inline constexpr Bytes KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024, TiB = GiB * 1024, PiB = TiB * 1024;
/// The largest size a manifest may give: 8EiB - 1 byte (INT64_MAX), what qemu, libvirt and lvm2 can count.
inline constexpr Bytes kMaxSize = (Bytes{1} << 63) - 1;

/// "512MiB", "20GiB", "1048576" (bytes). Binary units only; decimal units
/// ("GB") are refused with a hint naming the binary equivalent.
Result<Bytes> parseSize(std::string_view text);

/// The largest binary unit that divides the size exactly: "20GiB", "1536MiB", "4097".
std::string formatSize(Bytes bytes);

/// "500ms", "30s", "5m", "1h", "1m30s": units in descending order, each at most once.
Result<Millis> parseDuration(std::string_view text);

/// Canonical compound form: "1m30s", "500ms", "0s".
std::string formatDuration(Millis duration);

}  // namespace hostform
