#include "reconciler/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "reconciler/engine.h"
#include "reconciler/log.h"

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
  app.add_option("--state-dir", g.stateDir, "lock, ownership ledger and watch state")
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

}  // namespace

int runCli(int argc, const char* const* argv) {
  CLI::App app{"hostform: declarative reconciler for KVM hosts (bridges, LVM, libvirt pools, volumes, VMs)",
               "hostform"};
  app.require_subcommand(1);
  app.fallthrough();
  GlobalFlags g;
  addGlobalFlags(app, g);

  RunOptions run;
  std::string output = "text";
  bool detailed = false, prune = false, allowLoss = false, dryRun = false;
  std::string lockTimeout = "0s";
  std::vector<std::string> kinds;

  auto* validate = app.add_subcommand("validate", "check manifests against the schemas and each other; never touches the host");
  addFiles(*validate, run.files);

  auto* plan = app.add_subcommand("plan", "show what apply would change");
  addFiles(*plan, run.files);
  plan->add_option("-o,--output", output, "text|json")->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  plan->add_flag("--detailed-exitcode", detailed, "exit 2 when the plan has changes, orphans included");
  plan->add_flag("--prune", prune, "delete owned resources that are no longer declared");
  plan->add_flag("--allow-data-loss", allowLoss, "plan as apply --allow-data-loss would");

  auto* apply = app.add_subcommand("apply", "change the host to match the manifests");
  addFiles(*apply, run.files);
  apply->add_flag("--dry-run", dryRun, "print exactly what plan prints and change nothing");
  apply->add_flag("--prune", prune, "delete owned resources that are no longer declared");
  apply->add_flag("--allow-data-loss", allowLoss, "allow shrinking and deleting objects that hold data");
  apply->add_option("-j,--jobs", run.jobs, "independent actions run in parallel (default: number of cores)")
      ->check(CLI::Range(1, 256));
  apply->add_option("--lock-timeout", lockTimeout, "wait this long for another apply to finish (default: fail at once)")
      ->check(durationValidator());

  auto* exportCmd = app.add_subcommand("export", "print the host's live state as manifests");
  exportCmd->add_option("--kind", kinds, "only this kind (repeatable)")
      ->check(CLI::IsMember({"Bridge", "VolumeGroup", "LogicalVolume", "StoragePool", "Volume", "VirtualMachine"}));

  auto* version = app.add_subcommand("version", "print the version and the providers built in");

  for (CLI::App* sub : {validate, plan, apply, exportCmd, version}) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }

  if (auto logging = setupLogging(g.logLevel, g.logFormat == "json" ? LogFormat::Json : LogFormat::Text); !logging) {
    std::cerr << "error: " << logging.error().message << "\n";
    return kExitError;
  }
  run.owner = g.owner;
  run.stateDir = g.stateDir;
  run.output = output == "json" ? OutputFormat::Json : OutputFormat::Text;
  run.detailedExitCode = detailed ? DetailedExitCode::Yes : DetailedExitCode::No;
  run.prune = prune ? Prune::Yes : Prune::No;
  run.dataLoss = allowLoss ? DataLoss::Allow : DataLoss::Refuse;
  run.dryRun = dryRun ? DryRun::Yes : DryRun::No;
  run.lockTimeout = *parseDuration(lockTimeout);

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
    ProviderSet providers(providerOptions);
    if (*plan) return runPlan(run, providers, console);
    if (*apply) return runApply(run, providers, console);
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
