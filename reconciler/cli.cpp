#include "reconciler/cli.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "reconciler/checkpoint.h"
#include "reconciler/engine.h"
#include "reconciler/log.h"
#include "reconciler/probe.h"
#include "reconciler/restore.h"
#include "reconciler/status.h"
#include "reconciler/module.h"
#include "reconciler/watch/command.h"

namespace hostform {
namespace {

struct GlobalFlags {
  std::string libvirtUri;
  std::string stateDir = "/var/lib/hostform";
  std::string owner = "default";
  std::string logLevel = "warn";
  std::string logFormat = "text";
  std::string color = "auto";
  bool noColor = false;
};

void addGlobalFlags(CLI::App& app, GlobalFlags& g) {
  app.add_option("--libvirt-uri", g.libvirtUri,
                 "libvirt connection URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)");
  app.add_option("--state-dir", g.stateDir, "lock, ownership ledger, watch state, image cache, volume sources and console logs")
      ->capture_default_str();
  app.add_option("--owner", g.owner, "owner name written into ownership marks")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        for (char c : v)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
            return "an owner name uses letters, digits, '-', '_' and '.' only (it goes into LVM tags)";
        return v.empty() || v.size() > 64 ? "an owner name has 1 to 64 characters" : "";
      });
  app.add_option("--log-level", g.logLevel, "trace|debug|info|warn|error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--log-format", g.logFormat, "text|json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  auto* color = app.add_option("--color", g.color,
                               "colour the plan: auto (when stdout is a terminal and NO_COLOR is unset or empty), "
                               "always, never")
                    ->capture_default_str()
                    ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--no-color", g.noColor, "never colour the plan; the same as --color never")->excludes(color);
}

void addFiles(CLI::App& cmd, std::vector<std::string>& files) {
  cmd.add_option("-f,--filename", files, "manifest file or directory (repeatable)")->required();
}

CLI::Validator durationValidator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        auto d = parseDuration(v);
        return d ? "" : d.error().message;
      },
      "DURATION");
}

/// `hostform plan host/`: manifests come after -f. The message that says so,
/// or empty when the command line has no stray argument of a command with -f.
/// The registered kinds' names, as `export --kind` takes them (and its help
/// lists them, which is where the bash completion reads them from).
std::vector<std::string> kindNames() {
  std::vector<std::string> names;
  for (Kind k : allKinds()) names.emplace_back(k.name());
  return names;
}

/// Whether apply's positional argument names manifests rather than a saved
/// plan: a directory, or a .yaml/.yml file.
bool looksLikeManifests(const std::string& arg) {
  std::error_code ec;
  return arg.ends_with(".yaml") || arg.ends_with(".yml") || std::filesystem::is_directory(arg, ec);
}

std::string positionalManifestHint(CLI::App& app, const std::string& planArgument = {}) {
  CLI::App* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
  if (!sub || !sub->get_option_no_throw("-f")) return {};
  std::vector<std::string> stray;
  if (!planArgument.empty() && looksLikeManifests(planArgument)) stray.push_back(planArgument);
  for (const std::string& r : app.remaining()) stray.push_back(r);
  for (const std::string& r : sub->remaining()) stray.push_back(r);
  std::string paths, shown;
  for (const std::string& arg : stray) {
    if (arg.starts_with("-")) return {};  // an unknown flag: CLI11's message says it best
    paths += " -f " + arg;
    shown += (shown.empty() ? "" : " ") + arg;
  }
  if (stray.empty()) return {};
  return "unexpected argument " + shown + "; manifests are given with -f: hostform " + sub->get_name() + paths;
}

}  // namespace

int runCli(int argc, const char* const* argv) {
  CLI::App app{"hostform: declarative reconciler for KVM hosts (bridges, LVM, libvirt pools, volumes, VMs)",
               "hostform"};
  app.require_subcommand(0, 1);  // none: the help, below
  app.fallthrough();
  app.set_version_flag("--version", std::string("hostform ") + HOSTFORM_VERSION, "print the version and exit");
  GlobalFlags g;
  addGlobalFlags(app, g);

  RunOptions run;
  std::string output = "text";
  bool detailed = false, prune = false, allowLoss = false, dryRun = false, allowEmpty = false, noSnapshot = false;
  std::string restoreName;
  std::string lockTimeout = "0s";
  std::vector<std::string> kinds;

  auto* validate = app.add_subcommand("validate", "check manifests against the schemas and each other; never touches the host");
  addFiles(*validate, run.files);

  auto* plan = app.add_subcommand("plan", "show what apply would change");
  addFiles(*plan, run.files);
  plan->add_option("-o,--output", output, "text|json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  plan->add_flag("--detailed-exitcode", detailed, "exit 2 when the plan has changes, orphans included");
  plan->add_flag("--prune", prune, "delete owned resources that are no longer declared");
  plan->add_flag("--allow-empty", allowEmpty, "with --prune, accept manifests that declare nothing (prunes everything)");
  plan->add_flag("--allow-data-loss", allowLoss, "plan as apply --allow-data-loss would");
  plan->add_flag("--no-snapshot", noSnapshot, "plan as apply --no-snapshot would");

  auto* apply = app.add_subcommand("apply", "change the host to match the manifests");
  apply->add_option("-f,--filename", run.files, "manifest file or directory (repeatable); or give a saved plan");
  apply->add_flag("--dry-run", dryRun, "print exactly what plan prints and change nothing");
  apply->add_flag("--prune", prune, "delete owned resources that are no longer declared");
  apply->add_flag("--allow-empty", allowEmpty, "with --prune, accept manifests that declare nothing (prunes everything)");
  apply->add_flag("--allow-data-loss", allowLoss, "allow shrinking and deleting objects that hold data");
  apply->add_flag("--no-snapshot", noSnapshot,
                  "with --allow-data-loss, take no snapshot before a loss (by default one is taken where the "
                  "backend can)");
  apply->add_option("-j,--jobs", run.jobs, "independent actions run in parallel (default: number of cores)")
      ->check(CLI::Range(1, 256));
  apply->add_option("--lock-timeout", lockTimeout, "wait this long for another apply to finish (default: fail at once)")
      ->check(durationValidator());

  std::string confirmTimeout, probeTimeout = "5s";
  apply->add_option("--confirm-timeout", confirmTimeout,
                    "after a network change, wait this long for `hostform confirm`, then roll the change back")
      ->check(durationValidator());
  apply->add_option("--probe", run.probe,
                    "after a network change, ping [INTERFACE/]ADDRESS; no answer rolls the change back")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto t = parseProbe(v);
            return t ? "" : t.error().message;
          },
          "[INTERFACE/]ADDRESS"));
  apply->add_option("--probe-timeout", probeTimeout, "how long --probe waits for an answer")
      ->capture_default_str()
      ->check(durationValidator());

  // Reviewed plans (docs/spec.md §2 "Saved plans"): plan -out FILE, apply FILE, --auto-approve.
  std::string planOut, savedPlanFile;
  bool autoApprove = false;
  plan->add_option("--out", planOut,
                   "save the plan, its manifests, options and the observed host to FILE for `apply FILE` "
                   "(-out FILE too)");
  apply->add_option("PLAN", savedPlanFile,
                    "a plan saved by `plan -out`: apply exactly it, or refuse if the host changed since");
  apply->add_flag("--auto-approve", autoApprove, "on a terminal, apply without asking for confirmation");

  auto* confirm = app.add_subcommand("confirm", "keep the network changes of an apply waiting for confirmation");
  auto* boot = app.add_subcommand("boot", "at boot: roll back a stale checkpoint, then re-create the network "
                                          "kept from the last applied manifests (hostform-boot.service)");
  boot->add_option("--lock-timeout", lockTimeout, "wait this long for another apply to finish (default: fail at once)")
      ->check(durationValidator());

  auto* exportCmd = app.add_subcommand("export", "print the host's live state as manifests");
  exportCmd->add_option("--kind", kinds, "only this kind (repeatable)")
      ->check(CLI::IsMember(kindNames()));

  watch::WatchFlags wf;
  auto* watchCmd = app.add_subcommand("watch", "apply a git repository's manifests continuously (GitOps)");
  watchCmd->add_option("--repo", wf.repo, "repository: local path, file://, https:// or ssh:// URL")->required();
  watchCmd->add_option("--branch", wf.branch, "branch to follow")->capture_default_str();
  watchCmd->add_option("--path", wf.path, "manifests directory (or file) in the repository; {hostname} is replaced")
      ->capture_default_str();
  watchCmd->add_option("--interval", wf.interval, "fetch and re-plan this often (with ±10% jitter)")
      ->capture_default_str()
      ->check(durationValidator());
  watchCmd->add_flag("--prune", prune, "delete owned resources that are no longer declared");
  watchCmd->add_flag("--allow-empty", allowEmpty,
                     "with --prune, accept a commit that declares nothing (prunes everything)");
  watchCmd->add_flag("--dry-run", dryRun, "plan and report, never change the host");
  watchCmd->add_flag("--allow-data-loss", allowLoss, "allow shrinking and deleting objects that hold data");
  watchCmd->add_flag("--no-snapshot", noSnapshot,
                     "with --allow-data-loss, take no snapshot before a loss (by default one is taken where the "
                     "backend can)");
  watchCmd->add_flag("--once", wf.once, "run one cycle and exit with apply's exit codes");
  watchCmd->add_option("--listen", wf.listen, "serve /healthz, /metrics and POST /hooks/git on HOST:PORT");
  watchCmd->add_option("--ssh-key", wf.sshKey, "private key file for ssh:// (default: ssh-agent)");
  auto* tokenEnv =
      watchCmd->add_option("--token-env", wf.tokenEnv, "environment variable holding an HTTPS access token");
  auto* tokenFile = watchCmd->add_option("--token-file", wf.tokenFile, "file holding an HTTPS access token");
  tokenEnv->excludes(tokenFile);
  watchCmd->add_option("--webhook-secret-file", wf.webhookSecretFile,
                       "file holding the shared secret POST /hooks/git must be signed with");
  // Signed commits.
  watchCmd->add_flag("--verify-signatures", wf.verifySignatures,
                     "apply only commits signed by a trusted key (--allowed-signers and/or --openpgp-keys)");
  watchCmd->add_option("--allowed-signers", wf.allowedSigners,
                       "SSH signing keys trusted, in git's allowed_signers format (gpg.ssh.allowedSignersFile)");
  watchCmd->add_option("--openpgp-keys", wf.openpgpKeys, "OpenPGP public keys trusted (ASCII-armored, gpg --armor --export)");
  // Issue 17: notifications.
  watchCmd->add_option("--notify", wf.notify,
                       "POST a signed JSON event (applied, failed, rejected, drift-corrected) to this http(s) URL "
                       "(repeatable)");
  watchCmd->add_option("--notify-secret-file", wf.notifySecretFile,
                       "file holding the secret that signs notifications (X-Hostform-Signature-256)");
  watchCmd->add_option("-j,--jobs", run.jobs, "independent actions run in parallel (default: number of cores)")
      ->check(CLI::Range(1, 256));
  watchCmd->add_option("--lock-timeout", lockTimeout,
                       "wait this long for a running apply before skipping a cycle (default: skip at once)")
      ->check(durationValidator());
  // Events (docs/watch.md Events).
  watchCmd->add_flag("--no-events", wf.noEvents,
                     "correct drift at the interval only; do not listen to netlink, libvirt and lvm for changes");
  watchCmd->add_option("--lvm-poll", wf.lvmPoll,
                       "how often to poll lvm for changes when LVM kinds are declared (default: 2s)")
      ->check(durationValidator());

  // Issue 17: suspend and resume a watcher (the flag file <state-dir>/suspended).
  std::string suspendReason;
  auto* suspendCmd = app.add_subcommand("suspend", "stop watchers on the state directory from applying and "
                                                   "correcting drift (they still fetch and plan) until resume");
  suspendCmd->add_option("--reason", suspendReason, "why, for the state file, the logs and the next operator");
  auto* resumeCmd = app.add_subcommand("resume", "let watchers on the state directory apply again");

  auto* status = app.add_subcommand("status", "show the live state of each declared resource");
  addFiles(*status, run.files);
  status->add_option("-o,--output", output, "text|json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));

  auto* restore = app.add_subcommand("restore", "put a snapshot's source back to the snapshot (shows the plan; "
                                                "needs --allow-data-loss)");
  restore->add_option("NAME", restoreName, "the Snapshot's name")->required();
  restore->add_option("-f,--filename", run.files,
                      "manifest file or directory declaring the snapshot (repeatable; optional: live snapshots are "
                      "found without it)");
  restore->add_flag("--allow-data-loss", allowLoss, "accept discarding everything written since the snapshot");
  restore->add_flag("--dry-run", dryRun, "print the restore plan and change nothing");
  restore->add_option("--lock-timeout", lockTimeout, "wait this long for another apply to finish (default: fail at once)")
      ->check(durationValidator());

  auto* version = app.add_subcommand("version", "print the version and the providers built in");

  for (CLI::App* sub :
       {validate, plan, apply, confirm, boot, exportCmd, watchCmd, suspendCmd, resumeCmd, status, restore, version})
    sub->fallthrough();

  // Commands of one provider's own (console): the CLI knows them only through the registry.
  std::vector<std::pair<CLI::App*, const ProviderCommand*>> commands;
  std::vector<std::string> commandArguments(providerCommands().size());
  for (std::size_t i = 0; i < providerCommands().size(); ++i) {
    const ProviderCommand& c = providerCommands()[i];
    auto* sub = app.add_subcommand(c.name, c.description);
    sub->add_option(c.argument, commandArguments[i], c.argumentHelp)->required();
    sub->fallthrough();
    commands.emplace_back(sub, &c);
  }

  // Terraform spells it `plan -out FILE`; CLI11 would read that as -o ut.
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::string& a : args)
    if (a == "-out" || a.starts_with("-out=")) a.insert(0, "-");
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (auto hint = positionalManifestHint(app, savedPlanFile); !hint.empty()) {
      std::cerr << "error: " << hint << "\n";
      return kExitError;
    }
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return kExitOk;
  }

  // A watcher is a daemon: its log is its report, so it says what it does
  // unless told to be quieter.
  if (*watchCmd && app.get_option("--log-level")->count() == 0) g.logLevel = "info";
  if (auto logging = setupLogging(g.logLevel, g.logFormat == "json" ? LogFormat::Json : LogFormat::Text); !logging) {
    std::cerr << "error: " << logging.error().message << "\n";
    return kExitError;
  }
  // apply FILE: the manifests, options, owner and state directory are the saved plan's.
  std::shared_ptr<const SavedPlan> savedPlan;
  if (*apply && !savedPlanFile.empty()) {
    auto refuse = [](const std::string& message) {
      std::cerr << "error: " << message << "\n";
      return kExitError;
    };
    if (auto hint = positionalManifestHint(app, savedPlanFile); !hint.empty()) return refuse(hint);
    if (!run.files.empty())
      return refuse("a saved plan carries its manifests: give -f PATH or a saved plan FILE, not both.");
    for (const char* flag : {"--dry-run", "--prune", "--allow-empty", "--allow-data-loss", "--no-snapshot"})
      if (apply->get_option(flag)->count() > 0)
        return refuse(std::string(flag) + ": a saved plan is applied with the options it was made with; make a "
                                          "new plan to change them.");
    auto read = readSavedPlan(savedPlanFile);
    if (!read) return refuse(read.error().message);
    const SavedOptions& o = read->options;
    auto sameDir = [](const std::string& a, const std::string& b) {
      std::error_code ea, eb;
      return std::filesystem::weakly_canonical(a, ea) == std::filesystem::weakly_canonical(b, eb);
    };
    struct Mismatch {
      const char* flag;
      std::string given, saved;
      bool differs;
    };
    const Mismatch mismatches[] = {
        {"--owner", g.owner, o.owner, g.owner != o.owner},
        {"--state-dir", g.stateDir, o.stateDir, !sameDir(g.stateDir, o.stateDir)},
        {"--libvirt-uri", g.libvirtUri, o.libvirtUri.empty() ? "(none)" : o.libvirtUri, g.libvirtUri != o.libvirtUri}};
    for (const Mismatch& m : mismatches)
      if (m.differs && app.get_option(m.flag)->count() > 0)
        return refuse(std::string(m.flag) + " " + m.given + ": the saved plan " + savedPlanFile + " was made with " +
                      m.flag + " " + m.saved + "; apply it with that, or make a new plan.");
    g.owner = o.owner;
    g.stateDir = o.stateDir;
    g.libvirtUri = o.libvirtUri;
    prune = o.prune;
    allowEmpty = o.allowEmpty;
    allowLoss = o.allowDataLoss;
    noSnapshot = !o.snapshotBeforeLoss;
    run.files = o.files;
    savedPlan = std::make_shared<const SavedPlan>(std::move(*read));
  } else if (*apply && run.files.empty()) {
    std::cerr << "error: no manifests given; pass -f FILE or -f DIRECTORY, or a plan saved by `hostform plan "
                 "-out FILE`.\n";
    return kExitError;
  }
  run.planOut = planOut;
  run.libvirtUri = g.libvirtUri;
  run.savedPlan = savedPlan;
  run.savedPlanFile = savedPlanFile;
  // Asked on a terminal only: never in a script, a unit or a pipe (docs/spec.md §2).
  if (*apply && !savedPlan && !autoApprove && !dryRun && isatty(STDIN_FILENO))
    run.approve = [] {
      std::cerr << "Do you want to perform these actions? Only 'yes' will be accepted: " << std::flush;
      std::string answer;
      if (!std::getline(std::cin, answer)) {
        std::cerr << "\n";
        return false;
      }
      while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) answer.pop_back();
      return answer == "yes";
    };

  run.owner = g.owner;
  run.stateDir = g.stateDir;
  run.output = output == "json" ? OutputFormat::Json : OutputFormat::Text;
  run.detailedExitCode = detailed ? DetailedExitCode::Yes : DetailedExitCode::No;
  run.prune = prune ? Prune::Yes : Prune::No;
  run.dataLoss = allowLoss ? DataLoss::Allow : DataLoss::Refuse;
  run.snapshotBeforeLoss = !noSnapshot;
  run.dryRun = dryRun ? DryRun::Yes : DryRun::No;
  run.allowEmpty = allowEmpty ? AllowEmpty::Yes : AllowEmpty::No;
  run.lockTimeout = *parseDuration(lockTimeout);
  if (!confirmTimeout.empty()) {
    run.confirmTimeout = *parseDuration(confirmTimeout);
    if (*run.confirmTimeout < std::chrono::seconds(1)) {
      std::cerr << "error: --confirm-timeout " << confirmTimeout << ": the shortest confirm window is 1s.\n";
      return kExitError;
    }
  }
  run.probeTimeout = *parseDuration(probeTimeout);
  if (run.probeTimeout < std::chrono::milliseconds(200)) {
    std::cerr << "error: --probe-timeout " << probeTimeout << ": the shortest probe timeout is 200ms.\n";
    return kExitError;
  }

  const ColorMode colorMode = g.noColor ? ColorMode::Never : *parseColorMode(g.color);
  const char* term = std::getenv("TERM");
  const bool dumb = term && std::string_view(term) == "dumb";  // no cursor movement there either
  Console console{std::cout, std::cerr,
                  chooseColor(colorMode, isatty(STDOUT_FILENO) ? Terminal::Yes : Terminal::No,
                              std::getenv("NO_COLOR"), term),
                  isatty(STDERR_FILENO) && !dumb ? Terminal::Yes : Terminal::No, terminalColumns(STDERR_FILENO)};
  ProviderOptions providerOptions{g.libvirtUri, g.owner, g.stateDir};

  try {
    if (*validate) return runValidate(run, console);
    if (*version) {
      std::cout << "hostform " << HOSTFORM_VERSION << "\n";
      if (providerFactories().empty()) std::cout << "providers: none built in\n";
      for (const ProviderFactory& f : providerFactories()) {
        std::cout << "provider " << f.name << ":";
        for (Kind k : f.kinds) std::cout << " " << kindName(k);
        std::cout << "\n";
      }
      return kExitOk;
    }
    if (*watchCmd) {
      auto runWatch = moduleFunction<watch::WatchCommand>("watch", "watch");
      if (!runWatch) {
        std::cerr << "error: " << runWatch.error().message << "\n";
        return kExitError;
      }
      return (*runWatch)(wf, run, providerOptions, console);
    }
    if (*suspendCmd || *resumeCmd) {
      auto command = moduleFunction<watch::SuspendCommand>("watch", *suspendCmd ? "suspend" : "resume");
      if (!command) {
        std::cerr << "error: " << command.error().message << "\n";
        return kExitError;
      }
      auto said = (*command)(run.stateDir, suspendReason);
      if (!said) {
        std::cerr << "error: " << said.error().message << "\n";
        return kExitError;
      }
      std::cout << *said << "\n";
      return kExitOk;
    }
    if (*confirm) return runConfirm(run.stateDir, console);
    ProviderSet providers(providerOptions);
    if (*boot) return runBoot(run, providers, console);
    if (*plan) return runPlan(run, providers, console);
    if (*apply) return runApply(run, providers, console);
    if (*status) return runStatus(run, providers, console);
    if (*restore) return runRestore(RestoreOptions{restoreName, run}, providers, console);
    for (std::size_t i = 0; i < commands.size(); ++i)
      if (*commands[i].first) return commands[i].second->run(providerOptions, commandArguments[i]);
    if (*exportCmd) {
      std::vector<Kind> wanted;
      for (const auto& k : kinds) wanted.push_back(*parseKind(k));
      return runExport(wanted, providers, console);
    }
  } catch (const std::exception& e) {
    // A bug, not a user error; still a clean message and exit code, never a crash.
    std::cerr << "error: internal error: " << e.what() << "\n";
    return kExitError;
  }
  return kExitError;
}

}  // namespace hostform
