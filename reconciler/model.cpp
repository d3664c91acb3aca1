#include "reconciler/model.h"

#include <algorithm>
#include <iostream>

#include "reconciler/kind.h"

namespace hostform {
namespace {

std::vector<Kind>& registry() {
  static std::vector<Kind> kinds;
  return kinds;
}

}  // namespace

std::string_view Kind::name() const { return def_ ? def_->name() : std::string_view("?"); }

std::strong_ordering Kind::operator<=>(const Kind& other) const {
  return (def_ ? def_->rank() : -1) <=> (other.def_ ? other.def_->rank() : -1);
}

bool registerKind(const KindDef& def) {
  auto& kinds = registry();
  for (Kind k : kinds)
    if (k.name() == def.name() || k.def().rank() == def.rank()) {
      std::cerr << "hostform: kind " << def.name() << " not registered: " << k.name()
                << " has the same name or rank\n";
      return false;
    }
  const Kind kind(&def);
  kinds.insert(std::upper_bound(kinds.begin(), kinds.end(), kind), kind);
  return true;
}

const std::vector<Kind>& allKinds() { return registry(); }

std::optional<Kind> parseKind(std::string_view name) {
  for (Kind k : registry())
    if (k.name() == name) return k;
  return std::nullopt;
}

std::string ResourceId::str() const {
  std::string out(kind.name());
  out += '/';
  if (!scope.empty()) out += scope + '/';
  return out + name;
}

ResourceId identityOf(Kind kind, const std::string& name, const Spec& spec) {
  return ResourceId{kind, kind.def().scope(spec), name};
}

std::vector<Reference> references(const Resource& r) {
  std::vector<Reference> refs;
  r.kind().def().references(r.spec, refs);
  return refs;
}

std::vector<Field> fields(const Resource& r) {
  std::vector<Field> out;
  FieldList list(out);
  r.kind().def().fields(r.spec, list);
  return out;
}

}  // namespace hostform
