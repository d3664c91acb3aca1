#pragma once
/// Result type of every fallible operation that is not about manifest input
/// (manifest problems are Diagnostics, collected rather than returned one by one).
///
/// std::expected where the standard library has it (g++ 12 in C++23 mode);
/// TartanLlama's expected (Debian's libexpected-dev, the same API) where it has
/// not: clang before 17 cannot use libstdc++ 12's <expected>, and the fuzzer
/// and the sanitizer builds are clang's.

#include <string>
#include <utility>

#if __has_include(<expected>)
#include <expected>
#endif

#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
namespace hostform {
template <class T, class E>
using Expected = std::expected<T, E>;
using std::unexpected;
}  // namespace hostform
#else
#include <tl/expected.hpp>
namespace hostform {
template <class T, class E>
using Expected = tl::expected<T, E>;
using tl::unexpected;
}  // namespace hostform
#endif

namespace hostform {

/// An error is a whole sentence, ready to show to a user.
struct Error {
  std::string message;
};

/// A value or an Error. [[nodiscard]]: a failure that nobody looks at is a
/// bug, so ignoring one must be written out, `(void)call()`.
template <class T>
class [[nodiscard]] Result : public Expected<T, Error> {
 public:
  using Base = Expected<T, Error>;
  using Base::Base;
  Result(const Base& other) : Base(other) {}
  Result(Base&& other) : Base(std::move(other)) {}
};

inline unexpected<Error> fail(std::string message) { return unexpected<Error>(Error{std::move(message)}); }

}  // namespace hostform
