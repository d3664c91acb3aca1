// `hostform watch` end to end: real git repositories made by the test (git
// CLI), the hostform binary fetching them with libgit2, and the netlink
// provider changing the kernel of the test's private network namespace
// (main.cpp). Nothing is timed: each test waits for what it expects with a
// generous deadline.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "reconciler/watch/metrics.h"
#include "reconciler/watch/webhook.h"
#include "tests/integration/netlink/fixture.h"
#include "tests/integration/watch/git_repo.h"
#include "tests/integration/watch/helpers.h"
#include "tests/integration/watch/prometheus.h"

namespace hostform::watchtest {
namespace {

using nlohmann::json;
using nltest::bridgeDoc;
using nltest::link;
using nltest::Outcome;
using namespace std::chrono_literals;

const std::string kFile = "hosts/h1/bridges.yaml";

std::optional<int> ifindexOf(const std::string& name) {
  auto l = link(name);
  if (!l) return std::nullopt;
  return (*l)["ifindex"].get<int>();
}

/// Documents joined with "---".
std::string docs(const std::vector<std::string>& documents) {
  std::string text;
  for (const auto& d : documents) text += (text.empty() ? "" : "---\n") + d;
  return text;
}

/// Every "at" of the state file (arrays included) replaced by "<time>", after checking it is RFC 3339 UTC.
void normaliseTimes(json& j) {
  static const std::regex kRfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  if (j.is_array())
    for (json& item : j) normaliseTimes(item);
  if (!j.is_object()) return;
  for (auto& [key, value] : j.items()) {
    if (key == "at" && value.is_string()) {
      EXPECT_TRUE(std::regex_match(value.get<std::string>(), kRfc3339)) << value;
      value = "<time>";
    } else {
      normaliseTimes(value);
    }
  }
}

class Watch : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nltest::inPrivateNamespace()) << "a previous test left links behind";
    nltest::ip({"link", "set", "lo", "up"});  // for --listen
  }
  void TearDown() override {
    watcher_.reset();  // kills a watcher still running
    nltest::deleteAllLinks();
  }

  std::vector<std::string> args(const std::vector<std::string>& extra) const {
    std::vector<std::string> a{"watch", "--repo", repo_.url(), "--path", "hosts/h1", "--state-dir", state_,
                               "--owner", owner_};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  Outcome once(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = args(extra);
    a.push_back("--once");
    return nltest::hostform(a);
  }
  /// A watcher in the background, logging JSON, every second unless `extra` says otherwise.
  testing::BackgroundProcess& start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = args({"--log-format", "json"});
    if (std::find(extra.begin(), extra.end(), "--interval") == extra.end()) a.insert(a.end(), {"--interval", "1s"});
    a.insert(a.end(), extra.begin(), extra.end());
    watcher_ = std::make_unique<testing::BackgroundProcess>(HOSTFORM_BINARY, a);
    return *watcher_;
  }

  /// eventually(), giving up at once when the background watcher has exited.
  bool waitFor(const std::function<bool()>& condition) {
    return eventually([&] {
      if (condition()) return true;
      if (!watcher_->running()) throw std::runtime_error("the watcher exited: " + watcher_->err());
      return false;
    });
  }

  /// The state file; null while it does not exist.
  json state() const {
    std::ifstream in(state_ + "/watch-state.json");
    if (!in) return nullptr;
    return json::parse(in, nullptr, false);
  }
  std::string lastApplied() const {
    const json s = state();
    return s.is_object() && s["lastApplied"].is_object() ? s["lastApplied"]["commit"].get<std::string>() : "";
  }

  /// The JSON log lines the background watcher wrote so far.
  std::vector<json> logLines() const {
    std::vector<json> lines;
    std::istringstream in(watcher_->err());
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object()) lines.push_back(std::move(j));
    }
    return lines;
  }
  /// The port the background watcher listens on (from its log).
  int port() {
    int found = 0;
    EXPECT_TRUE(eventually([&] {
      for (const json& l : logLines())
        if (l.contains("listen")) {
          const std::string address = l["listen"];
          found = std::stoi(address.substr(address.rfind(':') + 1));
        }
      return found != 0;
    })) << watcher_->err();
    return found;
  }

  testing::TempDir dir_;
  GitRepo repo_{dir_.path() + "/git"};
  const std::string state_ = dir_.path() + "/state";
  const std::string owner_ = "watchtest-" + std::to_string(getpid());
  std::unique_ptr<testing::BackgroundProcess> watcher_;
};

TEST_F(Watch, FirstSyncAppliesTheTipAndRecordsItInTheStateFile) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  Outcome r = once();
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "+ Bridge/hfw0                   create: state (none) -> up, mtu (none) -> 1400, stp.enabled (none) -> false, "
                   "stp.priority (none) -> 32768, stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, "
                   "stp.maxAge (none) -> 20s, ports (none) -> [], addresses (none) -> []\n"
                   "Plan: 1 to create, 0 to change, 0 to delete.\n"
                   "Bridge/hfw0: created\nApply complete: 1 done.\n");
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  EXPECT_EQ((*link("hfw0"))["ifalias"], "hostform:owner=" + owner_);

  json s = state();
  normaliseTimes(s);
  const json run = {{"at", "<time>"},
                    {"trigger", "startup"},
                    {"commit", a},
                    {"result", "applied"},
                    {"exitCode", 0},
                    {"dryRun", false},
                    {"plan", {{"create", 1}, {"update", 0}, {"replace", 0}, {"delete", 0}, {"orphan", 0}}},
                    {"actions", {{"done", 1}, {"failed", 0}, {"skipped", 0}}},
                    {"errors", json::array()}};
  const json expected = {
      {"version", 1},
      {"repo", repo_.url()},
      {"branch", "main"},
      {"path", "hosts/h1"},
      {"lastFetch", {{"at", "<time>"}, {"error", nullptr}}},
      {"lastSeenCommit", a},
      {"targetCommit", a},
      {"rejected", nullptr},
      {"lastApplied", {{"commit", a}, {"at", "<time>"}}},
      {"suspended", nullptr},
      {"lastRun", run},
      {"history", json::array({run})}};
  EXPECT_EQ(s, expected) << s.dump(2);
  // The clone is bare: there is no working tree a fetch could leave half-updated.
  EXPECT_TRUE(std::filesystem::exists(state_ + "/repo/HEAD"));
  EXPECT_FALSE(std::filesystem::exists(state_ + "/repo/hosts"));
}

TEST_F(Watch, ANewCommitIsAppliedByTheRunningWatcher) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  // --no-events: the apply's own netlink notifications would run one more
  // (converged) cycle, which may become lastRun before it is read.
  start({"--no-events"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  EXPECT_EQ(mtuOf("hfw0"), 1400);

  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == b; })) << watcher_->err();
  EXPECT_EQ(mtuOf("hfw0"), 9000);
  EXPECT_EQ(state()["lastRun"]["result"], "applied");

  // The log says which commit each action came from.
  bool logged = false;
  for (const json& l : logLines())
    if (l.value("msg", "") == "Bridge/hfw0: updated") {
      EXPECT_EQ(l["commit"], b);
      EXPECT_EQ(l["resource"], "Bridge/hfw0");
      EXPECT_EQ(l["op"], "update");
      EXPECT_EQ(l["outcome"], "done");
      logged = true;
    }
  EXPECT_TRUE(logged) << watcher_->err();
}

TEST_F(Watch, AnInvalidCommitIsHeldBackAndTheNextGoodOneApplied) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(once().code, 0);

  const std::string bad = repo_.commit("typo", {{kFile, bridgeDoc("hfw0", {{"mtu", "70000"}, {"stpp", "{}"}})}});
  Outcome r = once();
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(kFile + ":5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("2 error(s) in commit " + bad + "; it is not applied, commit " + a + " stays in force.\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  json s = state();
  EXPECT_EQ(s["lastSeenCommit"], bad);
  EXPECT_EQ(s["targetCommit"], a);
  EXPECT_EQ(s["lastApplied"]["commit"], a);
  EXPECT_EQ(s["rejected"]["commit"], bad);
  ASSERT_EQ(s["rejected"]["errors"].size(), 2u);
  EXPECT_EQ(s["rejected"]["errors"][0],
            kFile + ":5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000");

  // While the tip is rejected, the last good commit stays in force: drift from it is corrected.
  nltest::ip({"link", "del", "hfw0"});
  r = once();
  EXPECT_EQ(r.code, 1) << "the tip is still rejected";
  EXPECT_EQ(mtuOf("hfw0"), 1400) << r.out << r.err;

  const std::string fixed = repo_.commit("fix the typo", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  r = once();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 9000);
  s = state();
  EXPECT_EQ(s["lastApplied"]["commit"], fixed);
  EXPECT_EQ(s["rejected"], nullptr);
}

TEST_F(Watch, ACommitThatDeclaresNothingNeverPrunesUnlessAllowed) {
  repo_.commit("one bridge", {{kFile, bridgeDoc("hfw0", {})}});
  ASSERT_EQ(once({"--prune"}).code, 0);
  ASSERT_TRUE(link("hfw0"));
  // The same rule as apply --prune -f DIR, decided by the same function.
  const std::string empty = repo_.commit("empty the file", {{kFile, "# nothing here\n"}});
  Outcome r = once({"--prune"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("error: no manifests found under hosts/h1 in commit " + empty +
                       ": with --prune this would delete every object owned by " + owner_ +
                       "; pass --allow-empty if that is what you want"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(link("hfw0"));
  Outcome allowed = once({"--prune", "--allow-empty"});
  EXPECT_EQ(allowed.code, 0) << allowed.err;
  EXPECT_FALSE(link("hfw0"));
  EXPECT_EQ(lastApplied(), empty);
}

TEST_F(Watch, AForcePushReplacesTheBranchTip) {
  const std::string a = repo_.commit("one bridge", {{kFile, bridgeDoc("hfw0", {})}});
  repo_.commit("two bridges", {{kFile, docs({bridgeDoc("hfw0", {}), bridgeDoc("hfw1", {})})}});
  ASSERT_EQ(once({"--prune"}).code, 0);
  ASSERT_TRUE(link("hfw1"));

  // History rewritten: hfw1 never happened, hfw2 did.
  repo_.resetTo(a);
  const std::string c =
      repo_.commit("rewritten", {{kFile, docs({bridgeDoc("hfw0", {}), bridgeDoc("hfw2", {})})}}, Push::Force);
  Outcome r = once({"--prune"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(link("hfw1"));
  EXPECT_TRUE(link("hfw2"));
  EXPECT_TRUE(link("hfw0"));
  EXPECT_EQ(lastApplied(), c);
  EXPECT_NE(r.err.find("was rewritten (force-push)"), std::string::npos) << r.err;
}

TEST_F(Watch, DriftIsCorrectedBetweenCommitsAndCounted) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  start({"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  const int p = port();

  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  ASSERT_TRUE(waitFor([&] { return mtuOf("hfw0") == 1400; })) << watcher_->err();
  httplib::Client client("127.0.0.1", p);
  double drift = 0;
  ASSERT_TRUE(eventually([&] {
    auto res = client.Get("/metrics");
    if (!res) return false;
    drift = parsePrometheusText(res->body).value("hostform_watch_drift_total");
    return drift == 1;
  })) << drift;
  EXPECT_EQ(lastApplied(), a);
}

TEST_F(Watch, DryRunChangesNothing) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  Outcome r = once({"--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "+ Bridge/hfw0                   create: state (none) -> up, mtu (none) -> 1400, stp.enabled (none) -> false, "
                   "stp.priority (none) -> 32768, stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, "
                   "stp.maxAge (none) -> 20s, ports (none) -> [], addresses (none) -> []\n"
                   "Plan: 1 to create, 0 to change, 0 to delete.\n");
  EXPECT_FALSE(link("hfw0"));
  json s = state();
  EXPECT_EQ(s["lastApplied"], nullptr);
  EXPECT_EQ(s["lastRun"]["result"], "planned");
  EXPECT_EQ(s["lastRun"]["dryRun"], true);

  // Drift is reported, not corrected.
  ASSERT_EQ(once().code, 0);
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  r = once({"--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "~ Bridge/hfw0                   mtu 1300 -> 1400\nPlan: 0 to create, 1 to change, 0 to delete.\n");
  EXPECT_EQ(mtuOf("hfw0"), 1300);
}

TEST_F(Watch, ARestartResumesFromTheStateFile) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(once().code, 0);
  const auto ifindex = ifindexOf("hfw0");
  const std::string appliedAt = state()["lastApplied"]["at"];
  std::this_thread::sleep_for(1100ms);  // so a second apply would record another time

  // Already applied, no drift: nothing is applied again.
  Outcome r = once();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "No changes. Host matches the manifests.\n");
  EXPECT_EQ(ifindexOf("hfw0"), ifindex);
  EXPECT_EQ(state()["lastApplied"]["at"], appliedAt);
  EXPECT_EQ(state()["lastRun"]["result"], "converged");

  // The state says which commit is in force, so a restart with an invalid
  // tip still heals the host to it.
  repo_.commit("broken", {{kFile, "kind: [\n"}});
  nltest::ip({"link", "del", "hfw0"});
  r = once();
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(kFile + ":"), std::string::npos) << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400) << r.out << r.err;
  EXPECT_EQ(state()["targetCommit"], a);
}

TEST_F(Watch, TheWebhookTriggersACycleWhenSignedWithTheSecret) {
  const std::string secret = "s3cret-for-the-hook";
  const std::string secretFile = dir_.write("hook-secret", secret + "\n");
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  // --no-events: lastRun must be the webhook's cycle, not the event cycle its apply may cause.
  start({"--interval", "1h", "--listen", "127.0.0.1:0", "--webhook-secret-file", secretFile, "--no-events"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  httplib::Client client("127.0.0.1", port());

  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  const std::string body = R"({"ref":"refs/heads/main"})";
  auto unsigned_ = client.Post("/hooks/git", body, "application/json");
  ASSERT_TRUE(unsigned_);
  EXPECT_EQ(unsigned_->status, 401);
  EXPECT_EQ(unsigned_->body,
            "missing signature: send X-Hub-Signature-256 (HMAC-SHA256 of the body with the shared secret) or "
            "X-Gitlab-Token\n");
  auto forged = client.Post("/hooks/git", {{"X-Hub-Signature-256", "sha256=" + watch::hmacSha256Hex("guess", body)}},
                            body, "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  EXPECT_EQ(forged->body, "invalid signature\n");
  EXPECT_EQ(state()["lastSeenCommit"], a) << "a refused hook triggers nothing";

  auto signed_ = client.Post("/hooks/git", {{"X-Hub-Signature-256", "sha256=" + watch::hmacSha256Hex(secret, body)}},
                             body, "application/json");
  ASSERT_TRUE(signed_);
  EXPECT_EQ(signed_->status, 202);
  EXPECT_EQ(signed_->body, "fetch queued\n");
  ASSERT_TRUE(waitFor([&] { return lastApplied() == b; })) << watcher_->err();
  EXPECT_EQ(mtuOf("hfw0"), 9000);
  EXPECT_EQ(state()["lastRun"]["trigger"], "webhook");
  EXPECT_EQ(watcher_->err().find(secret), std::string::npos);
}

TEST_F(Watch, WithoutASecretTheWebhookIsNotServed) {
  // Anyone who reaches the port could otherwise make the watcher fetch at will
  // (2,000 POSTs made 79 cycles).
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  start({"--interval", "1h", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  httplib::Client client("127.0.0.1", port());
  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  for (int i = 0; i < 20; ++i) {
    auto r = client.Post("/hooks/git", R"({"ref":"refs/heads/main"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "not served: POST /hooks/git needs watch --webhook-secret-file, so that only the git host can "
                       "trigger fetches\n");
  }
  EXPECT_EQ(client.Get("/hooks/git")->status, 404);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(state()["lastSeenCommit"], a) << "no POST triggered a fetch";
  EXPECT_NE(watcher_->err().find("POST /hooks/git is not served: it needs --webhook-secret-file"), std::string::npos);
}

TEST_F(Watch, SlowClientsNeverHoldUpAProbeAndAreCutOffAtTheDeadline) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  start({"--interval", "1h", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  const int p = port();
  // Eight clients that send a request a byte at a time, as slowloris does
  // (two of them used to freeze /healthz for a minute).
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(p));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    ASSERT_EQ(::send(fd, "GET /met", 8, 0), 8);
    slow.push_back(fd);
  }
  const auto started = std::chrono::steady_clock::now();
  bool cutOff = false;
  while (std::chrono::steady_clock::now() - started < 20s && !cutOff) {
    for (int fd : slow) (void)::send(fd, "r", 1, MSG_NOSIGNAL);
    httplib::Client client("127.0.0.1", p);
    client.set_read_timeout(2, 0);
    const auto asked = std::chrono::steady_clock::now();
    auto health = client.Get("/healthz");
    ASSERT_TRUE(health) << "a probe went unanswered while slow clients were connected";
    EXPECT_EQ(health->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 1s);
    // The slow ones are cut off once their 10 s are up: the server closes them.
    char byte;
    cutOff = std::ranges::all_of(slow, [&](int fd) { return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0; });
    std::this_thread::sleep_for(1s);
  }
  for (int fd : slow) ::close(fd);
  EXPECT_TRUE(cutOff) << "slow clients were still connected after 20 s";
  EXPECT_GE(std::chrono::steady_clock::now() - started, 9s) << "cut off before their deadline";
}

TEST_F(Watch, ListeningBeyondLoopbackIsWarnedAbout) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  start({"--interval", "1h", "--listen", "0.0.0.0:0"});
  ASSERT_TRUE(waitFor([&] {
    return watcher_->err().find("serves /metrics beyond this host; bind 127.0.0.1 (or ::1)") != std::string::npos;
  })) << watcher_->err();
}

TEST_F(Watch, TextLogsEscapeWhatCommitSubjectsCarry) {
  // A subject that would retitle the operator's terminal and clear it.
  const std::string subject = "fix\x1b]0;pwned\x07\x1b[2J it";
  repo_.commit(subject, {{kFile, bridgeDoc("hfw0", {})}});
  Outcome r = nltest::hostform(args({"--once", "--log-format", "text"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "a raw escape reached the log";
  EXPECT_NE(r.err.find("fix\\x1B]0;pwned\\x07\\x1B[2J it"), std::string::npos) << r.err;
}

TEST_F(Watch, TheStateDirectoryIsPrivate) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  ASSERT_EQ(once().code, 0);
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(state_).permissions() & fs::perms::all, fs::perms::owner_all);
  for (const char* file : {"watch-state.json", "lock", "watch.lock"}) {
    ASSERT_TRUE(fs::exists(state_ + "/" + file)) << file;
    EXPECT_EQ(fs::status(state_ + "/" + file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << file;
  }
}

TEST_F(Watch, HealthzAndMetricsAnswerAndMetricsParseAsPrometheusText) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  start({"--interval", "1h", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  httplib::Client client("127.0.0.1", port());

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok: last cycle applied\n");
  auto wrongMethod = client.Post("/healthz", "", "text/plain");
  ASSERT_TRUE(wrongMethod);
  EXPECT_EQ(wrongMethod->status, 405);
  EXPECT_EQ(wrongMethod->get_header_value("Allow"), "GET, HEAD");
  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  Exposition m;
  ASSERT_TRUE(eventually([&] {
    auto res = client.Get("/metrics");
    if (!res) return false;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    m = parsePrometheusText(res->body);
    return m.value("hostform_watch_last_result", {{"result", "applied"}}) == 1;
  }));
  EXPECT_EQ(m.errors, std::vector<std::string>{});
  EXPECT_EQ(m.types["hostform_watch_actions_total"], "counter");
  EXPECT_EQ(m.value("hostform_watch_actions_total", {{"op", "create"}, {"outcome", "done"}}), 1);
  EXPECT_EQ(m.value("hostform_watch_actions_total", {{"op", "update"}, {"outcome", "done"}}), 0);
  EXPECT_EQ(m.value("hostform_watch_cycles_total", {{"trigger", "startup"}}), 1);
  EXPECT_EQ(m.value("hostform_watch_last_exit_code"), 0);
  EXPECT_EQ(m.value("hostform_watch_last_apply_success"), 1);
  EXPECT_EQ(m.value("hostform_watch_fetches_total"), 1);
  EXPECT_EQ(m.value("hostform_watch_fetch_errors_total"), 0);
  EXPECT_EQ(m.value("hostform_watch_drift_total"), 0);
  EXPECT_EQ(m.value("hostform_watch_rejected_commits_total"), 0);
  EXPECT_EQ(m.value("hostform_watch_commit_info", {{"role", "applied"}, {"commit", a}}), 1);
  EXPECT_EQ(m.value("hostform_watch_info", {{"repo", repo_.url()}, {"branch", "main"}, {"path", "hosts/h1"}}), 1);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_NEAR(m.value("hostform_watch_last_apply_timestamp_seconds"), now, 120);
  EXPECT_GT(m.value("hostform_watch_plan_duration_seconds"), 0);
}

TEST_F(Watch, SighupRunsACycleAndSigtermStopsCleanly) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  // --no-events: lastRun must be SIGHUP's cycle, not the event cycle its apply may cause.
  testing::BackgroundProcess& w = start({"--interval", "1h", "--no-events"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << w.err();

  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return lastApplied() == b; })) << w.err();
  EXPECT_EQ(mtuOf("hfw0"), 9000);
  EXPECT_EQ(state()["lastRun"]["trigger"], "signal");

  w.signal(SIGTERM);
  testing::ProcessResult r = w.wait(kDeadline);
  EXPECT_EQ(r.code, 0) << r.err;
  bool stopped = false;
  for (const json& l : logLines()) stopped = stopped || l.value("msg", "") == "stopped";
  EXPECT_TRUE(stopped) << r.err;
}

TEST_F(Watch, AnUnreachableRepositoryIsReportedAndTheHostKeepsItsState) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(once().code, 0);
  const std::string moved = dir_.path() + "/moved.git";
  std::filesystem::rename(repo_.barePath(), moved);

  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  Outcome r = once();
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: cannot fetch " + repo_.url()), std::string::npos) << r.err;
  EXPECT_EQ(mtuOf("hfw0"), 1400) << "the last fetched commit stays in force";
  json s = state();
  EXPECT_TRUE(s["lastFetch"]["error"].is_string()) << s.dump(2);
  EXPECT_EQ(s["lastApplied"]["commit"], a);

  std::filesystem::rename(moved, repo_.barePath());
  r = once();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(state()["lastFetch"]["error"], nullptr);
}

TEST_F(Watch, CredentialsNeverReachTheLogsOrTheStateFile) {
  // Nothing listens on port 9 of the namespace's loopback: the fetch fails at once.
  ::setenv("HOSTFORM_TEST_TOKEN", "tok-9f8e7d-secret", 1);
  Outcome r = nltest::hostform({"watch", "--repo", "https://robot:p4ss-in-url@127.0.0.1:9/fleet.git", "--state-dir",
                                state_, "--owner", owner_, "--token-env", "HOSTFORM_TEST_TOKEN", "--once",
                                "--log-level", "debug"});
  ::unsetenv("HOSTFORM_TEST_TOKEN");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot fetch https://robot@127.0.0.1:9/fleet.git"), std::string::npos) << r.err;
  std::ifstream in(state_ + "/watch-state.json");
  const std::string stateText{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(stateText.find("\"repo\": \"https://robot@127.0.0.1:9/fleet.git\""), std::string::npos) << stateText;
  std::ifstream config(state_ + "/repo/config");
  const std::string configText{std::istreambuf_iterator<char>(config), std::istreambuf_iterator<char>()};
  for (const std::string& text : {r.out, r.err, stateText, configText}) {
    EXPECT_EQ(text.find("p4ss-in-url"), std::string::npos) << text;
    EXPECT_EQ(text.find("tok-9f8e7d-secret"), std::string::npos) << text;
  }
}

TEST_F(Watch, ATokenIsOfferedOnceAsBasicAuthAndARefusalEndsTheFetch) {
  // A server that refuses everyone, recording what libgit2 offered it. Plain
  // http (no certificate to set up); https goes through the same credential
  // callback once TLS is up.
  httplib::Server server;
  std::mutex mutex;
  std::vector<std::string> offered;
  server.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    offered.push_back(req.get_header_value("Authorization"));
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"fleet\"");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  struct Stop {
    httplib::Server& s;
    std::thread& t;
    ~Stop() {
      while (!s.is_running() && t.joinable()) std::this_thread::sleep_for(1ms);
      s.stop();
      t.join();
    }
  } stop{server, serving};

  const std::string tokenFile = dir_.write("token", "tok-5ecret\n");
  Outcome r = nltest::hostform({"watch", "--repo", "http://127.0.0.1:" + std::to_string(port) + "/fleet.git",
                                "--state-dir", state_, "--owner", owner_, "--token-file", tokenFile, "--once"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("authentication failed: the server refused the token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("tok-5ecret"), std::string::npos) << r.err;
  std::lock_guard lock(mutex);
  // "x-access-token:tok-5ecret", base64: offered once, after the first 401.
  EXPECT_EQ(std::count(offered.begin(), offered.end(), "Basic eC1hY2Nlc3MtdG9rZW46dG9rLTVlY3JldA=="), 1)
      << ::testing::PrintToString(offered);
}

TEST_F(Watch, HostnameInThePathLetsOneRepositoryServeAFleet) {
  char host[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  repo_.commit("two hosts", {{std::string("hosts/") + host + "/bridges.yaml", bridgeDoc("hfw0", {})},
                             {"hosts/another-host/bridges.yaml", bridgeDoc("hfw9", {})}});
  Outcome r = nltest::hostform({"watch", "--repo", repo_.url(), "--path", "hosts/{hostname}", "--state-dir", state_,
                                "--owner", owner_, "--once"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(link("hfw0"));
  EXPECT_FALSE(link("hfw9"));
  EXPECT_EQ(state()["path"], std::string("hosts/") + host);
}

TEST_F(Watch, OneWatcherPerStateDirectory) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  start({"--interval", "1h"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  Outcome second = once();
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.err.find("holds the lock on " + state_ + "/watch.lock; each watcher needs its own --state-dir."),
            std::string::npos)
      << second.err;
}

TEST_F(Watch, AMissingPathOrBranchIsAnErrorAndChangesNothing) {
  repo_.commit("elsewhere", {{"other/bridges.yaml", bridgeDoc("hfw0", {})}});
  Outcome r = once();
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: --path hosts/h1 does not exist in commit "), std::string::npos) << r.err;
  EXPECT_FALSE(link("hfw0"));

  r = once({"--branch", "production"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: the branch \"production\" does not exist in " + repo_.url() + "."), std::string::npos)
      << r.err;
}

// ---- Issue 17: suspend and resume, notifications, health, history ---------------

/// The flag's commands, on this test's state directory.
Outcome suspendCmd(const std::string& state, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a{"suspend", "--state-dir", state};
  a.insert(a.end(), extra.begin(), extra.end());
  return nltest::hostform(a);
}
Outcome resumeCmd(const std::string& state) { return nltest::hostform({"resume", "--state-dir", state}); }

double metric(httplib::Client& client, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
  auto res = client.Get("/metrics");
  if (!res) return -1;
  return parsePrometheusText(res->body).value(name, labels);
}

TEST_F(Watch, ASuspendedWatcherPlansButAppliesNothingUntilResumed) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  // An hour's interval and no events: only the flag's inotify wake-up (and
  // SIGHUP) runs a cycle, so each cycle's trigger is known. Events while
  // suspended: WhileSuspendedEventsOnlyReportDrift.
  testing::BackgroundProcess& w = start({"--interval", "1h", "--no-events", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << w.err();
  httplib::Client client("127.0.0.1", port());
  EXPECT_EQ(metric(client, "hostform_watch_suspended"), 0);

  Outcome s = suspendCmd(state_, {"--reason", "disk swap in bay 3"});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, "Suspended: watchers on " + state_ +
                       " fetch and plan but change nothing until `hostform resume` (disk swap in bay 3).\n");
  json flag = json::parse(std::ifstream(state_ + "/suspended"));
  EXPECT_EQ(flag["reason"], "disk swap in bay 3");
  EXPECT_TRUE(flag["who"].is_string() && !flag["who"].get<std::string>().empty()) << flag;
  ASSERT_TRUE(waitFor([&] { return state()["suspended"].is_object(); })) << w.err();
  json st = state();
  EXPECT_EQ(st["suspended"]["reason"], "disk swap in bay 3");
  EXPECT_EQ(st["suspended"]["at"], flag["at"]);
  EXPECT_EQ(st["lastRun"]["trigger"], "suspend");
  EXPECT_EQ(metric(client, "hostform_watch_suspended"), 1);
  EXPECT_EQ(metric(client, "hostform_watch_cycles_total", {{"trigger", "suspend"}}), 1);

  // Idempotent: the first suspension stands.
  Outcome again = suspendCmd(state_, {"--reason", "another"});
  EXPECT_EQ(again.code, 0);
  EXPECT_TRUE(again.out.starts_with("Already suspended since " + flag["at"].get<std::string>() + " by ")) << again.out;
  EXPECT_TRUE(again.out.ends_with(" (disk swap in bay 3); nothing changed.\n")) << again.out;

  // Drift is reported, not corrected.
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] {
    const json r = state()["lastRun"];
    return r["trigger"] == "signal" && r["result"] == "planned";
  })) << w.err();
  st = state();
  EXPECT_EQ(st["lastRun"]["plan"]["update"], 1);
  EXPECT_EQ(st["lastRun"]["actions"]["done"], 0);
  EXPECT_EQ(st["lastRun"]["dryRun"], true);
  EXPECT_EQ(mtuOf("hfw0"), 1300);

  // A new commit is planned, not applied; /readyz says so.
  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return state()["lastRun"]["commit"] == b; })) << w.err();
  st = state();
  EXPECT_EQ(st["lastRun"]["result"], "planned");
  EXPECT_EQ(st["targetCommit"], b);
  EXPECT_EQ(st["lastApplied"]["commit"], a);
  EXPECT_EQ(mtuOf("hfw0"), 1300);
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not ready: commit " + b + " is in force, the last applied is " + a + " (suspended)\n");
  EXPECT_EQ(w.out().find("Bridge/hfw0: updated"), std::string::npos) << w.out();

  Outcome r = resumeCmd(state_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Resumed: watchers on " + state_ + " apply again from their next cycle (suspended since " +
                       flag["at"].get<std::string>() + " by " + flag["who"].get<std::string>() +
                       " (disk swap in bay 3)).\n");
  EXPECT_FALSE(std::filesystem::exists(state_ + "/suspended"));
  ASSERT_TRUE(waitFor([&] { return lastApplied() == b; })) << w.err();
  EXPECT_EQ(mtuOf("hfw0"), 9000);
  st = state();
  EXPECT_EQ(st["suspended"], nullptr);
  EXPECT_EQ(st["lastRun"]["trigger"], "resume");
  EXPECT_EQ(st["lastRun"]["result"], "applied");
  EXPECT_EQ(metric(client, "hostform_watch_suspended"), 0);
  EXPECT_EQ(resumeCmd(state_).out, "Not suspended; nothing changed.\n");
}

TEST_F(Watch, AnEmptyFlagFileMadeByHandSuspendsToo) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  testing::BackgroundProcess& w = start({"--interval", "1h"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << w.err();

  std::ofstream(state_ + "/suspended").close();
  ASSERT_TRUE(waitFor([&] { return state()["suspended"].is_object(); })) << w.err();
  json st = state();
  EXPECT_EQ(st["suspended"]["reason"], nullptr);
  normaliseTimes(st);  // "at" is the file's modification time, RFC 3339
  EXPECT_EQ(st["suspended"], json({{"at", "<time>"}, {"reason", nullptr}}));

  const std::string b = repo_.commit("jumbo frames", {{kFile, bridgeDoc("hfw0", {{"mtu", "9000"}})}});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return state()["lastRun"]["commit"] == b; })) << w.err();
  EXPECT_EQ(state()["lastRun"]["result"], "planned");
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  EXPECT_EQ(lastApplied(), a);

  std::filesystem::remove(state_ + "/suspended");
  ASSERT_TRUE(waitFor([&] { return lastApplied() == b; })) << w.err();
  EXPECT_EQ(mtuOf("hfw0"), 9000);
  EXPECT_EQ(state()["suspended"], nullptr);
}

TEST_F(Watch, OnceWhileSuspendedPrintsThePlanAndChangesNothing) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(suspendCmd(state_).code, 0);
  Outcome r = once();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.ends_with("Plan: 1 to create, 0 to change, 0 to delete.\n")) << r.out;
  EXPECT_FALSE(link("hfw0"));
  EXPECT_EQ(state()["lastApplied"], nullptr);
  EXPECT_EQ(state()["lastRun"]["result"], "planned");
  EXPECT_EQ(suspendCmd(state_, {"--reason", "two\nlines"}).err,
            "error: --reason: give one line of text, without control characters.\n");
}

/// A receiver of notifications: answers each POST /hook with the next status of `statuses`
/// (the last one repeats) and keeps what it was sent.
class Receiver {
 public:
  struct Request {
    std::string body, signature, event, contentType;
  };
  explicit Receiver(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      requests_.push_back({req.body, req.get_header_value("X-Hostform-Signature-256"),
                           req.get_header_value("X-Hostform-Event"), req.get_header_value("Content-Type")});
      res.status = statuses_[std::min(requests_.size(), statuses_.size()) - 1];
      res.set_content("thanks", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    while (!server_.is_running() && thread_.joinable()) std::this_thread::sleep_for(1ms);
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& query = "", const std::string& userinfo = "") const {
    return "http://" + userinfo + "127.0.0.1:" + std::to_string(port_) + "/hook" + query;
  }
  std::string shownUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  httplib::Server server_;
  std::vector<int> statuses_;
  std::mutex mutex_;
  std::vector<Request> requests_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(Watch, NotificationsAreSignedRetriedAndKeepTheSecretOutOfTheLogs) {
  const std::string secret = "n0tify-s3cret";
  const std::string secretFile = dir_.write("notify-secret", secret + "\n");
  Receiver receiver({500, 200});
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  testing::BackgroundProcess& w =
      start({"--interval", "1h", "--listen", "127.0.0.1:0", "--notify", receiver.url("?token=q-t0ken", "hook:pw-in-url@"),
             "--notify-secret-file", secretFile});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << w.err();
  // 500 first: retried after a second, then delivered.
  ASSERT_TRUE(waitFor([&] { return receiver.requests().size() >= 2; })) << w.err();
  httplib::Client client("127.0.0.1", port());
  ASSERT_TRUE(eventually([&] { return metric(client, "hostform_watch_notifications_total", {{"outcome", "delivered"}}) == 1; }));
  EXPECT_EQ(metric(client, "hostform_watch_notifications_total", {{"outcome", "failed"}}), 0);

  std::vector<Receiver::Request> got = receiver.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body) << "a retry sends the same event";
  for (const auto& req : got) {
    EXPECT_EQ(req.signature, "sha256=" + watch::hmacSha256Hex(secret, req.body));
    EXPECT_EQ(req.event, "applied");
    EXPECT_EQ(req.contentType, "application/json");
  }
  json body = json::parse(got[1].body);
  normaliseTimes(body);
  char host[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(body, json({{"event", "applied"},
                        {"host", host},
                        {"repo", repo_.url()},
                        {"branch", "main"},
                        {"path", "hosts/h1"},
                        {"commit", a},
                        {"targetCommit", a},
                        {"result", "applied"},
                        {"exitCode", 0},
                        {"dryRun", false},
                        {"plan", {{"create", 1}, {"update", 0}, {"replace", 0}, {"delete", 0}, {"orphan", 0}}},
                        {"actions", {{"done", 1}, {"failed", 0}, {"skipped", 0}}},
                        {"errors", json::array()},
                        {"at", "<time>"}}))
      << body.dump(2);

  // Drift corrected on the commit in force.
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return receiver.requests().size() >= 3; })) << w.err();
  got = receiver.requests();
  EXPECT_EQ(got[2].event, "drift-corrected");
  body = json::parse(got[2].body);
  EXPECT_EQ(body["event"], "drift-corrected");
  EXPECT_EQ(body["plan"]["update"], 1);
  EXPECT_EQ(mtuOf("hfw0"), 1400);

  // A rejected tip: its commit and errors; the commit in force stays.
  const std::string bad = repo_.commit("typo", {{kFile, bridgeDoc("hfw0", {{"mtu", "70000"}})}});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return receiver.requests().size() >= 4; })) << w.err();
  body = json::parse(receiver.requests()[3].body);
  EXPECT_EQ(body["event"], "rejected");
  EXPECT_EQ(body["commit"], bad);
  EXPECT_EQ(body["targetCommit"], a);
  EXPECT_EQ(body["errors"],
            json::array({kFile + ":5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000"}));

  // The log names the receiver without its query; the secret and the query appear nowhere.
  EXPECT_NE(w.err().find(receiver.shownUrl()), std::string::npos) << w.err();
  for (const std::string& text : {w.err(), w.out()}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
    EXPECT_EQ(text.find("q-t0ken"), std::string::npos) << text;
    EXPECT_EQ(text.find("pw-in-url"), std::string::npos) << text;
  }
}

TEST_F(Watch, ANotificationRefusedWithA4xxIsNotRetriedAndOnceWaitsForDelivery) {
  const std::string secretFile = dir_.write("notify-secret", "k\n");
  Receiver refusing({400});
  Receiver failing({503});
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  // --once returns only once its notifications have been delivered or given up.
  Outcome r = once({"--notify", refusing.url(), "--notify", failing.url(), "--notify-secret-file", secretFile});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(refusing.requests().size(), 1u);
  EXPECT_EQ(failing.requests().size(), 4u) << "four attempts: the first and three retries";
  EXPECT_NE(r.err.find("notification failed: the receiver answered HTTP 400 (not retried)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("notification failed: the receiver answered HTTP 503 (attempt 4 of 4, the last)"),
            std::string::npos)
      << r.err;
}

TEST_F(Watch, ARepeatingFailureIsNotifiedOnceUntilItChanges) {
  const std::string secretFile = dir_.write("notify-secret", "k\n");
  Receiver receiver({200});
  const auto events = [&] {
    std::vector<std::string> out;
    for (const auto& r : receiver.requests()) out.push_back(r.event);
    return out;
  };
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  testing::BackgroundProcess& w = start({"--notify", receiver.url(), "--notify-secret-file", secretFile});
  ASSERT_TRUE(waitFor([&] { return events().size() == 1; })) << w.err();

  // Every second a cycle fails the same way: one notification.
  const std::string c = repo_.commit("a missing port", {{kFile, bridgeDoc("hfw0", {{"ports", "[hfwnosuch0]"}})}});
  ASSERT_TRUE(waitFor([&] {
    const json h = state()["history"];
    return h.size() >= 3 && h[2]["commit"] == c && h[2]["result"] == "error";
  })) << w.err();
  ASSERT_TRUE(waitFor([&] { return events().size() >= 2; })) << w.err();
  EXPECT_EQ(events(), (std::vector<std::string>{"applied", "failed"}));
  const json failed = json::parse(receiver.requests()[1].body);
  EXPECT_EQ(failed["commit"], c);
  EXPECT_EQ(failed["result"], "error");
  ASSERT_FALSE(failed["errors"].empty());
  EXPECT_NE(failed["errors"][0].get<std::string>().find("Interface hfwnosuch0 does not exist"), std::string::npos)
      << failed;

  const std::string d = repo_.commit("fixed", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_TRUE(waitFor([&] { return events().size() >= 3; })) << w.err();
  EXPECT_EQ(events(), (std::vector<std::string>{"applied", "failed", "applied"}));
  EXPECT_EQ(json::parse(receiver.requests()[2].body)["commit"], d);
  EXPECT_EQ(lastApplied(), d);
}

TEST_F(Watch, NotifyFlagsAreChecked) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  const std::string secretFile = dir_.write("notify-secret", "k\n");
  struct Case {
    std::vector<std::string> flags;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"--notify", "http://127.0.0.1:9/hook"},
            "error: --notify needs --notify-secret-file: notifications are signed, so the receiver can trust them.\n"},
           {{"--notify-secret-file", secretFile},
            "error: --notify-secret-file signs notifications: give the URLs to notify with --notify URL.\n"},
           {{"--notify", "ftp://user:pw@example.com/x?k=v", "--notify-secret-file", secretFile},
            "error: --notify ftp://example.com/x: expected an http:// or https:// URL.\n"}}) {
    Outcome r = once(c.flags);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, c.error);
  }
  EXPECT_FALSE(std::filesystem::exists(state_ + "/watch-state.json")) << "nothing ran";
}

TEST_F(Watch, HealthzSaysWhetherTheLastCycleSucceededAndReadyzWhetherTheCommitIsApplied) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  testing::BackgroundProcess& w = start({"--interval", "1h", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << w.err();
  httplib::Client client("127.0.0.1", port());
  const auto probe = [&](const char* path) {
    auto res = client.Get(path);
    return res ? std::to_string(res->status) + " " + res->body : std::string("no answer");
  };
  EXPECT_EQ(probe("/healthz"), "200 ok: last cycle applied\n");
  EXPECT_EQ(probe("/readyz"), "200 ready: commit " + a + " is applied\n");

  // A rejected tip: the cycle failed (exit 1), but the commit in force is applied.
  const std::string bad = repo_.commit("typo", {{kFile, bridgeDoc("hfw0", {{"mtu", "70000"}})}});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return state()["rejected"].is_object(); })) << w.err();
  EXPECT_EQ(probe("/healthz"), "503 failing: last cycle converged, exit code 1: " + kFile +
                                   ":5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000\n");
  EXPECT_EQ(probe("/readyz"), "200 ready: commit " + a + " is applied\n");

  // A valid commit that cannot be applied: it is in force, and not applied.
  const std::string c = repo_.commit("a missing port", {{kFile, bridgeDoc("hfw0", {{"ports", "[hfwnosuch0]"}})}});
  w.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return state()["lastRun"]["commit"] == c; })) << w.err();
  const std::string health = probe("/healthz");
  EXPECT_TRUE(health.starts_with("503 failing: last cycle error, exit code 1: ")) << health;
  EXPECT_NE(health.find("Interface hfwnosuch0 does not exist on the host"), std::string::npos) << health;
  EXPECT_EQ(probe("/readyz"), "503 not ready: commit " + c + " is in force, the last applied is " + a + "\n");
  EXPECT_EQ(mtuOf("hfw0"), 1400);
}

TEST_F(Watch, BeforeTheFirstCycleEndsHealthzSaysStartingAndReadyzNotReady) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  // The test holds the apply lock, as a long `apply` would: the first cycle waits for it.
  std::filesystem::create_directories(state_);
  std::filesystem::permissions(state_, std::filesystem::perms::owner_all);
  const int lock = ::open((state_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  testing::BackgroundProcess& w = start({"--interval", "1h", "--listen", "127.0.0.1:0", "--lock-timeout", "1h"});
  httplib::Client client("127.0.0.1", port());
  const auto probe = [&](const char* path) {
    auto res = client.Get(path);
    return res ? std::to_string(res->status) + " " + res->body : std::string("no answer");
  };
  EXPECT_EQ(probe("/healthz"), "200 starting: the first cycle has not ended yet\n");
  EXPECT_EQ(probe("/readyz"), "503 not ready: no commit in force yet\n");
  ::close(lock);
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << w.err();
  EXPECT_EQ(probe("/healthz"), "200 ok: last cycle applied\n");
  EXPECT_EQ(probe("/readyz"), "200 ready: commit " + a + " is applied\n");
}

TEST_F(Watch, TheStateFileKeepsTheLastTenRunsNewestFirst) {
  std::vector<std::string> commits;
  for (int i = 0; i < 12; ++i) {
    commits.push_back(repo_.commit("mtu " + std::to_string(1400 + i),
                                   {{kFile, bridgeDoc("hfw0", {{"mtu", std::to_string(1400 + i)}})}}));
    ASSERT_EQ(once().code, 0);
  }
  json s = state();
  ASSERT_EQ(s["history"].size(), 10u) << s.dump(2);
  EXPECT_EQ(s["history"][0], s["lastRun"]);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(s["history"][i]["commit"], commits[11 - i]) << i;
    EXPECT_EQ(s["history"][i]["result"], "applied") << i;
  }

  // A state file written before the history was kept loads: its lastRun starts the history.
  const json oldRun = s["lastRun"];
  s.erase("history");
  s.erase("suspended");
  std::ofstream(state_ + "/watch-state.json") << s.dump(2);
  Outcome r = once();
  EXPECT_EQ(r.code, 0) << r.err;
  s = state();
  ASSERT_EQ(s["history"].size(), 2u) << s.dump(2);
  EXPECT_EQ(s["history"][0]["result"], "converged");
  EXPECT_EQ(s["history"][1], oldRun);
  EXPECT_EQ(s["suspended"], nullptr);
}

// Events (docs/watch.md Events): with an interval of an hour, only the
// netlink notifications can make the watcher notice a change in time.

/// The watcher's metrics, parsed; empty while it does not answer.
Exposition metricsOf(int port) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  return res && res->status == 200 ? parsePrometheusText(res->body) : Exposition{};
}

TEST_F(Watch, EventsCorrectDriftLongBeforeTheInterval) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  start({"--interval", "1h", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  const int p = port();

  // Changed behind hostform's back: corrected by an event cycle.
  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  ASSERT_TRUE(waitFor([&] { return mtuOf("hfw0") == 1400; })) << watcher_->err();

  // Deleted behind its back: created again, with its settings.
  const std::optional<int> before = ifindexOf("hfw0");
  nltest::ip({"link", "del", "hfw0"});
  ASSERT_TRUE(waitFor([&] { return ifindexOf("hfw0") && ifindexOf("hfw0") != before && mtuOf("hfw0") == 1400; }))
      << watcher_->err();
  EXPECT_EQ((*link("hfw0"))["ifalias"], "hostform:owner=" + owner_);

  Exposition m;
  ASSERT_TRUE(waitFor([&] {
    m = metricsOf(p);
    return m.value("hostform_watch_drift_total") == 2 &&
           m.value("hostform_watch_actions_total", {{"op", "create"}, {"outcome", "done"}}) == 2;
  })) << watcher_->err();
  EXPECT_GE(m.value("hostform_watch_events_total", {{"source", "netlink"}}), 2);
  EXPECT_GE(m.value("hostform_watch_cycles_total", {{"trigger", "event"}}), 2);
  EXPECT_EQ(m.value("hostform_watch_cycles_total", {{"trigger", "interval"}}), 0);
  EXPECT_EQ(m.value("hostform_watch_events_total", {{"source", "libvirt"}}), 0) << "no VM declared: no libvirt";
  // Event cycles plan the commit in force: they never fetch.
  EXPECT_EQ(m.value("hostform_watch_fetches_total"), 1);
  // The watcher's own changes cause at most a converged cycle, never another action.
  EXPECT_EQ(m.value("hostform_watch_actions_total", {{"op", "update"}, {"outcome", "done"}}), 1);
  EXPECT_EQ(lastApplied(), a);
}

TEST_F(Watch, WithDryRunEventsOnlyReportDrift) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  ASSERT_EQ(once().code, 0);
  start({"--interval", "1h", "--dry-run", "--listen", "127.0.0.1:0"});
  const int p = port();
  // The first cycle has subscribed (and found nothing to do).
  ASSERT_TRUE(waitFor([&] { return metricsOf(p).value("hostform_watch_last_cycle_timestamp_seconds") > 0; }))
      << watcher_->err();

  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  ASSERT_TRUE(waitFor([&] {
    const json s = state();
    return s["lastRun"]["trigger"] == "event" && s["lastRun"]["result"] == "planned";
  })) << watcher_->err();
  EXPECT_EQ(mtuOf("hfw0"), 1300);
  EXPECT_EQ(state()["lastRun"]["plan"]["update"], 1);
  EXPECT_NE(watcher_->out().find("~ Bridge/hfw0                   mtu 1300 -> 1400\n"), std::string::npos)
      << watcher_->out();
  EXPECT_EQ(lastApplied(), a);
}

TEST_F(Watch, WhileSuspendedEventsOnlyReportDrift) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  start({"--interval", "1h"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  ASSERT_EQ(suspendCmd(state_).code, 0);
  ASSERT_TRUE(waitFor([&] { return state()["suspended"].is_object(); })) << watcher_->err();

  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  // The cycle of the drift's event: it plans the update. (Under load, the
  // event of the first apply's own change may come after the suspension, as
  // a converged cycle: that one plans no update.)
  ASSERT_TRUE(waitFor([&] {
    const json s = state();
    return s["lastRun"]["trigger"] == "event" && s["lastRun"]["result"] == "planned" &&
           s["lastRun"]["plan"]["update"] == 1;
  })) << watcher_->err();
  EXPECT_EQ(state()["lastRun"]["dryRun"], true);
  EXPECT_EQ(mtuOf("hfw0"), 1300);

  ASSERT_EQ(resumeCmd(state_).code, 0);
  // The resume cycle corrects the drift; the event of its own change may run
  // one more cycle after it, so it is looked for in the history.
  json resumed;
  ASSERT_TRUE(waitFor([&] {
    const json st = state();
    for (const json& run : st.value("history", json::array()))
      if (run["trigger"] == "resume") resumed = run;
    return resumed.is_object();
  })) << watcher_->err();
  EXPECT_EQ(resumed["result"], "applied");
  EXPECT_EQ(resumed["actions"]["done"], 1);
  EXPECT_EQ(mtuOf("hfw0"), 1400);
  EXPECT_EQ(state()["suspended"], nullptr);
}

TEST_F(Watch, WithoutEventsDriftWaitsForTheInterval) {
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {{"mtu", "1400"}})}});
  start({"--interval", "2s", "--listen", "127.0.0.1:0", "--no-events"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  const int p = port();

  nltest::ip({"link", "set", "dev", "hfw0", "mtu", "1300"});
  ASSERT_TRUE(waitFor([&] { return mtuOf("hfw0") == 1400; })) << watcher_->err();
  Exposition m;
  ASSERT_TRUE(waitFor([&] {
    m = metricsOf(p);
    return m.value("hostform_watch_drift_total") == 1;
  })) << watcher_->err();
  // Corrected by an interval cycle: nothing listened.
  EXPECT_GE(m.value("hostform_watch_cycles_total", {{"trigger", "interval"}}), 1);
  EXPECT_EQ(m.value("hostform_watch_cycles_total", {{"trigger", "event"}}), 0);
  EXPECT_EQ(m.value("hostform_watch_events_total", {{"source", "netlink"}}), 0);
}

TEST_F(Watch, LibvirtIsListenedToOnlyOnceTheCommitDeclaresItsKinds) {
  // libvirt's test:///default driver lives in the watcher's process, so the
  // only lifecycle events it can see are those of its own applies.
  const std::string a = repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  start({"--interval", "1h", "--listen", "127.0.0.1:0", "--libvirt-uri", "test:///default"});
  ASSERT_TRUE(waitFor([&] { return lastApplied() == a; })) << watcher_->err();
  const int p = port();
  const std::string pool = "apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: hfwpool}\n"
                           "spec: {type: dir, target: /hfwpool}\n";
  const std::string b = repo_.commit("a pool", {{"hosts/h1/pool.yaml", pool}});
  EXPECT_EQ(metricsOf(p).value("hostform_watch_events_total", {{"source", "libvirt"}}), 0)
      << "no kvm kind declared: no libvirt connection for events";
  watcher_->signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return lastApplied() == b; })) << watcher_->err();
  // Subscribed before that cycle applied: its own pool's definition and start were heard.
  ASSERT_TRUE(waitFor([&] { return metricsOf(p).value("hostform_watch_events_total", {{"source", "libvirt"}}) >= 1; }))
      << watcher_->err();
}

TEST_F(Watch, EventFlagsAreChecked) {
  repo_.commit("first bridge", {{kFile, bridgeDoc("hfw0", {})}});
  Outcome r = nltest::hostform(args({"--no-events", "--lvm-poll", "1s", "--once"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --lvm-poll is how events are read from lvm; it has no use with --no-events.\n");
  r = nltest::hostform(args({"--lvm-poll", "10ms", "--once"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: --lvm-poll 10ms: the shortest poll is 100ms.\n");
  EXPECT_FALSE(link("hfw0"));
}

TEST(WatchMetrics, ProviderGaugesAreFamiliesOfTheirOwnWithLabelsEscaped) {
  watch::Metrics m("repo", "main", ".");
  m.gauges({{"hostform_thin_pool_metadata_percent", "Metadata use.", {{"volume_group", "vg0"}, {"name", "p"}}, 3.08},
            {"hostform_thin_pool_data_percent", "Data use.", {{"volume_group", "vg0"}, {"name", "p"}}, 12.5},
            {"hostform_thin_pool_data_percent", "Data use.", {{"volume_group", "vg\"1"}, {"name", "q"}}, 0}});
  const std::string text = m.render();
  EXPECT_NE(text.find("# HELP hostform_thin_pool_data_percent Data use.\n"
                      "# TYPE hostform_thin_pool_data_percent gauge\n"
                      "hostform_thin_pool_data_percent{volume_group=\"vg0\",name=\"p\"} 12.5\n"
                      "hostform_thin_pool_data_percent{volume_group=\"vg\\\"1\",name=\"q\"} 0\n"
                      "# HELP hostform_thin_pool_metadata_percent Metadata use.\n"
                      "# TYPE hostform_thin_pool_metadata_percent gauge\n"
                      "hostform_thin_pool_metadata_percent{volume_group=\"vg0\",name=\"p\"} 3.08\n"),
            std::string::npos)
      << text;
  m.gauges({});  // the next cycle observed no pool: none shown
  EXPECT_EQ(m.render().find("hostform_thin_pool"), std::string::npos);
}

}  // namespace
}  // namespace hostform::watchtest
