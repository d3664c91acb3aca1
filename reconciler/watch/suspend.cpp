#include "reconciler/watch/suspend.h"

#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "reconciler/atomic_file.h"
#include "reconciler/text.h"
#include "reconciler/watch/watch_state.h"

namespace hostform::watch {
namespace {

using nlohmann::json;

/// A hand-written flag is read this far: it is a note, not a document.
constexpr std::size_t kMaxRead = 64 * 1024;
/// A reason is one line; longer ones are cut here.
constexpr std::size_t kMaxReason = 500;

std::string stringAt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The first line, without surrounding blanks, at most kMaxReason bytes.
std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!line.empty() && blank(line.back())) line.pop_back();
  std::size_t start = 0;
  while (start < line.size() && blank(line[start])) ++start;
  return line.substr(start, kMaxReason);
}

/// Who asks: the user behind sudo when there is one, else the real user.
std::string whoAmI() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid " + std::to_string(::getuid());
}

std::string describe(const Suspension& s) {
  std::string text = "since " + s.at;
  if (!s.who.empty()) text += " by " + s.who;
  if (!s.reason.empty()) text += " (" + s.reason + ")";
  return text;
}

}  // namespace

std::optional<Suspension> readSuspension(const std::filesystem::path& stateDir) {
  const std::filesystem::path file = stateDir / kSuspendFlag;
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) return std::nullopt;  // absent (or unreachable: nothing says suspended)
  Suspension s;
  s.at = rfc3339(st.st_mtim.tv_sec);
  std::ifstream in(file, std::ios::binary);
  std::string text(kMaxRead, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(in ? text.size() : static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  const json j = json::parse(text, nullptr, false);
  if (j.is_object()) {
    if (std::string at = stringAt(j, "at"); !at.empty()) s.at = at;
    s.reason = firstLine(stringAt(j, "reason"));
    s.who = firstLine(stringAt(j, "who"));
  } else {
    s.reason = firstLine(text);
  }
  return s;
}

Result<std::string> suspend(const std::filesystem::path& stateDir, const std::string& reason) {
  for (char c : reason)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return fail("--reason: give one line of text, without control characters.");
  if (reason.size() > kMaxReason)
    return fail("--reason: at most " + std::to_string(kMaxReason) + " bytes, please.");
  if (auto existing = readSuspension(stateDir))
    return "Already suspended " + describe(*existing) + "; nothing changed.";
  if (auto made = makeStateDirectory(stateDir); !made) return hostform::unexpected(made.error());
  Suspension s{nowRfc3339(), reason, whoAmI()};
  const nlohmann::ordered_json flag = {{"at", s.at}, {"reason", s.reason}, {"who", s.who}};
  if (auto written = writeFileAtomically(stateDir / kSuspendFlag, flag.dump() + "\n", "the suspend flag"); !written)
    return hostform::unexpected(written.error());
  return "Suspended: watchers on " + stateDir.string() +
         " fetch and plan but change nothing until `hostform resume`" + (reason.empty() ? "" : " (" + reason + ")") +
         ".";
}

Result<std::string> resume(const std::filesystem::path& stateDir) {
  const std::filesystem::path file = stateDir / kSuspendFlag;
  const auto existing = readSuspension(stateDir);
  if (!existing) return "Not suspended; nothing changed.";
  if (::unlink(file.c_str()) != 0 && errno != ENOENT)
    return fail("cannot delete the suspend flag " + file.string() + ": " +
                std::error_code(errno, std::generic_category()).message() + ".");
  return "Resumed: watchers on " + stateDir.string() + " apply again from their next cycle (suspended " +
         describe(*existing) + ").";
}

FlagWatcher::FlagWatcher(const std::filesystem::path& stateDir, std::function<void()> changed)
    : changed_(std::move(changed)),
      inotify_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!inotify_ || !stop_ ||
      ::inotify_add_watch(inotify_.get(), stateDir.c_str(),
                          IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB) < 0) {
    spdlog::warn("cannot watch {} for the suspend flag ({}); a suspend or resume takes effect at the next interval",
                 stateDir.string(), std::strerror(errno));
    return;
  }
  thread_ = std::thread([this] { run(); });
}

FlagWatcher::~FlagWatcher() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
}

void FlagWatcher::run() {
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    bool flag = false, gone = false;
    for (;;) {
      const ssize_t n = ::read(inotify_.get(), buffer, sizeof buffer);
      if (n <= 0) break;
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->len > 0 && std::strcmp(event->name, kSuspendFlag) == 0) flag = true;
        if (event->mask & IN_IGNORED) gone = true;
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    if (flag) changed_();
    if (gone) {
      spdlog::warn("the state directory is no longer watched for the suspend flag; a suspend or resume takes effect "
                   "at the next interval");
      return;
    }
  }
}

}  // namespace hostform::watch
