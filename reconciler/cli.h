#pragma once
/// The command line (docs/spec.md §2): flags into RunOptions, then the engine.

namespace hostform {

/// Parses argv, runs the command, returns the process exit code. Never throws.
int runCli(int argc, const char* const* argv);

}  // namespace hostform
