#include "reconciler/watch/signatures.h"

#include <gpgme.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "reconciler/handle.h"
#include "reconciler/process.h"

namespace hostform::watch {
namespace fs = std::filesystem;
namespace {

constexpr auto kToolTimeout = std::chrono::seconds(30);
constexpr std::string_view kSshArmor = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view kPgpArmor = "-----BEGIN PGP SIGNATURE-----";

using ContextPtr = Handle<gpgme_context, gpgme_release>;
using DataPtr = Handle<gpgme_data, gpgme_data_release>;
using KeyPtr = Handle<_gpgme_key, gpgme_key_unref>;

/// The settings of the private keyring. gpg would otherwise start a
/// gpg-agent for it (on import, to migrate secret keys) that outlives the
/// watcher, and could ask dirmngr for keys: verifying needs neither.
constexpr std::string_view kGpgConf =
    "# Written by hostform watch: only the keys of --openpgp-keys, only verification.\n"
    "no-autostart\n"
    "no-auto-key-retrieve\n"
    "no-greeting\n";

/// gpgme is initialised once per process. It writes to gpg through pipes,
/// and a gpg that exits early would otherwise kill the watcher with SIGPIPE
/// (gpgme's manual asks applications to ignore it).
void initGpgme() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::signal(SIGPIPE, SIG_IGN);
    gpgme_check_version(nullptr);
  });
}

std::string gpgError(gpgme_error_t err) { return gpgme_strerror(err); }

bool writeFile(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

Result<void> makePrivateDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("cannot create " + dir.string() + ": " + ec.message() + ".");
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return fail("cannot make " + dir.string() + " private: " + ec.message() + ".");
  return {};
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool hasSigner(const std::string& allowedSigners) {
  std::istringstream in(allowedSigners);
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#') return true;
  }
  return false;
}

Result<ContextPtr> newContext(const fs::path& home) {
  gpgme_ctx_t raw = nullptr;
  if (gpgme_error_t err = gpgme_new(&raw); err)
    return fail("cannot start gpgme: " + gpgError(err) + ".");
  ContextPtr ctx(raw);
  gpgme_set_protocol(raw, GPGME_PROTOCOL_OpenPGP);
  if (gpgme_error_t err = gpgme_ctx_set_engine_info(raw, GPGME_PROTOCOL_OpenPGP, nullptr, home.c_str()); err)
    return fail("cannot point gpgme at " + home.string() + ": " + gpgError(err) + ".");
  gpgme_set_offline(raw, 1);  // no dirmngr, no key servers
  return ctx;
}

Result<DataPtr> dataOf(const std::string& bytes) {
  gpgme_data_t raw = nullptr;
  if (gpgme_error_t err = gpgme_data_new_from_mem(&raw, bytes.data(), bytes.size(), /*copy=*/1); err)
    return fail("cannot hand data to gpgme: " + gpgError(err) + ".");
  return DataPtr(raw);
}

}  // namespace

SignatureVerifier::SignatureVerifier(SignatureKeys keys, fs::path sshDir, fs::path gnupgHome)
    : keys_(std::move(keys)), sshDir_(std::move(sshDir)), gnupgHome_(std::move(gnupgHome)) {}

SignatureVerifier::~SignatureVerifier() = default;

Result<std::unique_ptr<SignatureVerifier>> SignatureVerifier::create(const SignatureKeys& keys,
                                                                     const fs::path& stateDir) {
  std::unique_ptr<SignatureVerifier> v(new SignatureVerifier(keys, stateDir / "ssh", stateDir / "openpgp"));
  if (!keys.allowedSignersFile.empty()) {
    if (findTool("ssh-keygen").empty())
      return fail("--allowed-signers needs ssh-keygen (Debian: openssh-client), which is not installed.");
    if (!hasSigner(keys.allowedSigners))
      return fail("--allowed-signers " + keys.allowedSignersFile + ": the file names no signer.");
    if (auto made = makePrivateDir(v->sshDir_); !made) return hostform::unexpected(made.error());
    // A copy, so that the file read at start is the one every verification uses.
    if (!writeFile(v->sshDir_ / "allowed_signers", keys.allowedSigners))
      return fail("cannot write " + (v->sshDir_ / "allowed_signers").string() + ".");
  }
  if (!keys.openpgpKeysFile.empty()) {
    initGpgme();
    if (gpgme_error_t err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP); err)
      return fail("--openpgp-keys needs gpg (Debian: gnupg), which gpgme cannot use: " + gpgError(err) + ".");
    if (auto imported = v->importOpenpgpKeys(); !imported) return hostform::unexpected(imported.error());
  }
  return v;
}

Result<void> SignatureVerifier::importOpenpgpKeys() {
  // A fresh keyring each start: a key removed from the file must not stay trusted.
  std::error_code ec;
  fs::remove_all(gnupgHome_, ec);
  if (ec) return fail("cannot empty " + gnupgHome_.string() + ": " + ec.message() + ".");
  if (auto made = makePrivateDir(gnupgHome_); !made) return made;
  if (!writeFile(gnupgHome_ / "gpg.conf", std::string(kGpgConf)))
    return fail("cannot write " + (gnupgHome_ / "gpg.conf").string() + ".");

  auto ctx = newContext(gnupgHome_);
  if (!ctx) return hostform::unexpected(ctx.error());
  auto data = dataOf(keys_.openpgpKeys);
  if (!data) return hostform::unexpected(data.error());
  const std::string file = "--openpgp-keys " + keys_.openpgpKeysFile;
  const std::string noKey = file + ": the file holds no OpenPGP public key (give ASCII-armored keys: gpg --armor --export).";
  if (gpgme_error_t err = gpgme_op_import(ctx->get(), data->get()); err)
    return fail(gpgme_err_code(err) == GPG_ERR_NO_DATA ? noKey
                                                       : file + ": cannot import the keys: " + gpgError(err) + ".");
  gpgme_import_result_t imported = gpgme_op_import_result(ctx->get());
  if (!imported || imported->considered == 0) return fail(noKey);
  if (imported->secret_read > 0)
    return fail(file + ": the file holds a secret key; give only public keys (gpg --armor --export).");

  // Every key of the keyring came from the file; their fingerprints (and
  // their subkeys', which sign too) are what a signature must name.
  if (gpgme_error_t err = gpgme_op_keylist_start(ctx->get(), nullptr, 0); err)
    return fail(file + ": cannot list the imported keys: " + gpgError(err) + ".");
  for (;;) {
    gpgme_key_t raw = nullptr;
    if (gpgme_op_keylist_next(ctx->get(), &raw)) break;
    KeyPtr key(raw);
    for (gpgme_subkey_t sub = raw->subkeys; sub; sub = sub->next)
      if (sub->fpr) fingerprints_.insert(upper(sub->fpr));
  }
  gpgme_op_keylist_end(ctx->get());
  if (fingerprints_.empty()) return fail(file + ": no usable OpenPGP public key in the file.");
  spdlog::debug("imported {} OpenPGP key(s) and subkeys into {}", fingerprints_.size(), gnupgHome_.string());
  return {};
}

Verdict SignatureVerifier::verify(const CommitId& commit, const std::optional<CommitSignature>& signature) {
  if (auto known = verdicts_.find(commit); known != verdicts_.end()) return known->second;
  Verdict v{Verdict::Kind::Rejected, "not signed"};
  if (signature) {
    const std::string& armor = signature->signature;
    if (armor.starts_with(kSshArmor)) {
      v = keys_.allowedSignersFile.empty()
              ? Verdict{Verdict::Kind::Rejected, "signed with an SSH key, but only OpenPGP keys (--openpgp-keys " +
                                                     keys_.openpgpKeysFile + ") are trusted"}
              : verifySsh(*signature);
    } else if (armor.starts_with(kPgpArmor)) {
      v = keys_.openpgpKeysFile.empty()
              ? Verdict{Verdict::Kind::Rejected, "signed with an OpenPGP key, but only SSH keys (--allowed-signers " +
                                                     keys_.allowedSignersFile + ") are trusted"}
              : verifyOpenpgp(*signature);
    } else {
      v = {Verdict::Kind::Rejected, "signed in a format hostform does not verify (only SSH and OpenPGP)"};
    }
  }
  if (v.kind != Verdict::Kind::Failed) verdicts_.emplace(commit, v);
  return v;
}

Verdict SignatureVerifier::verifySsh(const CommitSignature& signature) {
  const fs::path allowed = sshDir_ / "allowed_signers";
  const fs::path sigFile = sshDir_ / "commit.sig";
  const fs::path payloadFile = sshDir_ / "commit.payload";
  struct Cleanup {
    fs::path a, b;
    ~Cleanup() {
      std::error_code ec;
      fs::remove(a, ec);
      fs::remove(b, ec);
    }
  } cleanup{sigFile, payloadFile};
  if (!writeFile(sigFile, signature.signature) || !writeFile(payloadFile, signature.payload))
    return {Verdict::Kind::Failed, "cannot write the signature to " + sshDir_.string()};

  // As git does: whose key made the signature, then whether it signed these bytes.
  const std::vector<std::string> find{"ssh-keygen", "-Y", "find-principals", "-s", sigFile.string(),
                                      "-f", allowed.string()};
  auto found = runCommand(find, kToolTimeout);
  if (!found) return {Verdict::Kind::Failed, found.error().message};
  std::vector<std::string> principals;
  std::istringstream lines(found->out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) principals.push_back(line);
  if (found->exitCode != 0 || principals.empty()) {
    spdlog::debug("ssh-keygen -Y find-principals: exit {}: {}", found->exitCode, found->err);
    return {Verdict::Kind::Rejected, "signed by a key not in " + keys_.allowedSignersFile};
  }
  for (const std::string& principal : principals) {
    const std::vector<std::string> check{"ssh-keygen", "-Y", "verify", "-f", allowed.string(), "-I", principal,
                                         "-n", "git", "-s", sigFile.string()};
    auto verified = runCommand(check, kToolTimeout, payloadFile);
    if (!verified) return {Verdict::Kind::Failed, verified.error().message};
    if (verified->exitCode == 0) return {Verdict::Kind::Trusted, "SSH key of " + principal};
    spdlog::debug("ssh-keygen -Y verify -I {}: exit {}: {}", principal, verified->exitCode, verified->err);
  }
  return {Verdict::Kind::Rejected, "bad signature"};
}

Verdict SignatureVerifier::verifyOpenpgp(const CommitSignature& signature) {
  auto ctx = newContext(gnupgHome_);
  if (!ctx) return {Verdict::Kind::Failed, ctx.error().message};
  auto sig = dataOf(signature.signature);
  auto payload = dataOf(signature.payload);
  if (!sig || !payload) return {Verdict::Kind::Failed, (!sig ? sig : payload).error().message};
  if (gpgme_error_t err = gpgme_op_verify(ctx->get(), sig->get(), payload->get(), nullptr); err) {
    if (gpgme_err_code(err) == GPG_ERR_NO_DATA) return {Verdict::Kind::Rejected, "bad signature (no OpenPGP data)"};
    return {Verdict::Kind::Failed, "gpgme cannot verify the signature: " + gpgError(err)};
  }
  gpgme_verify_result_t result = gpgme_op_verify_result(ctx->get());
  if (!result || !result->signatures) return {Verdict::Kind::Rejected, "bad signature (no OpenPGP signature)"};
  // A good signature by a key of the file is what counts. The keys' owner
  // trust is unknown (nobody certified them in this keyring), so validity
  // (GPGME_SIGSUM_VALID/GREEN) is never reached; being in the file is the
  // trust, as a line of allowed_signers is. Red bits (revoked, expired) and
  // any status but "good" refuse.
  std::optional<Verdict> first;
  for (gpgme_signature_t s = result->signatures; s; s = s->next) {
    const std::string fpr = upper(s->fpr ? s->fpr : "");
    const bool known = fingerprints_.contains(fpr) ||
                       (fpr.size() == 16 && std::any_of(fingerprints_.begin(), fingerprints_.end(), [&](const auto& f) {
                          return f.ends_with(fpr);
                        }));
    Verdict v{Verdict::Kind::Rejected, ""};
    switch (gpgme_err_code(s->status)) {
      case GPG_ERR_NO_ERROR:
        if (s->summary & GPGME_SIGSUM_RED) v.text = "bad signature";
        else if (!known) v.text = "signed by a key not in " + keys_.openpgpKeysFile;
        else v = {Verdict::Kind::Trusted, "OpenPGP key " + fpr};
        break;
      case GPG_ERR_NO_PUBKEY: v.text = "signed by a key not in " + keys_.openpgpKeysFile; break;
      case GPG_ERR_BAD_SIGNATURE: v.text = "bad signature"; break;
      case GPG_ERR_KEY_EXPIRED: v.text = "signed by an expired key (" + fpr + ")"; break;
      case GPG_ERR_CERT_REVOKED: v.text = "signed by a revoked key (" + fpr + ")"; break;
      case GPG_ERR_SIG_EXPIRED: v.text = "the signature has expired"; break;
      default: v.text = "the signature cannot be verified: " + gpgError(s->status); break;
    }
    if (v.kind == Verdict::Kind::Trusted) return v;
    if (!first) first = v;
  }
  return *first;
}

}  // namespace hostform::watch
