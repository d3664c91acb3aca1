#pragma once
/// What the watch tests (watch_test.cpp, signed_commits_test.cpp) both need:
/// waiting for a condition, and a bridge's MTU in the test's namespace.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "tests/integration/netlink/netns.h"

namespace hostform::watchtest {

inline constexpr std::chrono::seconds kDeadline{60};

/// Polls `condition` until it holds or `limit` passes.
inline bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit = kDeadline) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

/// The link's MTU; nullopt when there is no such link.
inline std::optional<int> mtuOf(const std::string& name) {
  auto l = nltest::link(name);
  if (!l) return std::nullopt;
  return (*l)["mtu"].get<int>();
}

}  // namespace hostform::watchtest
