#include "reconciler/watch/webhook.h"

#include "reconciler/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>

namespace hostform::watch {
namespace {

/// Compares without an early exit; lengths are not secret.
bool sameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // An empty key is still a key: HMAC() wants a non-null pointer for it.
  static const char kEmpty = 0;
  HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return hexOf({digest, length});
}

std::string checkWebhook(std::string_view secret, const std::function<std::string(const std::string&)>& header,
                         std::string_view body) {
  const std::string expected = hmacSha256Hex(secret, body);
  bool offered = false;
  if (std::string hub = header("X-Hub-Signature-256"); !hub.empty()) {
    offered = true;
    if (lower(hub).starts_with("sha256=") && sameBytes(lower(hub.substr(7)), expected)) return {};
  }
  for (const char* name : {"X-Gitea-Signature", "X-Gogs-Signature"}) {
    if (std::string sig = header(name); !sig.empty()) {
      offered = true;
      if (sameBytes(lower(sig), expected)) return {};
    }
  }
  if (std::string token = header("X-Gitlab-Token"); !token.empty()) {
    offered = true;
    if (sameBytes(token, secret)) return {};
  }
  return offered ? "invalid signature"
                 : "missing signature: send X-Hub-Signature-256 (HMAC-SHA256 of the body with the shared secret) "
                   "or X-Gitlab-Token";
}

}  // namespace hostform::watch
