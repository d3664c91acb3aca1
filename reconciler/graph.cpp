#include "reconciler/graph.h"

#include <algorithm>
#include <functional>
#include <queue>

namespace hostform {

std::vector<std::vector<std::size_t>> findCycles(const Needs& needs) {
  // Tarjan's strongly connected components, iterative so a 10,000-long chain
  // cannot overflow the stack.
  const std::size_t n = needs.size();
  constexpr std::size_t kUnseen = static_cast<std::size_t>(-1);
  std::vector<std::size_t> index(n, kUnseen), low(n, 0);
  std::vector<bool> onStack(n, false);
  std::vector<std::size_t> stack;
  std::vector<std::vector<std::size_t>> cycles;
  std::size_t counter = 0;

  struct Frame {
    std::size_t node;
    std::size_t next;  // position in needs[node]
  };
  for (std::size_t root = 0; root < n; ++root) {
    if (index[root] != kUnseen) continue;
    std::vector<Frame> frames{{root, 0}};
    index[root] = low[root] = counter++;
    stack.push_back(root);
    onStack[root] = true;
    while (!frames.empty()) {
      Frame& f = frames.back();
      if (f.next < needs[f.node].size()) {
        const std::size_t to = needs[f.node][f.next++];
        if (index[to] == kUnseen) {
          index[to] = low[to] = counter++;
          stack.push_back(to);
          onStack[to] = true;
          frames.push_back({to, 0});
        } else if (onStack[to]) {
          low[f.node] = std::min(low[f.node], index[to]);
        }
        continue;
      }
      const std::size_t node = f.node;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().node] = std::min(low[frames.back().node], low[node]);
      if (low[node] != index[node]) continue;
      std::vector<std::size_t> component;
      std::size_t member;
      do {
        member = stack.back();
        stack.pop_back();
        onStack[member] = false;
        component.push_back(member);
      } while (member != node);
      const bool selfLoop = std::find(needs[node].begin(), needs[node].end(), node) != needs[node].end();
      if (component.size() > 1 || selfLoop) {
        // The shortest way round from the smallest node, so the message is stable.
        std::vector<bool> inComponent(n, false);
        for (std::size_t m : component) inComponent[m] = true;
        const std::size_t first = *std::min_element(component.begin(), component.end());
        std::vector<std::size_t> parent(n, kUnseen);
        std::queue<std::size_t> queue;
        queue.push(first);
        parent[first] = first;
        std::size_t last = kUnseen;
        while (!queue.empty() && last == kUnseen) {
          const std::size_t cur = queue.front();
          queue.pop();
          for (std::size_t to : needs[cur]) {
            if (to == first) {
              last = cur;
              break;
            }
            if (inComponent[to] && parent[to] == kUnseen) {
              parent[to] = cur;
              queue.push(to);
            }
          }
        }
        std::vector<std::size_t> walk;
        for (std::size_t at = last; at != first; at = parent[at]) walk.push_back(at);
        walk.push_back(first);
        std::reverse(walk.begin(), walk.end());
        cycles.push_back(std::move(walk));
      }
    }
  }
  std::sort(cycles.begin(), cycles.end());
  return cycles;
}

std::vector<std::size_t> stableTopoOrder(const Needs& needs) {
  const std::size_t n = needs.size();
  std::vector<std::size_t> missing(n, 0);
  std::vector<std::vector<std::size_t>> neededBy(n);
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b : needs[a]) {
      ++missing[a];
      neededBy[b].push_back(a);
    }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t a = 0; a < n; ++a)
    if (missing[a] == 0) ready.push(a);
  std::vector<std::size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const std::size_t a = ready.top();
    ready.pop();
    order.push_back(a);
    for (std::size_t c : neededBy[a])
      if (--missing[c] == 0) ready.push(c);
  }
  return order;
}

}  // namespace hostform
