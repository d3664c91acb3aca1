#include "reconciler/kind.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "reconciler/text.h"

namespace hostform {

// ---- the registry and the model's kind-dependent parts (model.h) -------------
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

// ---- SpecReader ---------------------------------------------------------------

SpecReader::SpecReader(const yaml::Node& document, const Locator& where, Diagnostics& diags)
    : where_(where), diags_(diags), spec_(document["spec"]), name_(document["metadata"]["name"]) {}

void SpecReader::error(const yaml::Node& at, const std::string& path, std::string message) {
  diags_.error(where_.at(at), path, std::move(message));
  failed_ = true;
}

std::string SpecReader::shown(const yaml::Node& n) { return showValue(n.scalar()); }

std::optional<std::string> SpecReader::optText(const yaml::Node& n) {
  if (!n) return std::nullopt;
  return n.scalar();
}

bool SpecReader::flag(const yaml::Node& n, bool fallback) { return n ? std::tolower(n.scalar()[0]) == 't' : fallback; }

std::uint32_t SpecReader::number(const yaml::Node& n) {
  return static_cast<std::uint32_t>(std::strtoul(n.scalar().c_str(), nullptr, 10));
}

std::vector<std::string> SpecReader::texts(const yaml::Node& n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) out.push_back(n[i].scalar());
  return out;
}

std::optional<std::string> SpecReader::mac(const yaml::Node& n) {
  auto m = optText(n);
  if (m) std::transform(m->begin(), m->end(), m->begin(), [](unsigned char c) { return std::tolower(c); });
  return m;
}

namespace {

/// `n` read by `parse` (parseSize, parseDuration), whose message is the error;
/// `fallback` when absent or wrong.
template <class T, class Parse>
T parsedOr(SpecReader& in, const yaml::Node& n, const std::string& path, T fallback, Parse parse) {
  if (!n) return fallback;
  auto parsed = parse(n.scalar());
  if (!parsed) {
    in.error(n, path, parsed.error().message);
    return fallback;
  }
  return *parsed;
}

}  // namespace

Bytes SpecReader::size(const yaml::Node& n, const std::string& path, Bytes fallback) {
  return parsedOr(*this, n, path, fallback, parseSize);
}

Bytes SpecReader::positiveSize(const yaml::Node& n, const std::string& path) {
  const Bytes b = size(n, path);
  if (n && b == 0 && !failed_) error(n, path, "expected a size greater than 0, found " + shown(n));
  return b;
}

Millis SpecReader::duration(const yaml::Node& n, const std::string& path, Millis fallback) {
  return parsedOr(*this, n, path, fallback, parseDuration);
}

void SpecReader::checkPath(const yaml::Node& n, const std::string& path) {
  if (!n) return;
  for (const auto& part : std::filesystem::path(n.scalar()))
    if (part == "..") {
      const std::string normal = std::filesystem::path(n.scalar()).lexically_normal().string();
      error(n, path, "expected a path without \"..\" components, found " + quoteValue(n.scalar()) + " (" +
                         showValue(normal) + ")");
      return;
    }
}

// ---- SpecWriter ---------------------------------------------------------------

namespace {

/// A string that a YAML 1.2 reader would take for a number, boolean or null
/// must be quoted to stay a string ("123" as an interface name).
void scalar(YAML::Emitter& out, const std::string& s) {
  if (yaml::resolvePlain(s) != yaml::PlainType::String) out << YAML::DoubleQuoted;
  out << s.c_str();
}

void jsonValue(YAML::Emitter& out, const nlohmann::json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, item] : v.items()) {
      out << YAML::Key;
      scalar(out, k);
      out << YAML::Value;
      jsonValue(out, item);
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : v) jsonValue(out, item);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    scalar(out, v.get<std::string>());
  } else if (v.is_null()) {
    out << YAML::Null;
  } else {
    out << v.dump().c_str();  // numbers and booleans as JSON spells them, which YAML reads the same
  }
}

}  // namespace

void SpecWriter::json(const char* key, const std::string& jsonText) {
  out_ << YAML::Key << key << YAML::Value;
  jsonValue(out_, nlohmann::json::parse(jsonText));
}

void SpecWriter::put(const char* key, const std::string& value) {
  out_ << YAML::Key << key << YAML::Value;
  scalar(out_, value);
}
void SpecWriter::put(const char* key, std::uint32_t value) { out_ << YAML::Key << key << YAML::Value << value; }
void SpecWriter::put(const char* key, bool value) { out_ << YAML::Key << key << YAML::Value << value; }
void SpecWriter::size(const char* key, Bytes value) { put(key, formatSize(value)); }
void SpecWriter::duration(const char* key, Millis value, Millis fallback) {
  if (value != fallback) put(key, formatDuration(value));
}
void SpecWriter::list(const char* key, const std::vector<std::string>& items) {
  if (items.empty()) return;
  out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& i : items) scalar(out_, i);
  out_ << YAML::EndSeq;
}
void SpecWriter::flowList(const char* key, const std::vector<std::string>& items) {
  out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& i : items) out_ << i;
  out_ << YAML::EndSeq;
}
void SpecWriter::begin(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginMap; }
void SpecWriter::end() { out_ << YAML::EndMap; }
void SpecWriter::beginList(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq; }
void SpecWriter::beginItem() { out_ << YAML::BeginMap; }
void SpecWriter::endItem() { out_ << YAML::EndMap; }
void SpecWriter::item(const std::string& value) { scalar(out_, value); }
void SpecWriter::endList() { out_ << YAML::EndSeq; }

std::string showList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out + "]";
}

}  // namespace hostform
