#include "reconciler/text.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace hostform {
namespace {

std::string json(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// The code of the control character starting at `text[i]`, and its length in bytes; 0 length: none.
std::pair<unsigned, std::size_t> controlAt(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x20 || c == 0x7F) return {c, 1};
  if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0 &&
      static_cast<unsigned char>(text[i + 1]) >= 0x80)
    return {static_cast<unsigned char>(text[i + 1]), 2};  // U+0080..U+009F
  return {0, 0};
}

}  // namespace

constexpr std::size_t kWhole = 80;  ///< values up to this many bytes are shown whole

std::string quoteValue(std::string_view text) {
  if (text.size() <= kWhole) return json(text);
  std::string shown = json(utf8Prefix(text, 64));
  shown.insert(shown.size() - 1, "…");
  return shown + " (" + std::to_string(text.size()) + " bytes)";
}

std::string showValue(std::string_view text) { return text.size() <= kWhole ? std::string(text) : quoteValue(text); }

std::string_view utf8Prefix(std::string_view text, std::size_t most) {
  if (text.size() <= most) return text;
  std::size_t cut = most;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

std::optional<std::string> controlCharacter(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (auto [code, length] = controlAt(text, i); length) {
      char out[8];
      std::snprintf(out, sizeof out, "U+%04X", code);
      return std::string(out);
    }
  return std::nullopt;
}

std::string escapeControl(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto [code, length] = controlAt(text, i);
    if (!length) {
      out += text[i++];
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02X", code);
    out += hex;
    i += length;
  }
  return out;
}

}  // namespace hostform
