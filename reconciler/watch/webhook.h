#pragma once
/// Authenticating `POST /hooks/git` with a shared secret, the way Git hosts
/// sign their webhooks. Any one of these headers, when valid, is enough:
///   X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>   GitHub, Gitea, Forgejo, Gogs
///   X-Gitea-Signature:   <hex HMAC-SHA256 of the body>          Gitea, Forgejo
///   X-Gogs-Signature:    <hex HMAC-SHA256 of the body>          Gogs
///   X-Gitlab-Token:      <the secret itself>                    GitLab (it does not sign)
/// Comparisons take the same time whatever the input, so a caller cannot
/// guess the signature byte by byte.

#include <functional>
#include <string>
#include <string_view>

namespace hostform::watch {

/// Lower-case hex of HMAC-SHA256(key, data).
std::string hmacSha256Hex(std::string_view key, std::string_view data);

/// Empty when the request is authentic; otherwise why not, as a sentence for
/// the HTTP response. `header` returns a request header's value, empty when absent.
std::string checkWebhook(std::string_view secret, const std::function<std::string(const std::string&)>& header,
                         std::string_view body);

}  // namespace hostform::watch
