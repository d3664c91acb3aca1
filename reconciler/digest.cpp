#include "reconciler/digest.h"

#include <nettle/sha2.h>

namespace hostform {

std::string hexOf(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  Sha256 sha;
  sha.update(data.data(), data.size());
  return sha.hex();
}

struct Sha256::State {
  sha256_ctx ctx;
};

Sha256::Sha256() : state_(new State) { sha256_init(&state_->ctx); }

Sha256::~Sha256() { delete state_; }

void Sha256::update(const void* data, std::size_t size) {
  sha256_update(&state_->ctx, size, static_cast<const std::uint8_t*>(data));
}

std::string Sha256::hex() {
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&state_->ctx, sizeof digest, digest);  // also starts the context again
  return hexOf({digest, sizeof digest});
}

}  // namespace hostform
