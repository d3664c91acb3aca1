#pragma once
/// Text from outside (manifests, commit subjects, backends' messages) as hostform
/// shows it: quoted values cut to a line, control characters escaped, so no
/// message can flood a terminal or drive it with escape sequences.

#include <optional>
#include <string>
#include <string_view>

namespace hostform {

/// A value for a message: JSON-quoted (control characters escaped), and, when
/// longer than 80 bytes, its first 64 and its length: `"aaaa…" (100000 bytes)`.
std::string quoteValue(std::string_view text);

/// A value for a message as written when it is at most 80 bytes (a number or
/// a size reads best bare), else as quoteValue cuts it.
std::string showValue(std::string_view text);

/// The longest prefix of `text` of at most `most` bytes that does not end
/// inside a UTF-8 character.
std::string_view utf8Prefix(std::string_view text, std::size_t most);

/// The first control character of `text` (C0, DEL, or C1 in UTF-8) as
/// "U+001B"; nullopt when there is none.
std::optional<std::string> controlCharacter(std::string_view text);

/// `text` with every control character but none written as \xHH (\n, \t and
/// \r too), for one-line text logs.
std::string escapeControl(std::string_view text);

}  // namespace hostform
