#pragma once
/// A kind defined outside reconciler/, as a new kind's author would write it:
/// Route, a static route through a bridge, with its module (spec, decoding and
/// its semantic check, encoding, fields, references), its schema, and a
/// provider keeping "the host's" routes in memory. No core file names it.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "reconciler/kind.h"
#include "reconciler/kinds/bridge.h"
#include "reconciler/provider.h"

namespace hostform::example {

struct RouteSpec {
  std::string destination;           ///< CIDR
  std::string via;                   ///< gateway address
  std::string bridge;                ///< the Bridge the route leaves through
  std::uint32_t metric = 100;
  bool operator==(const RouteSpec&) const = default;
};

/// Its module: a gateway inside the destination itself is refused; it refers
/// to its bridge. Its schema comes with it (schemaText).
extern const KindOf<RouteSpec> kRouteKind;
inline constexpr Kind Route{&kRouteKind};

/// The routes of a host that exists in memory.
class RouteTable {
 public:
  struct Entry {
    RouteSpec spec;
    std::string owner;
  };
  std::map<std::string, Entry> read() const;
  void write(const std::string& name, Entry entry);
  void erase(const std::string& name);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Entry> routes_;
};

/// What one observe read: the routes, as the table had them.
struct RouteSnapshot final : Snapshot {
  std::map<std::string, RouteTable::Entry> routes;
};

/// What an update changes, decided at plan time.
struct RouteDelta {
  std::optional<std::uint32_t> metric;  ///< set: the metric changes in place
  bool operator==(const RouteDelta&) const = default;
};

class RouteProvider final : public Provider {
 public:
  explicit RouteProvider(RouteTable& table) : table_(table) {}
  std::string_view name() const override { return "routes"; }
  std::vector<Kind> kinds() const override { return {Route}; }
  Result<Observation> observe() override;
  /// A metric changes in place; another gateway or bridge means a new route (replace).
  Diff plan(const Resource& desired, const Observed* live, const PlanContext& ctx, const Snapshot& host) override;
  Result<void> apply(const Action& action, const ApplyContext& ctx) override;

 private:
  RouteTable& table_;
};

}  // namespace hostform::example
