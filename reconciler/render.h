#pragma once
/// Plans as people and programs read them (docs/spec.md §2). `apply --dry-run` and
/// `plan` print through the same functions, so they cannot disagree.

#include <string>

#include "reconciler/plan.h"

namespace hostform {

enum class Color { Off, On };

/// One line per action, then the summary line; "No changes. Host matches the
/// manifests." when there is nothing to do.
std::string renderText(const Plan& plan, Color color = Color::Off);

/// {"actions":[...],"external":[...],"summary":{...}}
std::string renderJson(const Plan& plan);

/// "Plan: 1 to create, 2 to change, 1 to delete."
std::string summaryLine(const PlanSummary& s);

}  // namespace hostform
