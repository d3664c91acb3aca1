#pragma once
/// Replacing a small state file so that a crash at any point leaves either the
/// old contents or the new ones, never a mix or an empty file.

#include <filesystem>
#include <string_view>

#include "reconciler/result.h"

namespace hostform {

/// The state directory (--state-dir), created 0700 when missing: it holds the
/// ownership ledger, the watch state and a clone that may be private. Files in
/// it are created 0600.
Result<void> makeStateDirectory(const std::filesystem::path& dir);

/// Writes `text` to `<file>.tmp` (mode 0600), fsyncs it, renames it over `file` and fsyncs
/// the directory. `what` names the file in errors ("the ownership ledger"):
///   "cannot write <what> <file> (<step>): <reason>."
Result<void> writeFileAtomically(const std::filesystem::path& file, std::string_view text, std::string_view what);

}  // namespace hostform
