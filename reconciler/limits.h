#pragma once
/// The bounds every manifest meets before anything recurses or grows, so that
/// hostile input (a commit pushed to a watched branch, a file from anywhere)
/// ends in an error naming the bound, never a crash, a hang or unbounded
/// memory (docs/spec.md §1 "Limits"). `-f` and `watch` apply the same ones.

#include <cstddef>
#include <string>

namespace hostform::limits {

/// All manifest files of one run together: every `-f` path, or one commit's `--path`.
inline constexpr std::size_t kManifestBytes = std::size_t{64} << 20;
/// Documents of one run, empty ones included (128,000 bridges is a tested size).
inline constexpr std::size_t kDocuments = 200'000;
/// Mappings and lists nested in one another, in one document.
inline constexpr std::size_t kDepth = 64;
/// One scalar (a name, a path, a value), in bytes.
inline constexpr std::size_t kScalarBytes = std::size_t{64} << 10;
/// One document with its aliases expanded: nodes, and bytes of scalar text.
inline constexpr std::size_t kExpandedNodes = 100'000;
inline constexpr std::size_t kExpandedBytes = kManifestBytes;

/// The message for manifests over kManifestBytes, read from `where`.
inline std::string manifestsTooLarge(const std::string& where) {
  return "the manifests under " + where +
         " are larger than 64 MiB together; hostform reads at most 64 MiB of manifests in one run";
}

}  // namespace hostform::limits
