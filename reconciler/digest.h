#pragma once
/// SHA-256 digests (nettle: a small library, cheap to load on every run) as lower-case hex, the way sha256sum prints them.

#include <span>
#include <string>
#include <string_view>

namespace hostform {

/// Lower-case hex of `bytes`.
std::string hexOf(std::span<const unsigned char> bytes);

/// The SHA-256 of `data`, in hex.
std::string sha256Hex(std::string_view data);

/// A SHA-256 over data given in pieces (a file read in chunks).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  /// The digest of everything given so far, in hex.
  std::string hex();

 private:
  struct State;
  State* state_;
};

}  // namespace hostform
