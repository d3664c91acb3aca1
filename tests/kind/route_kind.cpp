#include "tests/kind/route_kind.h"

namespace hostform::example {
namespace {

constexpr std::string_view kSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Route",
  "description": "A static route through a bridge (a kind defined by the tests).",
  "type": "object",
  "additionalProperties": false,
  "required": ["apiVersion", "kind", "metadata", "spec"],
  "properties": {
    "apiVersion": {"$ref": "common.schema.json#/definitions/apiVersion", "description": "hostform/v1."},
    "kind": {"description": "The kind.", "const": "Route"},
    "metadata": {
      "description": "Identity of the route.",
      "type": "object",
      "additionalProperties": false,
      "required": ["name"],
      "properties": {
        "name": {"description": "The route's name.", "type": "string", "minLength": 1, "maxLength": 32},
        "labels": {"$ref": "common.schema.json#/definitions/labels", "description": "Labels.", "default": {}}
      }
    },
    "spec": {
      "description": "Desired state of the route.",
      "type": "object",
      "additionalProperties": false,
      "required": ["destination", "via", "bridge"],
      "properties": {
        "destination": {"$ref": "common.schema.json#/definitions/cidr", "description": "Where it leads."},
        "via": {"description": "The gateway.", "type": "string", "minLength": 1},
        "bridge": {"description": "The Bridge it leaves through.", "type": "string", "minLength": 1},
        "metric": {"description": "Its preference.", "type": "integer", "minimum": 0, "maximum": 65535, "default": 100}
      }
    }
  }
})";

}  // namespace

static RouteSpec read(SpecReader& in) {
  const yaml::Node& s = in.spec();
  RouteSpec r;
  r.destination = in.text(s["destination"]);
  r.via = in.text(s["via"]);
  r.bridge = in.text(s["bridge"]);
  if (s["metric"]) r.metric = in.number(s["metric"]);
  if (r.destination.substr(0, r.destination.find('/')) == r.via)
    in.error(s["via"], "spec.via", "expected a gateway outside the destination, found " + in.shown(s["via"]));
  return r;
}

static void write(const RouteSpec& s, SpecWriter& w) {
  w.put("destination", s.destination);
  w.put("via", s.via);
  w.put("bridge", s.bridge);
  w.changed("metric", s.metric, RouteSpec{}.metric);
}

static void list(const RouteSpec& s, FieldList& f) {
  f.add("destination", s.destination);
  f.add("via", s.via);
  f.add("bridge", s.bridge);
  f.add("metric", std::to_string(s.metric));
}

static void refer(const RouteSpec& s, std::vector<Reference>& out) {
  out.push_back({ResourceId{kinds::Bridge, "", s.bridge}, "spec.bridge"});
}

HOSTFORM_KIND(kRouteKind, RouteSpec, "Route", 1000, "route.schema.json",
              {.read = read, .write = write, .list = list, .refer = refer}, kSchema);

// ---- the in-memory host and its provider --------------------------------------

std::map<std::string, RouteTable::Entry> RouteTable::read() const {
  std::lock_guard lock(mutex_);
  return routes_;
}

void RouteTable::write(const std::string& name, Entry entry) {
  std::lock_guard lock(mutex_);
  routes_[name] = std::move(entry);
}

void RouteTable::erase(const std::string& name) {
  std::lock_guard lock(mutex_);
  routes_.erase(name);
}

Result<Observation> RouteProvider::observe() {
  auto snapshot = std::make_shared<RouteSnapshot>();
  snapshot->routes = table_.read();
  Observation out;
  for (const auto& [name, entry] : snapshot->routes) {
    Observed o;
    o.resource.spec = entry.spec;
    o.resource.id = identityOf(Route, name, o.resource.spec);
    o.owner = entry.owner;
    out.objects.push_back(std::move(o));
  }
  out.snapshot = std::move(snapshot);
  return out;
}

Diff RouteProvider::plan(const Resource& desired, const Observed* live, const PlanContext&, const Snapshot&) {
  Diff diff;
  if (!live) return diff;
  const auto& want = desired.as<RouteSpec>();
  const auto& have = live->resource.as<RouteSpec>();
  RouteDelta delta;
  if (want.metric != have.metric) {
    diff.changes.push_back({"metric", std::to_string(have.metric), std::to_string(want.metric), ChangeClass::Live});
    delta.metric = want.metric;
  }
  for (auto [field, from, to] : {std::tuple("via", have.via, want.via), std::tuple("bridge", have.bridge, want.bridge)})
    if (from != to) diff.changes.push_back({field, from, to, ChangeClass::Replace});
  diff.delta = delta;
  return diff;
}

Result<void> RouteProvider::apply(const Action& action, const ApplyContext& ctx) {
  switch (action.op) {
    case Op::Create:
      table_.write(action.id.name, {action.desired->as<RouteSpec>(), ctx.owner});
      return {};
    case Op::Update: {
      RouteTable::Entry entry = table_.read().at(action.id.name);
      const auto& delta = std::any_cast<const RouteDelta&>(action.delta);
      if (delta.metric) entry.spec.metric = *delta.metric;
      if (action.adopt) entry.owner = ctx.owner;
      table_.write(action.id.name, std::move(entry));
      return {};
    }
    case Op::Delete:
      table_.erase(action.id.name);
      return {};
    case Op::Replace:
    case Op::Orphan:
      break;
  }
  return fail("routes: " + std::string(toString(action.op)) + " never reaches a provider");
}

}  // namespace hostform::example
