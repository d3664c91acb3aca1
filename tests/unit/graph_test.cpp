#include "reconciler/graph.h"

#include <gtest/gtest.h>

namespace hostform {
namespace {

TEST(Graph, TopologicalOrderKeepsInputOrderWhereFree) {
  // 0 needs 2; 1 is free; 2 is free.
  Needs needs{{2}, {}, {}};
  EXPECT_EQ(stableTopoOrder(needs), (std::vector<std::size_t>{1, 2, 0}));
}

TEST(Graph, ChainComesOutInDependencyOrder) {
  Needs needs{{1}, {2}, {3}, {}};
  EXPECT_EQ(stableTopoOrder(needs), (std::vector<std::size_t>{3, 2, 1, 0}));
}

TEST(Graph, FindsNoCycleInADag) {
  Needs needs{{1, 2}, {2}, {}};
  EXPECT_TRUE(findCycles(needs).empty());
}

TEST(Graph, FindsEachCycleOnceFromItsSmallestNode) {
  // 1 -> 3 -> 2 -> 1, and 4 needs itself; 0 hangs off the first cycle.
  Needs needs{{1}, {3}, {1}, {2}, {4}};
  auto cycles = findCycles(needs);
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(cycles[0], (std::vector<std::size_t>{1, 3, 2}));
  EXPECT_EQ(cycles[1], (std::vector<std::size_t>{4}));
  // Nodes on cycles (and what needs them) are left out of the order.
  EXPECT_TRUE(stableTopoOrder(needs).empty());
}

TEST(Graph, HandlesLongChainsWithoutRecursion) {
  const std::size_t n = 200'000;
  Needs needs(n);
  for (std::size_t i = 0; i + 1 < n; ++i) needs[i].push_back(i + 1);
  EXPECT_TRUE(findCycles(needs).empty());
  needs[n - 1].push_back(0);
  ASSERT_EQ(findCycles(needs).size(), 1u);
  EXPECT_EQ(findCycles(needs)[0].size(), n);
}

}  // namespace
}  // namespace hostform
