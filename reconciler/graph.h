#pragma once
/// Dependency graphs over dense indices: `needs[a]` lists the nodes that must
/// come before `a`. Used for manifest cycles and for the order of plan actions.

#include <cstddef>
#include <vector>

namespace hostform {

using Needs = std::vector<std::vector<std::size_t>>;

/// Every cycle (strongly connected component of more than one node, or a node
/// that needs itself), each listed in the order it is walked, smallest index first.
std::vector<std::vector<std::size_t>> findCycles(const Needs& needs);

/// A topological order (needed nodes first) that keeps the input order wherever
/// the dependencies allow it, so plans are stable. Nodes on cycles are left out.
std::vector<std::size_t> stableTopoOrder(const Needs& needs);

}  // namespace hostform
