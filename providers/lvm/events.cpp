#include "providers/lvm/events.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <sstream>

namespace hostform::lvm {
namespace {

class SeqnoPoll final : public EventSource {
 public:
  SeqnoPoll(int timer, std::unique_ptr<Commands> commands, std::chrono::milliseconds timeout, Seqnos first)
      : timer_(timer), commands_(std::move(commands)), timeout_(timeout), last_(std::move(first)) {}
  ~SeqnoPoll() override { ::close(timer_); }

  std::string_view name() const override { return "lvm"; }
  int fd() const override { return timer_; }

  Result<std::size_t> drain() override {
    std::uint64_t expirations = 0;
    if (::read(timer_, &expirations, sizeof expirations) < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      return fail(std::string("cannot read the lvm poll timer: ") + std::strerror(errno) + ".");
    }
    auto now = read(*commands_, timeout_);
    if (!now) return hostform::unexpected(now.error());
    const std::size_t changes = seqnoChanges(last_, *now);
    last_ = std::move(*now);
    return changes;
  }

  static Result<Seqnos> read(Commands& commands, std::chrono::milliseconds timeout) {
    auto out = runChecked(commands, seqnoCommand(), timeout);
    if (!out) return hostform::unexpected(out.error());
    return parseSeqnos(*out);
  }

 private:
  int timer_;
  std::unique_ptr<Commands> commands_;
  std::chrono::milliseconds timeout_;
  Seqnos last_;
};

}  // namespace

std::vector<std::string> seqnoCommand() {
  return {"lvm", "vgs", "--noheadings", "--nosuffix", "--separator", " ", "-o", "vg_name,vg_seqno"};
}

Result<Seqnos> parseSeqnos(std::string_view text) {
  Seqnos out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string name, seqno, extra;
    if (!(words >> name)) continue;  // blank line
    unsigned long long value = 0;
    const bool number = static_cast<bool>(words >> seqno) &&
                        std::from_chars(seqno.data(), seqno.data() + seqno.size(), value).ec == std::errc() &&
                        std::to_string(value) == seqno;
    if (!number || (words >> extra)) return fail("cannot read lvm's VG sequence numbers from the line \"" + line + "\".");
    out[name] = value;
  }
  return out;
}

std::size_t seqnoChanges(const Seqnos& before, const Seqnos& after) {
  std::size_t changes = 0;
  for (const auto& [vg, seqno] : after) {
    auto it = before.find(vg);
    if (it == before.end() || it->second != seqno) ++changes;
  }
  for (const auto& [vg, seqno] : before)
    if (!after.contains(vg)) ++changes;
  return changes;
}

Result<std::unique_ptr<EventSource>> openSeqnoPoll(std::unique_ptr<Commands> commands,
                                                   std::chrono::milliseconds interval,
                                                   std::chrono::milliseconds timeout) {
  auto first = SeqnoPoll::read(*commands, timeout);
  if (!first) return hostform::unexpected(first.error());
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) return fail(std::string("cannot create the lvm poll timer: ") + std::strerror(errno) + ".");
  auto source = std::make_unique<SeqnoPoll>(timer, std::move(commands), timeout, std::move(*first));
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  itimerspec spec{};
  spec.it_interval.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_interval.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  spec.it_value = spec.it_interval;
  if (timerfd_settime(timer, 0, &spec, nullptr) < 0)
    return fail(std::string("cannot start the lvm poll timer: ") + std::strerror(errno) + ".");
  return std::unique_ptr<EventSource>(std::move(source));
}

}  // namespace hostform::lvm
