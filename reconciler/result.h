#pragma once
/// Result type of every fallible operation that is not about manifest input
/// (manifest problems are Diagnostics, collected rather than returned one by one).

#include <expected>
#include <string>
#include <utility>

namespace hostform {

/// An error is a whole sentence, ready to show to a user.
struct Error {
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected(Error{std::move(message)});
}

}  // namespace hostform
