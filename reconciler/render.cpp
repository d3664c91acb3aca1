#include "reconciler/render.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace hostform {
namespace {

std::string_view symbol(Op op) {
  switch (op) {
    case Op::Create: return "+";
    case Op::Update: return "~";
    case Op::Replace: return "±";
    case Op::Delete: return "-";
    case Op::Orphan: return "?";
  }
  return " ";
}

std::string_view colorOf(Op op) {
  switch (op) {
    case Op::Create: return "\033[32m";
    case Op::Update: return "\033[33m";
    case Op::Replace: return "\033[35m";
    case Op::Delete: return "\033[31m";
    case Op::Orphan: return "\033[36m";
  }
  return "";
}

std::string_view toString(ChangeClass c) {
  switch (c) {
    case ChangeClass::Live: return "live";
    case ChangeClass::Restart: return "restart";
    case ChangeClass::Replace: return "replace";
  }
  return "?";
}

std::string describeChanges(const Action& a) {
  std::string out;
  for (const FieldChange& c : a.changes) {
    if (!out.empty()) out += ", ";
    out += c.field + " " + c.from.value_or("(none)") + " -> " + c.to.value_or("(none)");
    if (c.cls == ChangeClass::Restart) out += " (restart)";
    if (c.cls == ChangeClass::Replace) out += " (replace)";
  }
  return out;
}

/// "; would destroy 2GiB; a snapshot is taken first: thin snapshot vg0/data-before-…"
std::string lossDetail(const LossDetail& loss) {
  std::string out;
  if (loss.destroys) out += "; would destroy " + formatSize(*loss.destroys);
  if (loss.snapshotFirst) out += "; a snapshot is taken first: " + loss.snapshotFirst->what;
  else if (loss.noSnapshot) out += "; no snapshot is taken: " + *loss.noSnapshot;
  return out;
}

std::string describe(const Action& a, bool allowDataLoss) {
  std::string out;
  switch (a.op) {
    case Op::Create: out = a.changes.empty() ? "create" : "create: " + describeChanges(a); break;
    case Op::Update: out = describeChanges(a); break;
    case Op::Replace: out = "replace: " + describeChanges(a); break;
    case Op::Delete: out = "delete (prune)"; break;
    case Op::Orphan: out = "orphaned (not declared; --prune deletes it)"; break;
  }
  if (a.dataLoss && a.op != Op::Orphan) {
    out += allowDataLoss ? "; loses data: " + *a.dataLoss : "; refused without --allow-data-loss: " + *a.dataLoss;
    out += lossDetail(a.loss);
  }
  return out;
}

}  // namespace

std::string summaryLine(const PlanSummary& s) {
  std::string out = "Plan: " + std::to_string(s.create) + " to create, " + std::to_string(s.update) + " to change, ";
  if (s.replace) out += std::to_string(s.replace) + " to replace, ";
  out += std::to_string(s.remove) + " to delete";
  if (s.orphan) out += ", " + std::to_string(s.orphan) + " orphaned";
  return out + ".";
}

std::string renderText(const Plan& plan, Color color) {
  const PlanSummary summary = plan.summary();
  std::string out;
  std::size_t width = 30;
  for (const Action& a : plan.actions) width = std::max(width, a.id.str().size() + 2);
  for (const ResourceId& id : plan.external) width = std::max(width, id.str().size() + 2);
  auto line = [&](std::string_view sym, std::string_view paint, const std::string& id, const std::string& text) {
    std::string row;
    if (color == Color::On && !paint.empty()) row += paint;
    row += sym;
    row += ' ';
    row += id;
    row.append(width - id.size(), ' ');
    row += text;
    if (color == Color::On && !paint.empty()) row += "\033[0m";
    out += row + "\n";
  };
  // A refused action is what stops the apply: painted as an error, whatever its op.
  constexpr std::string_view kRefused = "\033[1;31m";
  for (const Action& a : plan.actions) {
    const bool refused = a.dataLoss && !plan.allowDataLoss && a.op != Op::Orphan;
    line(symbol(a.op), refused ? kRefused : colorOf(a.op), a.id.str(), describe(a, plan.allowDataLoss));
  }
  for (const ResourceId& id : plan.external) line("=", "", id.str(), "external (referenced, not declared, on the host)");
  out += summary.empty() ? "No changes. Host matches the manifests.\n" : summaryLine(summary) + "\n";
  return out;
}

std::string renderJson(const Plan& plan) {
  using nlohmann::json;
  json actions = json::array();
  auto optional = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  for (const Action& a : plan.actions) {
    json changes = json::array();
    for (const FieldChange& c : a.changes)
      changes.push_back({{"field", c.field}, {"from", optional(c.from)}, {"to", optional(c.to)},
                         {"class", toString(c.cls)}});
    actions.push_back({{"op", toString(a.op)},
                       {"kind", kindName(a.id.kind)},
                       {"id", a.id.str()},
                       {"changes", std::move(changes)},
                       {"reason", a.reason},
                       {"dataLoss", optional(a.dataLoss)},
                       {"restart", a.needsRestart()}});
    if (a.dataLoss && a.op != Op::Orphan) {
      // With a loss: how much it destroys, and the snapshot taken first (or why none is).
      json& row = actions.back();
      row["destroys"] = a.loss.destroys ? json(static_cast<std::uint64_t>(*a.loss.destroys)) : json(nullptr);
      row["snapshotFirst"] = a.loss.snapshotFirst ? json{{"what", a.loss.snapshotFirst->what},
                                                         {"name", a.loss.snapshotFirst->name},
                                                         {"drop", a.loss.snapshotFirst->drop}}
                                                  : json(nullptr);
      row["noSnapshot"] = optional(a.loss.noSnapshot);
    }
  }
  json external = json::array();
  for (const ResourceId& id : plan.external) external.push_back(id.str());
  const PlanSummary s = plan.summary();
  json doc = {{"actions", std::move(actions)},
              {"external", std::move(external)},
              {"summary",
               {{"create", s.create},
                {"update", s.update},
                {"replace", s.replace},
                {"delete", s.remove},
                {"orphan", s.orphan},
                {"refused", s.refused},
                {"changes", !s.empty()}}}};
  return doc.dump(2) + "\n";
}

}  // namespace hostform
