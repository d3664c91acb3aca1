#include "reconciler/units.h"

#include "reconciler/text.h"

#include <array>
#include <limits>
#include <utility>

namespace hostform {
namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

constexpr std::array<Unit, 4> kSizeUnits{{{"KiB", KiB}, {"MiB", MiB}, {"GiB", GiB}, {"TiB", TiB}}};

// Suffixes people write by habit, mapped to the binary unit they probably meant.
constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kDecimalHints{{
    {"kB", "KiB"}, {"KB", "KiB"}, {"K", "KiB"}, {"k", "KiB"},
    {"MB", "MiB"}, {"M", "MiB"}, {"m", "MiB"}, {"mb", "MiB"},
    {"GB", "GiB"}, {"G", "GiB"}, {"g", "GiB"}, {"gb", "GiB"},
    {"TB", "TiB"}, {"T", "TiB"}, {"t", "TiB"}, {"tb", "TiB"},
}};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// Parses a run of decimal digits at the front of `text`; nullopt-like failure on overflow.
Result<std::uint64_t> leadingNumber(std::string_view text, std::size_t& used, std::string_view what) {
  std::uint64_t value = 0;
  used = 0;
  while (used < text.size() && isDigit(text[used])) {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[used] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
      return fail("the " + std::string(what) + " is too large");
    value = value * 10 + digit;
    ++used;
  }
  return value;
}

}  // namespace

Result<Bytes> parseSize(std::string_view text) {
  const std::string quoted = quoteValue(text);
  if (text.empty()) return fail("expected a size such as 512MiB or 20GiB, found an empty string");
  if (text.front() == '-') return fail("a size cannot be negative, found " + quoted);
  std::size_t used = 0;
  auto number = leadingNumber(text, used, "size " + quoted);
  if (!number) return hostform::unexpected(number.error());
  if (used == 0)
    return fail("expected a size such as 512MiB or 20GiB, found " + quoted);
  std::string_view suffix = text.substr(used);
  // No backend takes more (qemu, libvirt and lvm2 count in signed 64 bits),
  // and sums and roundings of sizes below it cannot overflow.
  const auto tooLarge = [&] { return fail("the size " + quoted + " is too large; sizes are at most 8EiB - 1 byte"); };
  if (suffix.empty()) return *number > kMaxSize ? tooLarge() : Result<Bytes>(*number);
  for (const Unit& unit : kSizeUnits) {
    if (suffix != unit.suffix) continue;
    if (*number > kMaxSize / unit.factor) return tooLarge();
    return *number * unit.factor;
  }
  for (const auto& [decimal, binary] : kDecimalHints) {
    if (suffix == decimal)
      return fail("unit \"" + std::string(decimal) + "\" in " + quoted +
                  " is not accepted: sizes use binary units (KiB, MiB, GiB, TiB); did you mean " +
                  std::to_string(*number) + std::string(binary) + "?");
  }
  return fail("unknown size unit \"" + std::string(suffix) + "\" in " + quoted +
              "; expected KiB, MiB, GiB, TiB or a plain number of bytes");
}

std::string formatSize(Bytes bytes) {
  if (bytes == 0) return "0";
  for (auto it = kSizeUnits.rbegin(); it != kSizeUnits.rend(); ++it)
    if (bytes % it->factor == 0) return std::to_string(bytes / it->factor) + std::string(it->suffix);
  return std::to_string(bytes);
}

Result<Millis> parseDuration(std::string_view text) {
  struct DurUnit {
    std::string_view suffix;
    std::int64_t millis;
  };
  // Longest suffix first so "ms" is not read as "m".
  static constexpr std::array<DurUnit, 4> kUnits{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};
  const std::string quoted = quoteValue(text);
  if (text.empty()) return fail("expected a duration such as 30s, 5m or 1m30s, found an empty string");
  if (text.front() == '-') return fail("a duration cannot be negative, found " + quoted);
  std::int64_t total = 0;
  int lastRank = -1;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t used = 0;
    auto number = leadingNumber(rest, used, "duration " + quoted);
    if (!number) return hostform::unexpected(number.error());
    if (used == 0) return fail("expected a duration such as 30s, 5m or 1m30s, found " + quoted);
    rest.remove_prefix(used);
    int rank = -1;
    if (rest.starts_with("ms")) rank = 3;
    else if (rest.starts_with("h")) rank = 0;
    else if (rest.starts_with("m")) rank = 1;
    else if (rest.starts_with("s")) rank = 2;
    if (rank < 0) {
      std::size_t end = 0;
      while (end < rest.size() && !isDigit(rest[end])) ++end;
      if (end == 0) return fail("missing unit in duration " + quoted + "; expected ms, s, m or h");
      return fail("unknown duration unit \"" + std::string(rest.substr(0, end)) + "\" in " + quoted +
                  "; expected ms, s, m or h");
    }
    if (rank <= lastRank)
      return fail("units in duration " + quoted + " must appear once each, largest first (like 1h2m3s)");
    lastRank = rank;
    const std::int64_t factor = kUnits[static_cast<std::size_t>(rank)].millis;
    if (*number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / factor) ||
        total > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(*number) * factor)
      return fail("the duration " + quoted + " is too large");
    total += static_cast<std::int64_t>(*number) * factor;
    rest.remove_prefix(kUnits[static_cast<std::size_t>(rank)].suffix.size());
  }
  return Millis(total);
}

std::string formatDuration(Millis duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  const std::int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (rest) out += std::to_string(rest) + "ms";
  return out;
}

}  // namespace hostform
