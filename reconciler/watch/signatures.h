#pragma once
/// `watch --verify-signatures` (docs/watch.md, "Signed commits"): whether a
/// commit's signature was made by a key the operator trusts.
///
///   SSH     (-----BEGIN SSH SIGNATURE-----)  ssh-keygen -Y find-principals, then
///           -Y verify, run with an argument vector (never a shell) against
///           --allowed-signers, exactly as git does for gpg.format=ssh;
///   OpenPGP (-----BEGIN PGP SIGNATURE-----)  gpgme, in a keyring of its own
///           under the state directory holding only the --openpgp-keys keys.
///
/// Both key files are read once, at start: a watcher is restarted to change
/// whom it trusts.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "reconciler/result.h"
#include "reconciler/watch/git_source.h"

namespace hostform::watch {

/// The trusted keys, read by the command line (readable files; contents kept).
struct SignatureKeys {
  std::string allowedSignersFile;  ///< as given, for messages; empty: no SSH key is trusted
  std::string allowedSigners;      ///< its contents
  std::string openpgpKeysFile;     ///< as given; empty: no OpenPGP key is trusted
  std::string openpgpKeys;         ///< its contents (ASCII-armored public keys)
  bool enabled() const { return !allowedSignersFile.empty() || !openpgpKeysFile.empty(); }
};

/// What the verifier says about one commit.
struct Verdict {
  enum class Kind {
    Trusted,   ///< signed by a trusted key; `text` names the signer
    Rejected,  ///< unsigned, badly signed or by an unknown key; `text` says which. Final for this commit.
    Failed,    ///< could not be decided (a tool failed); `text` says why. Asked again next cycle.
  };
  Kind kind;
  std::string text;
};

class SignatureVerifier {
 public:
  /// Checks the tools are there, copies the allowed signers to
  /// `<stateDir>/ssh/` and imports the OpenPGP keys into a fresh
  /// `<stateDir>/openpgp/` (mode 0700). Errors are whole sentences.
  static Result<std::unique_ptr<SignatureVerifier>> create(const SignatureKeys& keys,
                                                           const std::filesystem::path& stateDir);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  /// The verdict on a commit's signature (nullopt: unsigned). Final verdicts
  /// are remembered for `commit`: a commit's signature never changes, nor do
  /// the keys while the watcher runs.
  Verdict verify(const CommitId& commit, const std::optional<CommitSignature>& signature);

  /// The OpenPGP fingerprints imported (primary keys and subkeys).
  const std::set<std::string>& openpgpFingerprints() const { return fingerprints_; }

 private:
  SignatureVerifier(SignatureKeys keys, std::filesystem::path sshDir, std::filesystem::path gnupgHome);
  Verdict verifySsh(const CommitSignature& signature);
  Verdict verifyOpenpgp(const CommitSignature& signature);
  Result<void> importOpenpgpKeys();

  SignatureKeys keys_;
  std::filesystem::path sshDir_;     ///< allowed_signers (a copy), and each signature while it is checked
  std::filesystem::path gnupgHome_;  ///< the private keyring
  std::set<std::string> fingerprints_;
  std::map<CommitId, Verdict> verdicts_;
};

}  // namespace hostform::watch
