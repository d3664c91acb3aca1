#include "providers/kvm/xml_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace hostform::kvm {

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Bytes sizeIn(std::string_view number, std::string_view unit) {
  Bytes value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc()) return 0;
  struct Scale {
    std::string_view name;
    Bytes factor;
  };
  static constexpr Scale kScales[] = {
      {"b", 1},           {"bytes", 1},        {"KB", 1000},          {"k", KiB},       {"KiB", KiB},
      {"MB", 1000 * 1000}, {"M", MiB},         {"MiB", MiB},          {"GB", 1000ULL * 1000 * 1000},
      {"G", GiB},         {"GiB", GiB},        {"TB", 1000ULL * 1000 * 1000 * 1000}, {"T", TiB},
      {"TiB", TiB},
  };
  for (const Scale& s : kScales)
    if (s.name == unit) return value * s.factor;
  return value;  // libvirt itself writes bytes or KiB; an unknown unit is read as bytes
}

std::string serialize(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

}  // namespace hostform::kvm
