#pragma once
/// The manifest model, the same for every kind: a resource is an identity,
/// labels and one kind's typed spec, with defaults resolved. Desired state (from
/// manifests) and observed state (from providers) use the same types, so
/// comparing them is comparing two values of one schema.
///
/// The kinds themselves live in reconciler/kinds/, one module each (its spec
/// type, decoding, encoding, fields, references; reconciler/kind.h). This file
/// names none of them; what it declares that asks a kind's module (the
/// registry, references, fields, identities) is defined in kind.cpp.

#include <any>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "reconciler/units.h"

namespace hostform {

class KindDef;

/// A kind of resource: a handle to its module. Kinds compare by their rank,
/// the order in which plans and exports list them.
class Kind {
 public:
  constexpr Kind() = default;
  constexpr explicit Kind(const KindDef* def) : def_(def) {}

  std::string_view name() const;
  const KindDef& def() const { return *def_; }
  explicit operator bool() const { return def_ != nullptr; }

  bool operator==(const Kind& other) const { return def_ == other.def_; }
  std::strong_ordering operator<=>(const Kind& other) const;

 private:
  const KindDef* def_ = nullptr;
};

/// Every registered kind, in rank order.
const std::vector<Kind>& allKinds();
/// The kind spelled `name` in manifests ("Bridge"), if one is registered.
std::optional<Kind> parseKind(std::string_view name);
inline std::string_view kindName(Kind kind) { return kind.name(); }

/// Identity of a resource: `Kind/name`, or `Kind/scope/name` for kinds that live
/// inside another (LogicalVolume inside its VG, Volume inside its pool).
struct ResourceId {
  Kind kind{};
  std::string scope;  ///< VG of a LogicalVolume, pool of a Volume; empty otherwise
  std::string name;

  std::string str() const;
  auto operator<=>(const ResourceId&) const = default;
};

/// One kind's spec: a value of the type its module declares (BridgeSpec…),
/// copied and compared as that type.
class Spec {
 public:
  Spec() = default;
  template <class S>
    requires(!std::is_same_v<std::decay_t<S>, Spec>)
  Spec(S spec) : value_(std::move(spec)), equal_(&equalAs<S>) {}

  /// The spec as S; nullptr when it is of another type.
  template <class S>
  const S* get_if() const { return std::any_cast<S>(&value_); }
  template <class S>
  S* get_if() { return std::any_cast<S>(&value_); }
  /// The spec as S; throws std::bad_any_cast when it is of another type.
  template <class S>
  const S& get() const { return std::any_cast<const S&>(value_); }
  template <class S>
  S& get() { return std::any_cast<S&>(value_); }

  friend bool operator==(const Spec& a, const Spec& b) {
    return a.equal_ == b.equal_ && (!a.equal_ || a.equal_(a.value_, b.value_));
  }

 private:
  template <class S>
  static bool equalAs(const std::any& a, const std::any& b) {
    return std::any_cast<const S&>(a) == std::any_cast<const S&>(b);
  }

  std::any value_;
  bool (*equal_)(const std::any&, const std::any&) = nullptr;
};

/// Where something was written: a file and a 1-based line and column.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
};

/// Where one field of a loaded document was written (same file as the document).
struct FieldPos {
  std::string path;  ///< "spec.volumeGroup"
  int line = 0;
  int column = 0;
};

struct Resource {
  ResourceId id;
  std::map<std::string, std::string> labels;
  Spec spec;
  SourcePos source;                ///< the document's start; unknown for observed resources
  std::vector<FieldPos> positions; ///< of the spec's fields, for plan-time diagnostics

  Kind kind() const { return id.kind; }
  template <class S>
  const S& as() const { return spec.get<S>(); }
  template <class S>
  S& as() { return spec.get<S>(); }
};

/// A reference from one resource to another, named by the field that makes it.
struct Reference {
  ResourceId target;
  std::string field;  ///< "spec.volumeGroup", "spec.disks[1].volume"
  /// What the target must be beyond existing, checked when it is declared too
  /// (a thin volume's pool must be a thin pool): an error message, or nullopt.
  std::function<std::optional<std::string>(const Resource& target)> expect = {};
  /// A soft reference names an object that may be no resource at all: a
  /// bridge port is a declared Bond or a NIC hostform does not manage. When
  /// its target is declared it orders like any reference, and when it is only
  /// on the host it is kept (external); when it is neither, that is no error:
  /// the provider checks the name at plan time itself.
  bool soft = false;
};

/// Every resource `r` refers to (docs/spec.md §1 "References and order").
std::vector<Reference> references(const Resource& r);

/// One comparable leaf of a spec: its path below `spec` and its value as the
/// plan shows it ("10GiB", "15s", "[eth1, eth2]"). Unset optional fields are left out.
struct Field {
  std::string path;
  std::string value;
  bool operator==(const Field&) const = default;
};
std::vector<Field> fields(const Resource& r);

/// The identity a spec gives a resource of `kind` named `name`.
ResourceId identityOf(Kind kind, const std::string& name, const Spec& spec);

}  // namespace hostform

template <>
struct std::hash<hostform::ResourceId> {
  std::size_t operator()(const hostform::ResourceId& id) const noexcept {
    std::size_t h = std::hash<std::string>{}(id.name);
    h ^= std::hash<std::string>{}(id.scope) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h ^ (std::hash<std::string_view>{}(id.kind.name()) * 0x9e3779b97f4a7c15ULL);
  }
};
