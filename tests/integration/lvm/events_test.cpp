// The lvm "event source": VG metadata sequence numbers polled through the
// provider's Commands seam (a scripted lvm here), compared reading to reading.

#include <poll.h>

#include <deque>

#include <gtest/gtest.h>

#include "providers/lvm/events.h"

namespace hostform::lvm {
namespace {

/// lvm answering `vgs` with one scripted output after another (the last one repeats).
class ScriptedVgs final : public Commands {
 public:
  explicit ScriptedVgs(std::deque<std::string> outputs) : outputs_(std::move(outputs)) {}
  Result<CommandOutput> run(const std::vector<std::string>& argv, std::chrono::milliseconds) override {
    EXPECT_EQ(argv, seqnoCommand());
    CommandOutput out;
    out.exitCode = 0;
    out.out = outputs_.front();
    if (outputs_.size() > 1) outputs_.pop_front();
    return out;
  }

 private:
  std::deque<std::string> outputs_;
};

TEST(LvmEvents, TheCommandReadsOnlyNamesAndSequenceNumbers) {
  EXPECT_EQ(seqnoCommand(), (std::vector<std::string>{"lvm", "vgs", "--noheadings", "--nosuffix", "--separator", " ",
                                                       "-o", "vg_name,vg_seqno"}));
}

TEST(LvmEvents, SequenceNumbersParse) {
  auto seqnos = parseSeqnos("  vg0 12\n  data-vg 3\n\n");
  ASSERT_TRUE(seqnos) << seqnos.error().message;
  EXPECT_EQ(*seqnos, (Seqnos{{"vg0", 12}, {"data-vg", 3}}));
  EXPECT_EQ(parseSeqnos("")->size(), 0u);  // no VG at all
  EXPECT_EQ(parseSeqnos("  vg0 twelve\n").error().message,
            "cannot read lvm's VG sequence numbers from the line \"  vg0 twelve\".");
  EXPECT_FALSE(parseSeqnos("  vg0\n"));
  EXPECT_FALSE(parseSeqnos("  vg0 1 2\n"));
}

TEST(LvmEvents, AChangedAddedOrRemovedGroupIsAChange) {
  const Seqnos before{{"vg0", 12}, {"vg1", 3}};
  EXPECT_EQ(seqnoChanges(before, before), 0u);
  EXPECT_EQ(seqnoChanges(before, {{"vg0", 13}, {"vg1", 3}}), 1u);
  EXPECT_EQ(seqnoChanges(before, {{"vg0", 12}}), 1u);
  EXPECT_EQ(seqnoChanges(before, {{"vg0", 12}, {"vg1", 3}, {"vg2", 1}}), 1u);
  EXPECT_EQ(seqnoChanges({}, {}), 0u);
}

/// Waits (generously) for the source's timer, then drains it.
Result<std::size_t> nextPoll(EventSource& source) {
  pollfd p{source.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10'000), 1) << "the poll timer never fired";
  return source.drain();
}

TEST(LvmEvents, ThePollReportsOnlyWhatChangedSinceTheLastReading) {
  // First reading (at open), then: same, vg0 bumped, same, vg1 removed.
  auto source = openSeqnoPoll(std::make_unique<ScriptedVgs>(std::deque<std::string>{
                                  "  vg0 12\n  vg1 3\n", "  vg0 12\n  vg1 3\n", "  vg0 13\n  vg1 3\n",
                                  "  vg0 13\n  vg1 3\n", "  vg0 13\n"}),
                              std::chrono::milliseconds(100), std::chrono::seconds(5));
  ASSERT_TRUE(source) << source.error().message;
  ASSERT_TRUE(*source);
  EXPECT_EQ((*source)->name(), "lvm");
  std::vector<std::size_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto changes = nextPoll(**source);
    ASSERT_TRUE(changes) << changes.error().message;
    seen.push_back(*changes);
  }
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 0, 1}));
}

TEST(LvmEvents, AFailingLvmIsAnError) {
  class Failing final : public Commands {
   public:
    Result<CommandOutput> run(const std::vector<std::string>&, std::chrono::milliseconds) override {
      CommandOutput out;
      out.exitCode = 5;
      out.err = "  Volume group \"vg0\" not found\n";
      return out;
    }
  };
  auto source = openSeqnoPoll(std::make_unique<Failing>(), std::chrono::milliseconds(100), std::chrono::seconds(5));
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find("Volume group \"vg0\" not found"), std::string::npos) << source.error().message;
}

}  // namespace
}  // namespace hostform::lvm
