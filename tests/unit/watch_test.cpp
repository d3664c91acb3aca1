// The watcher's pure parts: flags turned into paths and addresses, URLs
// without secrets, webhook signatures, the state file. The loop itself runs
// against real repositories and a real kernel in tests/integration/watch/.

#include <gtest/gtest.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "reconciler/watch/events.h"
#include "reconciler/watch/git_source.h"
#include "reconciler/watch/http_server.h"
#include "reconciler/watch/watch_state.h"
#include "reconciler/watch/watcher.h"
#include "reconciler/watch/webhook.h"
#include "tests/support/manifests.h"

namespace hostform::watch {
namespace {

TEST(WatchPath, ExpandsHostnameAndCleansThePath) {
  EXPECT_EQ(*resolveWatchPath("hosts/{hostname}", "kvm7"), "hosts/kvm7");
  EXPECT_EQ(*resolveWatchPath("./hosts//{hostname}/", "kvm7"), "hosts/kvm7");
  EXPECT_EQ(*resolveWatchPath(".", "kvm7"), "");
  EXPECT_EQ(*resolveWatchPath("fleet/{hostname}.yaml", "kvm7"), "fleet/kvm7.yaml");
}

TEST(WatchPath, RefusesWhatCannotBeARepositoryPath) {
  EXPECT_EQ(resolveWatchPath("/etc/hostform", "h").error().message,
            "--path /etc/hostform: give a path inside the repository, not an absolute one.");
  EXPECT_EQ(resolveWatchPath("hosts/../../x", "h").error().message,
            "--path hosts/../../x: \"..\" cannot leave the repository.");
  EXPECT_EQ(resolveWatchPath("hosts/{host}", "h").error().message,
            "--path hosts/{host}: the only placeholder is {hostname}.");
  EXPECT_FALSE(resolveWatchPath("hosts/{hostname", "h"));
}

TEST(RepoUrl, PasswordsAreRedactedAndLocalPathsMadeAbsolute) {
  EXPECT_EQ(redactUrl("https://robot:t0ken@git.example/fleet.git"), "https://robot@git.example/fleet.git");
  EXPECT_EQ(redactUrl("https://git.example/fleet.git"), "https://git.example/fleet.git");
  EXPECT_EQ(redactUrl("ssh://git@git.example:2222/fleet.git"), "ssh://git@git.example:2222/fleet.git");
  EXPECT_EQ(redactUrl("https://u:p@ss@host/x"), "https://u@host/x");
  EXPECT_EQ(normalizeRepoUrl("git@git.example:fleet.git"), "git@git.example:fleet.git");
  EXPECT_EQ(normalizeRepoUrl("file:///srv/fleet.git"), "file:///srv/fleet.git");
  EXPECT_EQ(normalizeRepoUrl("/srv/./fleet.git"), "/srv/fleet.git");
  EXPECT_TRUE(normalizeRepoUrl("fleet.git").starts_with("/"));
}

TEST(RepoUrl, BranchNamesAreChecked) {
  EXPECT_TRUE(isValidBranchName("main"));
  EXPECT_TRUE(isValidBranchName("release/2024"));
  EXPECT_FALSE(isValidBranchName(""));
  EXPECT_FALSE(isValidBranchName("a..b"));
  EXPECT_FALSE(isValidBranchName("bad name"));
}

TEST(Listen, HostAndPort) {
  EXPECT_EQ(parseListen("127.0.0.1:9100")->host, "127.0.0.1");
  EXPECT_EQ(parseListen("127.0.0.1:9100")->port, 9100);
  EXPECT_EQ(parseListen("[::1]:0")->host, "::1");
  EXPECT_EQ(parseListen("[::1]:0")->port, 0);
  EXPECT_EQ(parseListen("9100").error().message, "--listen 9100: expected HOST:PORT, such as 127.0.0.1:9100.");
  EXPECT_EQ(parseListen("localhost:99999").error().message,
            "--listen localhost:99999: expected HOST:PORT with a port from 0 to 65535.");
  EXPECT_EQ(parseListen("::1:80").error().message, "--listen ::1:80: an IPv6 address goes in brackets: [::1]:9100.");
}

TEST(Webhook, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Webhook, AcceptsEachHostsSignatureAndRefusesOthers) {
  const std::string body = R"({"ref":"refs/heads/main"})";
  const std::string sig = hmacSha256Hex("secret", body);
  auto with = [](std::map<std::string, std::string> headers) {
    return [headers](const std::string& name) {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };
  };
  EXPECT_EQ(checkWebhook("secret", with({{"X-Hub-Signature-256", "sha256=" + sig}}), body), "");
  EXPECT_EQ(checkWebhook("secret", with({{"X-Gitea-Signature", sig}}), body), "");
  EXPECT_EQ(checkWebhook("secret", with({{"X-Gogs-Signature", sig}}), body), "");
  EXPECT_EQ(checkWebhook("secret", with({{"X-Gitlab-Token", "secret"}}), body), "");
  EXPECT_EQ(checkWebhook("secret", with({{"X-Hub-Signature-256", "sha256=" + sig}}), body + " "), "invalid signature");
  EXPECT_EQ(checkWebhook("secret", with({{"X-Hub-Signature-256", sig}}), body), "invalid signature");
  EXPECT_EQ(checkWebhook("secret", with({{"X-Gitlab-Token", "secreT"}}), body), "invalid signature");
  EXPECT_TRUE(checkWebhook("secret", with({}), body).starts_with("missing signature"));
}

TEST(WatchStateFile, RoundTripsAndIsWrittenInTheDocumentedOrder) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/watch-state.json";
  EXPECT_FALSE(*loadWatchState(file));

  WatchState s;
  s.repo = "file:///srv/fleet.git";
  s.branch = "main";
  s.path = "hosts/kvm7";
  s.lastFetchAt = "2024-05-01T12:00:00Z";
  s.lastSeenCommit = std::string(40, 'b');
  s.targetCommit = std::string(40, 'a');
  s.rejectedCommit = std::string(40, 'b');
  s.rejectedErrors = {"hosts/kvm7/br.yaml:5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000"};
  s.lastAppliedCommit = std::string(40, 'a');
  s.lastAppliedAt = "2024-05-01T11:00:00Z";
  RunRecord run;
  run.at = "2024-05-01T12:00:01Z";
  run.trigger = "interval";
  run.commit = s.targetCommit;
  run.result = "converged";
  run.exitCode = 1;
  run.errors = s.rejectedErrors;
  s.lastRun = run;
  ASSERT_TRUE(saveWatchState(file, s));

  std::ifstream in(file);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_TRUE(text.starts_with("{\n  \"version\": 1,\n  \"repo\": \"file:///srv/fleet.git\",\n")) << text;
  auto loaded = loadWatchState(file);
  ASSERT_TRUE(loaded && *loaded) << (loaded ? "" : loaded.error().message);
  EXPECT_EQ(toJson(**loaded), toJson(s));
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
}

TEST(WatchStateFile, ACorruptFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  const std::string file = dir.write("watch-state.json", "{\"version\": 1, \"repo\": 3}");
  auto loaded = loadWatchState(file);
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().message.starts_with("the watch state " + file + " is corrupt: "))
      << loaded.error().message;
}

/// An event source whose changes the test posts: an eventfd's counter; a
/// negative post breaks it.
class PostedEvents final : public EventSource {
 public:
  PostedEvents() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~PostedEvents() override { ::close(fd_); }
  std::string_view name() const override { return "netlink"; }
  int fd() const override { return fd_; }
  Result<std::size_t> drain() override {
    std::uint64_t n = 0;
    if (::read(fd_, &n, sizeof n) < 0) return std::size_t{0};
    if (broken_) return fail("the source broke.");
    return static_cast<std::size_t>(n);
  }
  void post(std::uint64_t n) { [[maybe_unused]] auto w = ::write(fd_, &n, sizeof n); }
  void breakIt() {
    broken_ = true;
    post(1);
  }

 private:
  int fd_;
  std::atomic<bool> broken_{false};
};

/// What an EventLoop reported, waited for under a lock.
struct Reports {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t events = 0;
  std::vector<std::string> bursts;
  bool waitForBursts(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(30), [&] { return bursts.size() >= n; });
  }
};

TEST(EventLoop, ChangesAlreadyWaitingAreOneBurstAndCounted) {
  Reports r;
  EventLoop loop(
      [&](std::string_view source, std::size_t n) {
        std::lock_guard lock(r.mutex);
        EXPECT_EQ(source, "netlink");
        r.events += n;
      },
      [&](const std::string& what) {
        std::lock_guard lock(r.mutex);
        r.bursts.push_back(what);
        r.changed.notify_all();
      });
  auto source = std::make_unique<PostedEvents>();
  PostedEvents& posted = *source;
  posted.post(7);  // seven changes before the loop first looks: one drain, one burst
  loop.add("netlink", std::move(source));
  ASSERT_TRUE(r.waitForBursts(1));
  {
    std::lock_guard lock(r.mutex);
    EXPECT_EQ(r.events, 7u);
    EXPECT_EQ(r.bursts, std::vector<std::string>{"netlink: 7"});
  }
  posted.post(2);
  ASSERT_TRUE(r.waitForBursts(2));
  std::lock_guard lock(r.mutex);
  EXPECT_EQ(r.events, 9u);
  EXPECT_TRUE(loop.has("netlink"));
}

TEST(EventLoop, ABrokenSourceRunsACycleAndIsClosed) {
  Reports r;
  EventLoop loop([](std::string_view, std::size_t) {},
                 [&](const std::string& what) {
                   std::lock_guard lock(r.mutex);
                   r.bursts.push_back(what);
                   r.changed.notify_all();
                 });
  auto source = std::make_unique<PostedEvents>();
  source->breakIt();
  loop.add("netlink", std::move(source));
  ASSERT_TRUE(r.waitForBursts(1));
  EXPECT_EQ(r.bursts[0], "netlink: 0");
  EXPECT_FALSE(loop.has("netlink"));  // the next cycle opens a new one
}

TEST(EventLoop, SourcesOfKindsNoLongerDeclaredAreClosed) {
  EventLoop loop([](std::string_view, std::size_t) {}, [](const std::string&) {});
  loop.add("netlink", std::make_unique<PostedEvents>());
  loop.add("kvm", std::make_unique<PostedEvents>());
  loop.retain({"netlink"});
  EXPECT_TRUE(loop.has("netlink"));
  EXPECT_FALSE(loop.has("kvm"));
}

}  // namespace
}  // namespace hostform::watch
