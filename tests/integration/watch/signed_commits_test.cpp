// `hostform watch --verify-signatures` end to end: keys made by the test
// (ssh-keygen -t ed25519, gpg --quick-gen-key ed25519), commits signed by
// git itself (commit -S, gpg.format=ssh or openpgp), the hostform binary
// verifying them, and the bridges of the test's private network namespace
// saying what was applied.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/integration/netlink/fixture.h"
#include "tests/integration/watch/git_repo.h"
#include "tests/integration/watch/helpers.h"
#include "tests/integration/watch/prometheus.h"
#include "tests/support/process.h"

namespace hostform::watchtest {
namespace {

using nlohmann::json;
using nltest::bridgeDoc;
using nltest::link;
using nltest::Outcome;
using namespace std::chrono_literals;

const std::string kFile = "hosts/h1/bridges.yaml";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs a tool the test needs; its failure fails the test.
std::string tool(const std::string& program, const std::vector<std::string>& args) {
  testing::ProcessResult r = testing::runProgram(program, args);
  EXPECT_EQ(r.code, 0) << program << ": " << r.err;
  return r.out;
}

/// Processes whose command line mentions `text` (a gpg-agent of a home, say).
std::vector<std::string> processesMentioning(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos || std::stoi(pid) == getpid()) continue;
    std::string cmdline = readFile(entry.path() / "cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(text) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  return found;
}

class SignedCommits : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nltest::inPrivateNamespace()) << "a previous test left links behind";
    nltest::ip({"link", "set", "lo", "up"});  // for --listen
  }
  void TearDown() override {
    watcher_.reset();
    ::unsetenv("GNUPGHOME");
    // git's signing started a gpg-agent for each home the test made: end them, by their home.
    for (const std::string& home : gpgHomes_)
      testing::runProgram("/usr/bin/gpgconf", {"--homedir", home, "--kill", "all"});
    nltest::deleteAllLinks();
  }

  /// An ed25519 key pair without passphrase at dir/name; returns the private key's path.
  std::string sshKey(const std::string& name) {
    const std::string key = dir_.path() + "/" + name;
    tool("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key});
    return key;
  }
  /// An allowed_signers file trusting each key (by its private key's path) for git.
  std::string allowedSigners(const std::vector<std::string>& keys) {
    std::string text = "# principals trusted to sign the fleet's commits\n";
    for (const std::string& key : keys)
      text += std::filesystem::path(key).filename().string() + "@example.org namespaces=\"git\" " +
              readFile(key + ".pub");
    return dir_.write("allowed_signers", text);
  }
  /// A GnuPG home with one ed25519 signing key; returns its fingerprint.
  std::string gpgKey(const std::string& home, const std::string& name) {
    std::filesystem::create_directories(home);
    std::filesystem::permissions(home, std::filesystem::perms::owner_all);
    gpgHomes_.push_back(home);
    tool("/usr/bin/gpg", {"--batch", "--homedir", home, "--passphrase", "", "--quick-gen-key",
                          name + " <" + name + "@example.org>", "ed25519", "sign", "never"});
    const std::string listing = tool("/usr/bin/gpg", {"--batch", "--homedir", home, "--with-colons", "--list-keys"});
    std::istringstream in(listing);
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("fpr:")) return line.substr(4 + line.substr(4).find_first_not_of(':'), 40);
    ADD_FAILURE() << "no fingerprint in " << listing;
    return {};
  }
  /// Commits are signed with this gpg home's key from now on.
  void signWithGpg(const std::string& home, const std::string& fingerprint) {
    ::setenv("GNUPGHOME", home.c_str(), 1);
    repo_.signWith({"gpg.format=openpgp", "gpg.program=/usr/bin/gpg", "user.signingkey=" + fingerprint});
  }
  void signWithSsh(const std::string& key) { repo_.signWith({"gpg.format=ssh", "user.signingkey=" + key}); }

  std::vector<std::string> args(const std::vector<std::string>& extra) const {
    std::vector<std::string> a{"watch", "--repo", repo_.url(), "--path", "hosts/h1", "--state-dir", state_,
                               "--owner", owner_};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  Outcome once(const std::vector<std::string>& extra) {
    std::vector<std::string> a = args(extra);
    a.push_back("--once");
    return nltest::hostform(a);
  }
  json state() const {
    std::ifstream in(state_ + "/watch-state.json");
    if (!in) return nullptr;
    return json::parse(in, nullptr, false);
  }

  testing::TempDir dir_;
  GitRepo repo_{dir_.path() + "/git"};
  const std::string state_ = dir_.path() + "/state";
  const std::string owner_ = "signtest-" + std::to_string(getpid());
  std::vector<std::string> gpgHomes_;
  std::unique_ptr<testing::BackgroundProcess> watcher_;
};

TEST_F(SignedCommits, ACommitSignedByAnAllowedSshKeyIsApplied) {
  const std::string alice = sshKey("alice");
  const std::string signers = allowedSigners({alice});
  signWithSsh(alice);
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  Outcome r = once({"--verify-signatures", "--allowed-signers", signers, "--log-format", "json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  EXPECT_EQ(state()["targetCommit"], a);
  EXPECT_EQ(state()["rejected"], nullptr);
  EXPECT_NE(r.err.find("\"msg\":\"signature good: SSH key of alice@example.org\""), std::string::npos) << r.err;
}

TEST_F(SignedCommits, AnUnsignedTipIsRejectedAndTheLastGoodCommitStaysInForce) {
  const std::string alice = sshKey("alice");
  const std::string signers = allowedSigners({alice});
  const std::vector<std::string> verify{"--verify-signatures", "--allowed-signers", signers};
  signWithSsh(alice);
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(once(verify).code, 0);

  repo_.signWith({});
  const std::string b = repo_.commit("jumbo frames, unsigned", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  Outcome r = once(verify);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("error: commit " + b + ": not signed\ncommit " + b + " is not trusted; it is not applied, commit " +
                       a + " stays in force.\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400) << "the last good commit is in force, and its drift corrected";
  json s = state();
  EXPECT_EQ(s["lastSeenCommit"], b);
  EXPECT_EQ(s["targetCommit"], a);
  EXPECT_EQ(s["lastApplied"]["commit"], a);
  EXPECT_EQ(s["rejected"], json({{"commit", b}, {"errors", json::array({"error: commit " + b + ": not signed"})}}));
  EXPECT_EQ(s["lastRun"]["exitCode"], 1);
}

TEST_F(SignedCommits, AnotherKeyOrATamperedCommitIsRejectedAndCountedByARunningWatcher) {
  const std::string alice = sshKey("alice"), mallory = sshKey("mallory");
  const std::string signers = allowedSigners({alice});
  signWithSsh(alice);
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  watcher_ = std::make_unique<testing::BackgroundProcess>(
      HOSTFORM_BINARY, args({"--verify-signatures", "--allowed-signers", signers, "--interval", "1s", "--listen",
                             "127.0.0.1:0", "--log-format", "json"}));
  // eventually(), giving up at once when the watcher has exited.
  const auto waitFor = [&](const std::function<bool()>& condition) {
    bool exited = false;
    return eventually([&] { return condition() || (exited = !watcher_->running()); }) && !exited;
  };
  ASSERT_TRUE(waitFor([&] { return state().is_object() && state()["lastApplied"].is_object(); })) << watcher_->err();
  int port = 0;
  ASSERT_TRUE(waitFor([&] {
    std::istringstream in(watcher_->err());
    for (std::string line; std::getline(in, line);) {
      json l = json::parse(line, nullptr, false);
      if (l.is_object() && l.contains("listen")) port = std::stoi(l["listen"].get<std::string>().substr(10));
    }
    return port != 0;
  }));

  signWithSsh(mallory);
  const std::string b = repo_.commit("mallory's bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  ASSERT_TRUE(waitFor([&] { return state()["rejected"].is_object() && state()["rejected"]["commit"] == b; }))
      << watcher_->err();
  EXPECT_EQ(state()["rejected"]["errors"], json::array({"error: commit " + b + ": signed by a key not in " + signers}));

  // Alice's signature over other bytes: her key, a bad signature.
  const std::string c = repo_.tamper(a, "first bridge, with a message changed after signing");
  ASSERT_TRUE(waitFor([&] { return state()["rejected"].is_object() && state()["rejected"]["commit"] == c; }))
      << watcher_->err();
  EXPECT_EQ(state()["rejected"]["errors"], json::array({"error: commit " + c + ": bad signature"}));

  // Neither was applied; the last good commit is in force and self-healed.
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  ASSERT_TRUE(waitFor([&] { return mtuOf("hfw0") == 1400; })) << watcher_->err();
  EXPECT_EQ(state()["targetCommit"], a);
  httplib::Client client("127.0.0.1", port);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(parsePrometheusText(metrics->body).value("hostform_watch_rejected_commits_total"), 2);
  // Each rejection was reported once, however many cycles saw the tip.
  const std::string log = watcher_->err();
  std::size_t reports = 0;
  for (std::size_t at = log.find("commit rejected: "); at != std::string::npos; at = log.find("commit rejected: ", at + 1))
    ++reports;
  EXPECT_EQ(reports, 2u) << log;
  EXPECT_NE(log.find("\"msg\":\"commit rejected: bad signature\""), std::string::npos) << log;

  // A restart facing the rejected tip reports it again and keeps the last good commit.
  watcher_->signal(SIGTERM);
  ASSERT_EQ(watcher_->wait(60s).code, 0);
  watcher_.reset();
  nltest::ip({"link", "del", "hfw0"});
  Outcome r = once({"--verify-signatures", "--allowed-signers", signers});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: commit " + c + ": bad signature\n"), std::string::npos) << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400) << r.out << r.err;
  EXPECT_EQ(state()["targetCommit"], a);
}

TEST_F(SignedCommits, ACommitInForceFromBeforeSignaturesWereRequiredIsCheckedToo) {
  const std::string a = repo_.commit("unsigned bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(once({}).code, 0);
  ASSERT_EQ(state()["targetCommit"], a);

  const std::string signers = allowedSigners({sshKey("alice")});
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  Outcome r = once({"--verify-signatures", "--allowed-signers", signers});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: commit " + a + ", in force until now, is not trusted: not signed; nothing is "
                       "applied until a trusted commit is fetched.\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1300) << "an untrusted commit is not even self-healed";
}

TEST_F(SignedCommits, OpenpgpGoodSignatureIsAppliedAndAnUnknownKeyRejected) {
  const std::string trustedHome = dir_.path() + "/gpg-trusted", strangerHome = dir_.path() + "/gpg-stranger";
  const std::string trusted = gpgKey(trustedHome, "Fleet"), stranger = gpgKey(strangerHome, "Stranger");
  const std::string keys = dir_.write(
      "fleet-keys.asc", tool("/usr/bin/gpg", {"--batch", "--homedir", trustedHome, "--armor", "--export", trusted}));
  const std::vector<std::string> verify{"--verify-signatures", "--openpgp-keys", keys, "--log-format", "json"};

  signWithGpg(trustedHome, trusted);
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  Outcome r = once(verify);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  EXPECT_NE(r.err.find("\"msg\":\"signature good: OpenPGP key " + trusted + "\""), std::string::npos) << r.err;

  signWithGpg(strangerHome, stranger);
  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  r = once(verify);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: commit " + b + ": signed by a key not in " + keys + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  EXPECT_EQ(state()["rejected"]["errors"], json::array({"error: commit " + b + ": signed by a key not in " + keys}));

  // Only the trusted key's kind counts: an SSH signature is not an OpenPGP one.
  const std::string alice = sshKey("alice");
  signWithSsh(alice);
  const std::string c = repo_.commit("ssh-signed", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  r = once(verify);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("commit " + c + ": signed with an SSH key, but only OpenPGP keys (--openpgp-keys " + keys +
                       ") are trusted"),
            std::string::npos)
      << r.err;

  // The watcher's keyring is private, and it left no gpg-agent or dirmngr behind.
  const std::string home = state_ + "/openpgp";
  EXPECT_EQ(std::filesystem::status(home).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  EXPECT_EQ(processesMentioning(home), std::vector<std::string>{});
}

TEST_F(SignedCommits, BadFlagsAreOneSentenceAndChangeNothing) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  Outcome r = once({"--verify-signatures"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --verify-signatures needs the trusted keys: --allowed-signers FILE (SSH) and/or "
                   "--openpgp-keys FILE (OpenPGP).\n");
  r = once({"--verify-signatures", "--allowed-signers", dir_.path() + "/missing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --allowed-signers " + dir_.path() + "/missing: cannot read the file.\n");
  r = once({"--verify-signatures", "--openpgp-keys", dir_.path()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --openpgp-keys " + dir_.path() + ": cannot read the file.\n");
  const std::string signers = allowedSigners({sshKey("alice")});
  r = once({"--allowed-signers", signers});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --allowed-signers is used only with --verify-signatures; add it, or drop the key file.\n");
  const std::string notKeys = dir_.write("not-keys.asc", "hello\n");
  r = once({"--verify-signatures", "--openpgp-keys", notKeys});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --openpgp-keys " + notKeys +
                       ": the file holds no OpenPGP public key (give ASCII-armored keys: gpg --armor --export).\n");
  EXPECT_FALSE(link("hfw0"));
  EXPECT_FALSE(std::filesystem::exists(state_ + "/watch-state.json"));
}

}  // namespace
}  // namespace hostform::watchtest
