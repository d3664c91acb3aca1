// The hostform binary end to end: flags, output streams and exit codes as a
// user (or a script) sees them. Nothing here changes the host: the commands
// used are validate, version, help, plan/apply of invalid manifests (refused
// before anything is read), plan of a kind no provider serves yet, and plan
// of a bridge no host has (read-only: the netlink provider lists links).
// Providers have their own end-to-end tests under tests/integration/.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/manifests.h"
#include "tests/support/process.h"

namespace hostform {
namespace {

using Outcome = testing::ProcessResult;

Outcome hostform(const std::vector<std::string>& args) { return testing::runProgram(HOSTFORM_BINARY, args); }

const char* kBridge = "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec: {mtu: 9000}\n";

TEST(Cli, VersionNamesTheBuiltInProviders) {
  Outcome r = hostform({"version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.starts_with("hostform 0.1.0\n")) << r.out;
}

TEST(Cli, ValidateAcceptsTheExamples) {
  // Each example is one host's manifests; a fleet repository has one per hosts/<name>.
  namespace fs = std::filesystem;
  std::vector<fs::path> hosts;
  for (const auto& e : fs::directory_iterator(HOSTFORM_SOURCE_DIR "/examples")) {
    if (!e.is_directory()) continue;
    if (fs::is_directory(e.path() / "hosts"))
      for (const auto& h : fs::directory_iterator(e.path() / "hosts")) hosts.push_back(h.path());
    else
      hosts.push_back(e.path());
  }
  ASSERT_GE(hosts.size(), 8u);
  for (const fs::path& host : hosts) {
    Outcome r = hostform({"validate", "-f", host.string()});
    EXPECT_EQ(r.code, 0) << host << r.err;
    EXPECT_TRUE(r.out.starts_with("Valid: ")) << r.out;
    EXPECT_EQ(r.err, "") << host;
  }
}

TEST(Cli, InvalidManifestGetsCompilerStyleErrorsAndExitOne) {
  testing::TempDir dir;
  const std::string file = dir.write("bad.yaml", R"(apiVersion: hostform/v1
kind: Bridge
metadata: {name: br0}
spec:
  mtu: 70000
  stpp: {}
)");
  Outcome r = hostform({"validate", "-f", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file + ":5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000\n" + file +
                       ":6:3: error: spec.stpp: unknown field \"stpp\"; expected one of state, mtu, macAddress, stp, "
                       "vlanFiltering, defaultPvid, ports, addresses, fdb (did you mean \"stp\"?)\n2 error(s) in 1 document(s).\n");
  // plan and apply refuse the same input before touching anything.
  EXPECT_EQ(hostform({"plan", "-f", file}).code, 1);
  Outcome apply = hostform({"apply", "-f", file, "--state-dir", dir.path() + "/state"});
  EXPECT_EQ(apply.code, 1);
  EXPECT_TRUE(apply.err.ends_with("2 error(s); nothing was changed.\n")) << apply.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/state"));
}

TEST(Cli, GlobalOptionsWorkBeforeAndAfterTheSubcommand) {
  testing::TempDir dir;
  const std::string file = dir.write("ok.yaml", kBridge);
  Outcome before = hostform({"--owner", "team-a", "--log-level", "error", "validate", "-f", file});
  Outcome after = hostform({"validate", "-f", file, "--owner", "team-a", "--log-level", "error"});
  EXPECT_EQ(before.code, 0) << before.err;
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(before.out, after.out);
}

TEST(Cli, UsageErrorsExitOneAndHelpExitsZero) {
  Outcome unknown = hostform({"plan", "-f", "x.yaml", "--no-such-flag"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("--no-such-flag"), std::string::npos) << unknown.err;
  // A bare hostform is someone asking what it is: the help, on stdout.
  Outcome noCommand = hostform({});
  EXPECT_EQ(noCommand.code, 0);
  EXPECT_NE(noCommand.out.find("Usage"), std::string::npos) << noCommand.out;
  EXPECT_NE(noCommand.out.find("plan"), std::string::npos) << noCommand.out;
  for (const char* cmd : {"validate", "plan", "apply", "export", "watch", "restore", "version"}) {
    Outcome help = hostform({cmd, "--help"});
    EXPECT_EQ(help.code, 0) << cmd;
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << cmd << ": " << help.out;
  }
  Outcome top = hostform({"--help"});
  EXPECT_EQ(top.code, 0);
  EXPECT_NE(top.out.find("--libvirt-uri"), std::string::npos);
  EXPECT_NE(top.out.find("--log-format"), std::string::npos);
}

TEST(Cli, RestoreNeedsASnapshotNameAndReadsManifestsAsPlanDoes) {
  Outcome noName = hostform({"restore", "--allow-data-loss"});
  EXPECT_EQ(noName.code, 1);
  EXPECT_NE(noName.err.find("NAME is required"), std::string::npos) << noName.err;
  testing::TempDir dir;
  const std::string file = dir.write("bad.yaml", "apiVersion: hostform/v1\nkind: Snapshot\nmetadata: {name: s1}\n"
                                                 "spec:\n  source: {logicalVolume: {volumeGroup: vg0, name: d}}\n"
                                                 "  mode: internal\n");
  Outcome bad = hostform({"restore", "s1", "-f", file, "--state-dir", dir.path() + "/state"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, file + ":6:9: error: spec.mode: field \"mode\" is not allowed for a logicalVolume source (an LVM "
                            "snapshot has no mode)\n1 error(s); nothing was changed.\n");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/state"));  // bad input never takes the lock
  Outcome help = hostform({"restore", "--help"});
  for (const char* flag : {"--allow-data-loss", "--dry-run", "-f,--filename", "--lock-timeout"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag << ": " << help.out;
  for (const char* cmd : {"plan", "apply", "watch"})
    EXPECT_NE(hostform({cmd, "--help"}).out.find("--no-snapshot"), std::string::npos) << cmd;
}

TEST(Cli, DashDashVersionPrintsTheVersion) {
  Outcome r = hostform({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "hostform 0.1.0\n");
}

TEST(Cli, AManifestWithoutDashFIsPointedAtDashF) {
  Outcome r = hostform({"plan", "host/"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: unexpected argument host/; manifests are given with -f: hostform plan -f host/\n");
  Outcome two = hostform({"apply", "a.yaml", "b.yaml", "--dry-run"});
  EXPECT_EQ(two.code, 1);
  EXPECT_EQ(two.err, "error: unexpected argument a.yaml b.yaml; manifests are given with -f: hostform apply -f a.yaml "
                     "-f b.yaml\n");
}

TEST(Cli, ATabUsedForIndentationSaysTabsAreNotAllowed) {
  testing::TempDir dir;
  const std::string file = dir.write("tab.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata:\n\tname: br0\nspec: {}\n");
  Outcome r = hostform({"validate", "-f", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, file + ":4:1: error: invalid YAML: a tab character; YAML does not allow tabs for indentation: "
                          "indent with spaces\n1 error(s) in 0 document(s).\n");
}

TEST(Cli, PlanPruneOfNothingIsRefusedBeforeReadingTheHost) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/host");
  Outcome r = hostform({"plan", "-f", dir.path() + "/host", "--prune", "--owner", "e2e-empty", "--state-dir",
                        dir.path() + "/s", "--libvirt-uri", "qemu+unix:///system?socket=/nonexistent/sock"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: no manifests found under " + dir.path() +
                       "/host: with --prune this would delete every object owned by e2e-empty; pass --allow-empty "
                       "if that is what you want\n");
}

TEST(Cli, APlanWhoseStateDirectoryCannotBeReadSaysSo) {
  // /var/lib/hostform is 0700 root: a plan by another user used to end in
  // "internal error: filesystem error".
  testing::TempDir dir;
  const std::string state = dir.path() + "/state";
  std::filesystem::create_directories(state);
  std::filesystem::permissions(state, std::filesystem::perms::owner_all);
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  const std::string file = dir.write("br.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfnr0}\nspec: {}\n");
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  Outcome r = testing::runProgram("/usr/bin/setpriv", {"--reuid=65534", "--regid=65534", "--clear-groups",
                                                       HOSTFORM_BINARY, "plan", "-f", file, "--state-dir", state});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.err, "error: cannot read the ownership ledger " + state +
                       "/ledger.json: Permission denied; run as the user that applies (usually root), or give "
                       "--state-dir\n");
}

TEST(Cli, BadFlagValuesAreRefused) {
  EXPECT_EQ(hostform({"plan", "-f", "x.yaml", "-o", "yaml"}).code, 1);
  EXPECT_EQ(hostform({"apply", "-f", "x.yaml", "-j", "0"}).code, 1);
  Outcome lock = hostform({"apply", "-f", "x.yaml", "--lock-timeout", "5 minutes"});
  EXPECT_EQ(lock.code, 1);
  EXPECT_NE(lock.err.find("--lock-timeout: unknown duration unit \" minutes\" in \"5 minutes\""), std::string::npos)
      << lock.err;
  Outcome owner = hostform({"validate", "-f", "x.yaml", "--owner", "a b"});
  EXPECT_EQ(owner.code, 1);
  EXPECT_NE(owner.err.find("an owner name uses letters, digits"), std::string::npos) << owner.err;
  EXPECT_EQ(hostform({"export", "--kind", "Bridges"}).code, 1);
}

TEST(Cli, MissingFileIsAnError) {
  Outcome r = hostform({"validate", "-f", "/nonexistent/host.yaml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "/nonexistent/host.yaml: error: no such file or directory\n1 error(s) in 0 document(s).\n");
}

TEST(Cli, LogFormatJsonWritesOneObjectPerLine) {
  testing::TempDir dir;
  const std::string file = dir.write(
      "ok.yaml", "apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: web1}\nspec: {memory: 1GiB}\n");
  // libvirt's in-process test driver: a real plan, read-only, no daemon.
  Outcome r = hostform({"plan", "-f", file, "--log-format", "json", "--log-level", "debug", "--libvirt-uri",
                        "test:///default", "--state-dir", dir.path()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "+ VirtualMachine/web1           create: vcpus (none) -> 1, maxVcpus (none) -> 1, memory (none) -> 1GiB, "
            "maxMemory (none) -> 1GiB, machine (none) -> q35, firmware (none) -> bios, cpuMode (none) -> default, "
            "accelerator (none) -> kvm, state (none) -> running, autostart (none) -> true, shutdownTimeout (none) -> "
            "1m, boot (none) -> [hd], graphics (none) -> none, restartPolicy (none) -> never\n"
            "Plan: 1 to create, 0 to change, 0 to delete.\n");
  std::istringstream lines(r.err);
  std::string line;
  std::size_t jsonLines = 0;
  while (std::getline(lines, line))
    if (line.starts_with("{\"")) {
      ++jsonLines;
      EXPECT_TRUE(line.ends_with("}")) << line;
    }
  EXPECT_GE(jsonLines, 1u) << r.err;
}

// ---- colour: the plan of a bridge this host does not have ------------------------------
// A fresh --owner, so no orphans of an earlier run can appear; plan never writes.

struct ColourCase {
  testing::TempDir dir;
  std::string file = dir.write("br.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfcolor0}\nspec: {}\n");
  std::vector<std::string> plan(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"plan", "-f", file, "--owner", "e2e-colour", "--state-dir", dir.path() + "/state"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

const std::string kCreateLine =
    "+ Bridge/hfcolor0               create: state (none) -> up, stp.enabled (none) -> false, stp.priority (none) -> "
    "32768, stp.forwardDelay (none) -> 15s, stp.helloTime (none) -> 2s, stp.maxAge (none) -> 20s, ports (none) -> [], "
    "addresses (none) -> []";
const std::string kGreenCreate = "\033[32m" + kCreateLine + "\033[0m";
const testing::EnvChanges kPlainTerminal = {{"TERM", "xterm"}, {"NO_COLOR", std::nullopt}};

TEST(Colour, APlanOnATerminalIsColoured) {
  ColourCase c;
  Outcome r = testing::runOnTerminal(HOSTFORM_BINARY, c.plan(), kPlainTerminal);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, kGreenCreate + "\r\nPlan: 1 to create, 0 to change, 0 to delete.\r\n");
  EXPECT_FALSE(std::filesystem::exists(c.dir.path() + "/state"));
}

TEST(Colour, APlanThroughAPipeOrFileIsPlain) {
  ColourCase c;
  Outcome r = hostform(c.plan());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, kCreateLine + "\nPlan: 1 to create, 0 to change, 0 to delete.\n");
}

TEST(Colour, NoColorAndDashDashNoColorTurnItOffOnATerminal) {
  ColourCase c;
  for (const auto& [args, env] : std::vector<std::pair<std::vector<std::string>, testing::EnvChanges>>{
           {c.plan(), {{"TERM", "xterm"}, {"NO_COLOR", "1"}}},
           {c.plan({"--no-color"}), kPlainTerminal},
           {c.plan({"--color", "never"}), kPlainTerminal},
           {c.plan(), {{"TERM", "dumb"}, {"NO_COLOR", std::nullopt}}}}) {
    Outcome r = testing::runOnTerminal(HOSTFORM_BINARY, args, env);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out, kCreateLine + "\r\nPlan: 1 to create, 0 to change, 0 to delete.\r\n")
        << args.back();
  }
  // An empty NO_COLOR is unset (no-color.org).
  Outcome empty = testing::runOnTerminal(HOSTFORM_BINARY, c.plan(), {{"TERM", "xterm"}, {"NO_COLOR", ""}});
  EXPECT_TRUE(empty.out.starts_with(kGreenCreate)) << empty.out;
}

TEST(Colour, ColorAlwaysForcesItThroughAPipeAndOverNoColor) {
  ColourCase c;
  Outcome r = hostform(c.plan({"--color", "always"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, kGreenCreate + "\nPlan: 1 to create, 0 to change, 0 to delete.\n");
  Outcome json = hostform(c.plan({"--color", "always", "-o", "json"}));
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out.find('\033'), std::string::npos) << "JSON is for programs: never coloured";
  Outcome overNoColor = testing::runOnTerminal(HOSTFORM_BINARY, c.plan({"--color=always"}), {{"NO_COLOR", "1"}});
  EXPECT_TRUE(overNoColor.out.starts_with(kGreenCreate)) << overNoColor.out;
}

TEST(Colour, ContradictoryOrUnknownColourFlagsAreRefused) {
  ColourCase c;
  Outcome both = hostform(c.plan({"--color", "always", "--no-color"}));
  EXPECT_EQ(both.code, 1);
  EXPECT_NE(both.err.find("--color excludes --no-color"), std::string::npos) << both.err;
  Outcome unknown = hostform(c.plan({"--color", "yes"}));
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("--color: yes not in {auto,always,never}"), std::string::npos) << unknown.err;
}

TEST(Cli, WatchRefusesBadFlagsWithOneSentenceBeforeTouchingAnything) {
  testing::TempDir dir;
  const std::string state = dir.path() + "/state";
  const std::string empty = dir.write("empty-token", "\n");
  const std::string secret = dir.write("secret", "s\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--interval", "0s"}, "--interval 0s: the shortest interval is 1s."},
      {{"--path", "/etc/hostform"}, "--path /etc/hostform: give a path inside the repository, not an absolute one."},
      {{"--path", "hosts/../.."}, "--path hosts/../..: \"..\" cannot leave the repository."},
      {{"--path", "hosts/{fqdn}"}, "--path hosts/{fqdn}: the only placeholder is {hostname}."},
      {{"--branch", "a..b"}, "--branch a..b: not a valid branch name."},
      {{"--listen", "9100"}, "--listen 9100: expected HOST:PORT, such as 127.0.0.1:9100."},
      {{"--listen", "127.0.0.1:0", "--once"}, "--listen has nothing to serve with --once, which exits after one cycle."},
      {{"--webhook-secret-file", secret}, "--webhook-secret-file needs --listen, which serves the webhook."},
      {{"--token-env", "HOSTFORM_NO_SUCH_VARIABLE"},
       "--token-env HOSTFORM_NO_SUCH_VARIABLE: the environment variable is not set or empty."},
      {{"--token-file", empty}, "--token-file " + empty + ": the file is empty."},
      {{"--ssh-key", dir.path() + "/no-key"}, "--ssh-key " + dir.path() + "/no-key: cannot read the key file."},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args{"watch", "--repo", dir.path() + "/repo.git", "--state-dir", state};
    args.insert(args.end(), flags.begin(), flags.end());
    Outcome r = hostform(args);
    EXPECT_EQ(r.code, 1) << flags.front();
    EXPECT_EQ(r.err, "error: " + message + "\n");
    EXPECT_EQ(r.out, "");
  }
  Outcome noRepo = hostform({"watch", "--state-dir", state});
  EXPECT_EQ(noRepo.code, 1);
  EXPECT_NE(noRepo.err.find("--repo is required"), std::string::npos) << noRepo.err;
  EXPECT_FALSE(std::filesystem::exists(state));
}

}  // namespace
}  // namespace hostform

namespace hostform {
namespace {

TEST(Cli, PruneWithoutLibvirtdWarnsAndPrunesNothingOfIt) {
  // A bridges-only host has no libvirtd: --prune reads every provider, and the
  // one it cannot read is left alone (deleting less is the safe side). When a
  // manifest declares a VM, the same failure is an error.
  testing::TempDir dir;
  const std::string uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock";
  const std::string bridge = dir.write("br.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfprune0}\nspec: {}\n");
  Outcome r = hostform({"plan", "-f", bridge, "--prune", "--owner", "e2e-prune", "--state-dir", dir.path() + "/s",
                        "--libvirt-uri", uri});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("+ Bridge/hfprune0")) << r.out;
  EXPECT_NE(r.err.find("warning: kvm: cannot read the host's state (cannot connect to libvirt at " + uri), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing it manages is pruned this run"), std::string::npos) << r.err;

  const std::string vm = dir.write("vm.yaml", "apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: hfprune1}\nspec: {memory: 64MiB}\n");
  Outcome needed = hostform({"plan", "-f", vm, "--prune", "--owner", "e2e-prune", "--state-dir", dir.path() + "/s",
                             "--libvirt-uri", uri});
  EXPECT_EQ(needed.code, 1);
  EXPECT_NE(needed.err.find("error: kvm: cannot read the host's state: cannot connect to libvirt at " + uri),
            std::string::npos) << needed.err;
}

}  // namespace
}  // namespace hostform

namespace hostform {
namespace {

/// A saved plan of one bridge no host has (planned read-only), for the tests
/// of `apply FILE`'s refusals, which all come before the host is read.
struct SavedPlanCase {
  testing::TempDir dir;
  const std::string file = dir.write(
      "br.yaml", "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfsaved0}\nspec: {mtu: 9000}\n");
  const std::string state = dir.path() + "/state";
  std::vector<std::string> plan(const std::vector<std::string>& out) {
    std::vector<std::string> args{"plan", "-f", file, "--owner", "e2e-saved", "--state-dir", state};
    args.insert(args.end(), out.begin(), out.end());
    return args;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SavedPlans, DashOutDashDashOutAndDashOutEqualsSaveTheSameFile) {
  SavedPlanCase c;
  std::vector<std::string> texts;
  for (const auto& out : std::vector<std::vector<std::string>>{{"-out", c.dir.path() + "/a.plan"},
                                                               {"--out", c.dir.path() + "/b.plan"},
                                                               {"-out=" + c.dir.path() + "/c.plan"}}) {
    Outcome r = hostform(c.plan(out));
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string saved = out.size() == 2 ? out[1] : out[0].substr(5);
    EXPECT_TRUE(r.out.ends_with("Plan: 1 to create, 0 to change, 0 to delete.\nSaved the plan to " + saved +
                                ": apply it with `hostform apply " + saved + "`.\n"))
        << r.out;
    texts.push_back(slurp(saved));
  }
  EXPECT_EQ(texts[0], texts[1]);
  EXPECT_EQ(texts[0], texts[2]);
  EXPECT_NE(texts[0].find("\"format\": \"hostform-plan\""), std::string::npos) << texts[0];
  EXPECT_NE(texts[0].find("\"version\": 1"), std::string::npos) << texts[0];
  EXPECT_FALSE(std::filesystem::exists(c.state)) << "a plan creates no state directory";

  // With -o json, stdout is the plan alone; the saved line goes to stderr.
  Outcome json = hostform(c.plan({"-o", "json", "-out", c.dir.path() + "/d.plan"}));
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_TRUE(json.out.starts_with("{") && json.out.ends_with("}\n")) << json.out;
  EXPECT_EQ(json.err, "Saved the plan to " + c.dir.path() + "/d.plan: apply it with `hostform apply " +
                          c.dir.path() + "/d.plan`.\n");
}

TEST(SavedPlans, ACorruptForeignOrNewerFileIsOneSentence) {
  SavedPlanCase c;
  const std::string good = c.dir.path() + "/good.plan";
  ASSERT_EQ(hostform(c.plan({"-out", good})).code, 0);
  const std::string text = slurp(good);
  std::string newer = text;
  newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 7");
  std::string damaged = text;
  damaged.replace(damaged.find("\"options\""), 9, "\"opts\"");
  const std::vector<std::pair<std::string, std::string>> cases{
      {c.dir.write("garbage.plan", "not a plan\n"), " is not a plan saved by `hostform plan -out`."},
      {c.dir.write("truncated.plan", text.substr(0, text.size() / 2)), " is not a plan saved by `hostform plan -out`."},
      {c.dir.write("other.plan", "{\"format\": \"terraform\", \"version\": 1}\n"),
       " is not a plan saved by `hostform plan -out`."},
      {c.dir.write("newer.plan", newer),
       " is a saved plan of format version 7; this hostform reads version 1 only: make the plan again with "
       "`hostform plan -out`."},
      {c.dir.write("damaged.plan", damaged),
       " is a damaged saved plan: make the plan again with `hostform plan -out`."},
  };
  for (const auto& [file, message] : cases) {
    Outcome r = hostform({"apply", file});
    EXPECT_EQ(r.code, 1) << file;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "error: " + file + message + "\n");
  }
  Outcome missing = hostform({"apply", c.dir.path() + "/none.plan"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "error: cannot read the saved plan " + c.dir.path() + "/none.plan.\n");
  EXPECT_FALSE(std::filesystem::exists(c.state)) << "nothing was locked or written";
}

TEST(SavedPlans, ASavedPlanKeepsItsOwnManifestsOptionsAndOwner) {
  SavedPlanCase c;
  const std::string saved = c.dir.path() + "/br.plan";
  ASSERT_EQ(hostform(c.plan({"-out", saved})).code, 0);
  for (const char* flag : {"--prune", "--allow-empty", "--allow-data-loss", "--no-snapshot", "--dry-run"}) {
    Outcome r = hostform({"apply", saved, flag});
    EXPECT_EQ(r.code, 1) << flag;
    EXPECT_EQ(r.err, std::string("error: ") + flag +
                         ": a saved plan is applied with the options it was made with; make a new plan to change "
                         "them.\n");
  }
  Outcome both = hostform({"apply", saved, "-f", c.file});
  EXPECT_EQ(both.code, 1);
  EXPECT_EQ(both.err, "error: a saved plan carries its manifests: give -f PATH or a saved plan FILE, not both.\n");
  Outcome owner = hostform({"apply", saved, "--owner", "someone-else"});
  EXPECT_EQ(owner.code, 1);
  EXPECT_EQ(owner.err, "error: --owner someone-else: the saved plan " + saved +
                           " was made with --owner e2e-saved; apply it with that, or make a new plan.\n");
  Outcome stateDir = hostform({"apply", saved, "--state-dir", c.dir.path() + "/other"});
  EXPECT_EQ(stateDir.code, 1);
  EXPECT_EQ(stateDir.err, "error: --state-dir " + c.dir.path() + "/other: the saved plan " + saved +
                              " was made with --state-dir " + c.state + "; apply it with that, or make a new plan.\n");
  Outcome nothing = hostform({"apply"});
  EXPECT_EQ(nothing.code, 1);
  EXPECT_EQ(nothing.err,
            "error: no manifests given; pass -f FILE or -f DIRECTORY, or a plan saved by `hostform plan -out FILE`.\n");
  Outcome directory = hostform({"apply", c.dir.path()});
  EXPECT_EQ(directory.code, 1);
  EXPECT_EQ(directory.err, "error: unexpected argument " + c.dir.path() +
                               "; manifests are given with -f: hostform apply -f " + c.dir.path() + "\n");
  EXPECT_FALSE(std::filesystem::exists(c.state));
}

}  // namespace
}  // namespace hostform
