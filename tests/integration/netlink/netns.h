#pragma once
/// Helpers for tests that run inside the private network namespace main.cpp
/// makes: running hostform and ip without a shell, and reading kernel state
/// back with `ip -j` (an implementation independent of the provider's).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace hostform::nltest {

/// True when the namespace holds nothing but the loopback device.
bool inPrivateNamespace();

using Outcome = testing::ProcessResult;

/// Runs `program` with `args` (argv, no shell), capturing both streams.
Outcome run(const std::string& program, const std::vector<std::string>& args);
Outcome hostform(const std::vector<std::string>& args);
/// Runs ip; a failure fails the current test.
void ip(const std::vector<std::string>& args);

/// A link as `ip -j -d link show` reports it; nullopt when it does not exist.
std::optional<nlohmann::json> link(const std::string& name);
/// Global-scope addresses of a link as "ip/prefix", sorted.
std::vector<std::string> globalAddresses(const std::string& name);
/// The master's name, or empty.
std::string masterOf(const std::string& name);
/// Every link but lo is deleted (the namespace is the test's own).
void deleteAllLinks();
/// A veth pair `name`a / `name`b, both up.
void addVeth(const std::string& name);

}  // namespace hostform::nltest
