// Writes docs/reference.md, the manifest reference, from schemas/*.schema.json,
// and the editors' dispatch schema, manifest.schema.json, from the registered
// kinds (reconciler/kind.h): both list the kinds hostform is built with, in
// their rank order, so neither is kept by hand when a kind is added.
//
//   hostform_reference_doc SCHEMA_DIR OUTPUT [MANIFEST_SCHEMA_OUTPUT]
//
// The schemas are what hostform enforces (they are embedded in the binary), so
// the reference is generated from them rather than written by hand: a field,
// default, bound or rule cannot be documented differently from how it is
// checked. Like the validator, the generator knows a fixed set of keywords and
// shapes, and fails on anything else rather than leave it out of the page.
//
// The build runs it (the `reference_doc` target, part of `all`) into the build
// tree; the ctest `docs_reference_current` fails when the committed
// docs/reference.md differs, and `cmake --build build --target update-reference`
// copies the fresh one over it.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconciler/kind.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keeps the schemas' field order

constexpr const char* kCommonFile = "common.schema.json";
constexpr const char* kCommonPrefix = "common.schema.json#/definitions/";

[[noreturn]] void refuse(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string code(const std::string& text) { return "`" + text + "`"; }

/// A JSON value as a manifest would spell it: `up`, `15s`, `true`, `[hd]`, `{}`.
std::string yamlish(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + yamlish(v[i]);
    return out + "]";
  }
  if (v.is_object() && v.empty()) return "{}";
  return v.dump();
}

std::string cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string joinOr(const std::vector<std::string>& items, const std::string& last = " or ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? last : ", ") + items[i];
  return out;
}

class Generator {
 public:
  explicit Generator(const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (!name.ends_with(".schema.json")) continue;
      std::ifstream in(entry.path());
      try {
        files_[name] = Json::parse(in);
      } catch (const Json::parse_error& e) {
        refuse(name, std::string("not valid JSON: ") + e.what());
      }
    }
    if (!files_.contains(kCommonFile)) refuse(dir.string(), std::string("no ") + kCommonFile);
  }

  std::string run() {
    std::ostringstream out;
    out << "# Manifest reference\n\n"
        << "<!-- Generated from schemas/*.schema.json by tools/reference_doc.cpp; do not edit.\n"
        << "     After changing a schema: cmake --build build --target update-reference -->\n\n";
    out << "Every document has four fields: `apiVersion: hostform/v1`, `kind`, `metadata` "
           "(`name`, optional `labels`) and `spec`, which every kind requires (`spec: {}` "
           "when all its fields have defaults). A field marked *required* must be given; "
           "one with a default takes it when left out; one with neither is left alone on the "
           "host (not compared). Fields not listed here are errors.\n\n"
        << "These are the checks the schemas make; hostform enforces exactly these schemas "
           "(they are built into the binary), and `hostform validate` reports every "
           "violation with its file, line and column. A few checks need more than one "
           "field or the host, and are listed in [decisions.md](decisions.md#manifests) "
           "(for example `maxVcpus` ≥ `vcpus`) and in the provider pages.\n\n"
        << "Editors: start a file with\n"
           "`# yaml-language-server: $schema=<path to>/schemas/manifest.schema.json` "
           "(installed as `/usr/share/hostform/schemas/`).\n\n";

    std::vector<std::pair<std::string, std::string>> kinds;  // kind, file
    for (hostform::Kind kind : hostform::allKinds()) {
      const std::string file(kind.def().schemaFile());
      if (!files_.contains(file)) refuse(file, "kind " + std::string(kind.name()) + " names this schema; it is missing");
      kinds.emplace_back(kind.name(), file);
    }
    out << "Kinds:";
    for (std::size_t i = 0; i < kinds.size(); ++i) out << (i ? " ·" : "") << " [" << kinds[i].first << "](#" << anchor(kinds[i].first) << ")";
    out << ". Shared types: [below](#common-types).\n";

    for (const auto& [kind, file] : kinds) documentKind(out, kind, file);
    documentCommon(out);
    return out.str();
  }

 private:
  struct Row {
    std::string field, type, presence, description;
  };

  static std::string anchor(std::string name) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    return name;
  }

  /// The definition a "$ref" names; only common definitions and whole files exist.
  const Json& resolve(const std::string& ref, const std::string& where) {
    if (ref.starts_with(kCommonPrefix)) {
      const std::string name = ref.substr(std::string(kCommonPrefix).size());
      const Json& defs = files_.at(kCommonFile).at("definitions");
      if (!defs.contains(name)) refuse(where, "$ref to an unknown definition " + ref);
      usedTypes_.insert(name);
      return defs.at(name);
    }
    if (ref.starts_with("#/definitions/")) return resolve(kCommonPrefix + ref.substr(14), where);
    if (files_.contains(ref)) return files_.at(ref);
    refuse(where, "$ref the generator cannot follow: " + ref);
  }

  static std::string commonName(const std::string& ref) {
    if (ref.starts_with(kCommonPrefix)) return ref.substr(std::string(kCommonPrefix).size());
    if (ref.starts_with("#/definitions/")) return ref.substr(14);
    return {};
  }

  void documentKind(std::ostream& out, const std::string& kind, const std::string& file) {
    const Json& schema = files_.at(file);
    checkKeys(schema, file, {"$schema", "title", "description", "type", "additionalProperties", "required",
                             "properties"});
    out << "\n## " << kind << "\n\n" << schema.value("description", "") << "\n\n"
        << "Schema: [`schemas/" << file << "`](../schemas/" << file << ").\n\n";
    std::vector<Row> rows;
    std::vector<std::string> rules;
    const Json& props = schema.at("properties");
    for (const char* part : {"metadata", "spec"}) {
      const Json& sub = props.at(part);
      addProperties(rows, rules, sub, part, file + "#/properties/" + part);
    }
    out << "| field | type | required / default | description |\n|---|---|---|---|\n";
    for (const Row& r : rows)
      out << "| " << code(r.field) << " | " << cell(r.type) << " | " << cell(r.presence) << " | "
          << cell(r.description) << " |\n";
    if (!rules.empty()) {
      out << "\nRules between fields:\n\n";
      for (const std::string& rule : rules) out << "- " << rule << "\n";
    }
  }

  /// Rows for every property of an object schema, recursing into objects and
  /// lists of objects; the object's conditional rules go to `rules`.
  void addProperties(std::vector<Row>& rows, std::vector<std::string>& rules, const Json& object,
                     const std::string& path, const std::string& where) {
    checkKeys(object, where, {"description", "type", "additionalProperties", "required", "properties", "default",
                              "allOf", "if", "then", "oneOf"});
    if (object.value("additionalProperties", true) != false)
      refuse(where, "an object that allows undeclared fields cannot be documented field by field");
    std::set<std::string> required;
    for (const Json& r : object.value("required", Json::array())) required.insert(r.get<std::string>());
    for (const auto& [name, sub] : object.at("properties").items())
      addField(rows, rules, sub, path + "." + name, required.contains(name), where + "/" + name);
    if (object.contains("if")) rules.push_back(conditional(object, path, where));
    for (const Json& branch : object.value("allOf", Json::array())) rules.push_back(conditional(branch, path, where));
    if (object.contains("oneOf")) rules.push_back(exactlyOne(object.at("oneOf"), path, where));
  }

  void addField(std::vector<Row>& rows, std::vector<std::string>& rules, const Json& field, const std::string& path,
                bool required, const std::string& where) {
    const Json* s = &field;
    std::string description = field.value("description", "");
    std::string type;
    if (field.contains("$ref")) {
      checkKeys(field, where, {"$ref", "description", "default"});
      const std::string ref = field.at("$ref");
      s = &resolve(ref, where);
      if (description.empty()) description = s->value("description", "");
      if (const std::string name = commonName(ref); !name.empty() && !s->contains("properties"))
        type = "[" + name + "](#" + anchor(name) + ")";
    }
    if (description.empty()) refuse(where, "a field without a description");
    const Json* def = field.contains("default") ? &field.at("default") : s->contains("default") ? &s->at("default") : nullptr;
    std::string presence = required ? "required" : def ? "`" + yamlish(*def) + "`" : "—";
    if (type.empty()) type = typeOf(*s, where);

    const std::string kind = s->value("type", Json()).is_string() ? s->value("type", "") : "";
    if (kind == "object" && s->contains("properties")) {
      rows.push_back({path, "object", presence, description});
      addProperties(rows, rules, *s, path, where);
      return;
    }
    if (kind == "array") {
      const Json& items = s->at("items");
      rows.push_back({path, type, presence, description});
      if (items.value("type", "") == "object") addProperties(rows, rules, items, path + "[]", where + "/items");
      // Items of several forms (a bridge port: a name or an object): the object form's fields.
      for (const Json& form : items.value("oneOf", Json::array()))
        if (form.value("type", "") == "object") addProperties(rows, rules, form, path + "[]", where + "/items");
      return;
    }
    rows.push_back({path, type, presence, description});
  }

  /// "integer 68–65535", "`up` | `down`", "list of [ifname](#ifname), unique".
  std::string typeOf(const Json& s, const std::string& where) {
    checkKeys(s, where, {"description", "type", "enum", "const", "minimum", "maximum", "default", "items",
                         "uniqueItems", "minItems", "pattern", "x-expected", "x-multiline", "properties", "additionalProperties",
                         "required", "allOf", "if", "then", "oneOf", "$ref"});
    if (s.contains("enum")) {
      std::vector<std::string> values;
      for (const Json& v : s.at("enum")) values.push_back(code(yamlish(v)));
      std::string out;
      for (std::size_t i = 0; i < values.size(); ++i) out += (i ? " | " : "") + values[i];
      return out;
    }
    if (s.contains("const")) return code(yamlish(s.at("const")));
    if (s.contains("$ref")) {
      const std::string name = commonName(s.at("$ref"));
      resolve(s.at("$ref"), where);
      return "[" + name + "](#" + anchor(name) + ")";
    }
    const std::string type = s.value("type", "");
    if (type == "integer") {
      if (s.contains("minimum") && s.contains("maximum"))
        return "integer " + s.at("minimum").dump() + "–" + s.at("maximum").dump();
      if (s.contains("minimum")) return "integer ≥ " + s.at("minimum").dump();
      return "integer";
    }
    if (type == "boolean") return "boolean";
    if (type == "string") {
      if (s.contains("x-expected")) return "string: " + s.at("x-expected").get<std::string>();
      if (s.contains("pattern")) refuse(where, "a string pattern without x-expected to say it in words");
      return "string";
    }
    if (type == "array") {
      const Json& items = s.at("items");
      std::string out = "list of " + (items.value("type", "") == "object" ? std::string("objects")
                                      : items.contains("oneOf")          ? formsOf(items.at("oneOf"), where + "/items")
                                                                         : typeOf(items, where + "/items"));
      if (s.value("uniqueItems", false)) out += ", unique";
      if (s.contains("minItems")) out += ", at least " + s.at("minItems").dump();
      return out;
    }
    if (type == "object") return "object";
    refuse(where, "a field whose type the generator cannot describe");
  }

  /// "[ifname](#ifname) or objects": the forms of items written one of several ways.
  std::string formsOf(const Json& forms, const std::string& where) {
    std::string out;
    for (const Json& form : forms) {
      std::string one;
      if (form.value("type", "") == "object") one = "objects";
      else if (form.contains("allOf") && form.at("allOf").size() == 1 && form.at("allOf")[0].contains("$ref"))
        one = typeOf(form.at("allOf")[0], where);
      else one = typeOf(form, where);
      out += (out.empty() ? "" : " or ") + one;
    }
    return out;
  }

  /// "When `spec.type` is `thin`: `spec.thinPool` is required."
  std::string conditional(const Json& rule, const std::string& path, const std::string& where) {
    checkKeys(rule, where, {"if", "then", "description", "type", "additionalProperties", "required", "properties",
                            "default", "allOf", "oneOf"});
    const Json& cond = rule.at("if");
    checkKeys(cond, where + "/if", {"properties", "required"});
    std::set<std::string> condRequired;
    for (const Json& r : cond.value("required", Json::array())) condRequired.insert(r.get<std::string>());
    std::vector<std::string> parts;
    const Json tests = cond.value("properties", Json::object());
    for (const auto& [name, test] : tests.items()) {
      std::vector<std::string> values;
      if (test.contains("const")) values.push_back(code(yamlish(test.at("const"))));
      else if (test.contains("enum"))
        for (const Json& v : test.at("enum")) values.push_back(code(yamlish(v)));
      else refuse(where + "/if", "a condition other than const or enum");
      // Without "required", a missing field satisfies the condition (draft-07).
      if (!condRequired.contains(name)) values.insert(values.begin(), "unset");
      parts.push_back(code(path + "." + name) + " is " + joinOr(values));
      condRequired.erase(name);
    }
    for (const std::string& name : condRequired) parts.push_back(code(path + "." + name) + " is set");
    if (parts.empty()) refuse(where + "/if", "an empty condition");
    std::vector<std::string> effects;
    consequences(rule.at("then"), path, where + "/then", effects);
    std::string text = "When " + joinOr(parts, " and ") + ": ";
    for (std::size_t i = 0; i < effects.size(); ++i) text += (i ? "; " : "") + effects[i];
    return text + ".";
  }

  void consequences(const Json& then, const std::string& path, const std::string& where,
                    std::vector<std::string>& effects) {
    checkKeys(then, where, {"required", "properties"});
    std::vector<std::string> required;
    for (const Json& r : then.value("required", Json::array())) required.push_back(code(path + "." + r.get<std::string>()));
    if (!required.empty()) effects.push_back(joinOr(required, " and ") + (required.size() > 1 ? " are" : " is") + " required");
    std::vector<std::string> forbidden;
    const Json properties = then.value("properties", Json::object());
    for (const auto& [name, sub] : properties.items()) {
      const std::string field = path + "." + name;
      if (sub == false) forbidden.push_back(code(field));
      else if (sub.is_object() && sub.contains("const") && sub.size() == 1)
        effects.push_back(code(field) + " must be " + code(yamlish(sub.at("const"))));
      else if (sub.is_object()) consequences(sub, field, where + "/properties/" + name, effects);
      else refuse(where, "a consequence the generator cannot describe");
    }
    if (!forbidden.empty())
      effects.push_back(joinOr(forbidden, " and ") + (forbidden.size() > 1 ? " are" : " is") + " not allowed");
  }

  std::string exactlyOne(const Json& branches, const std::string& path, const std::string& where) {
    std::vector<std::string> names;
    for (const Json& b : branches) {
      checkKeys(b, where + "/oneOf", {"required"});
      if (b.at("required").size() != 1) refuse(where + "/oneOf", "a branch other than one required field");
      names.push_back(code(b.at("required")[0].get<std::string>()));
    }
    // A list's items ("spec.disks[]") or one object ("spec.source").
    if (path.ends_with("[]"))
      return "Each entry of " + code(path.substr(0, path.size() - 2)) + " has exactly one of " + joinOr(names) + ".";
    return code(path) + " has exactly one of " + joinOr(names) + ".";
  }

  void documentCommon(std::ostream& out) {
    const Json& common = files_.at(kCommonFile);
    out << "\n## Common types\n\n" << common.value("description", "") << " Schema: [`schemas/" << kCommonFile
        << "`](../schemas/" << kCommonFile << ").\n";
    for (const auto& [name, def] : common.at("definitions").items()) {
      if (!usedTypes_.contains(name) || def.contains("properties")) continue;  // objects are expanded in place
      const std::string where = std::string(kCommonFile) + "#/definitions/" + name;
      checkKeys(def, where, {"description", "type", "const", "minimum", "format", "pattern", "x-expected", "examples",
                             "minLength", "maxLength", "default", "propertyNames", "additionalProperties"});
      out << "\n### " << name << "\n\n" << def.value("description", "") << "\n";
      if (def.contains("const")) out << "\nAlways " << code(yamlish(def.at("const"))) << ".\n";
      out << "\nType: " << commonType(def, where) << ".\n";
      if (def.contains("propertyNames")) {
        const Json& keys = resolve(def.at("propertyNames").at("$ref"), where + "/propertyNames");
        checkKeys(keys, where + "/propertyNames", {"description", "type", "pattern", "x-expected"});
        out << "\nKeys: " << keys.at("x-expected").get<std::string>() << " (pattern "
            << code(keys.at("pattern").get<std::string>()) << ").\n";
      }
      if (def.contains("additionalProperties")) {
        const Json& values = def.at("additionalProperties");
        checkKeys(values, where + "/additionalProperties", {"description", "type", "maxLength"});
        out << "\nValues: " << commonType(values, where + "/additionalProperties") << ".\n";
      }
      if (def.contains("pattern")) out << "\nPattern: " << code(def.at("pattern").get<std::string>()) << "\n";
      if (def.contains("examples")) {
        std::vector<std::string> examples;
        for (const Json& e : def.at("examples")) examples.push_back(code(yamlish(e)));
        out << "\nExamples: " << joinOr(examples, ", ") << ".\n";
      }
    }
  }

  /// "string or integer ≥ 0", "string of at least 2 characters", plus the
  /// validator's own check of a `format`.
  static std::string commonType(const Json& def, const std::string& where) {
    std::vector<std::string> types;
    const Json& type = def.at("type");
    for (const Json& t : type.is_array() ? type : Json::array({type})) {
      std::string text = t.get<std::string>();
      if (text == "integer" && def.contains("minimum")) text += " ≥ " + def.at("minimum").dump();
      if (text == "string" && def.contains("minLength")) text += " of at least " + def.at("minLength").dump() + " characters";
      if (text == "string" && def.contains("maxLength")) text += " of at most " + def.at("maxLength").dump() + " characters";
      if (text == "object") text = "a mapping";
      types.push_back(text);
    }
    std::string out = joinOr(types);
    if (def.contains("format")) {
      const std::string format = def.at("format");
      static const std::set<std::string> known{"size", "duration", "mac", "cidr"};
      if (!known.contains(format)) refuse(where, "format \"" + format + "\" is not one hostform checks");
      out += "; beyond the pattern, hostform parses the value (format " + code(format) + ")";
    }
    return out;
  }

  static void checkKeys(const Json& s, const std::string& where, std::initializer_list<const char*> known) {
    if (!s.is_object()) refuse(where, "expected a schema object");
    for (const auto& item : s.items()) {
      const std::string& key = item.key();  // a plain name: clang 14 cannot capture structured bindings
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
        refuse(where, "keyword \"" + key + "\" is not documented by tools/reference_doc.cpp; teach it first");
    }
  }

  std::map<std::string, Json> files_;
  std::set<std::string> usedTypes_;
};

}  // namespace

namespace {

/// manifest.schema.json: any hostform/v1 document, dispatched on its kind to
/// that kind's schema (what editors validate with; hostform itself dispatches
/// through the registry).
std::string manifestSchema() {
  std::string names, branches;
  for (hostform::Kind kind : hostform::allKinds()) {
    const std::string name(kind.name());
    names += (names.empty() ? "" : ", ") + ("\"" + name + "\"");
    branches += (branches.empty() ? "" : ",\n") + ("    {\"if\": {\"properties\": {\"kind\": {\"const\": \"" + name +
                                                   "\"}}, \"required\": [\"kind\"]}, \"then\": {\"$ref\": \"" +
                                                   std::string(kind.def().schemaFile()) + "\"}}");
  }
  return "{\n"
         "  \"$schema\": \"http://json-schema.org/draft-07/schema#\",\n"
         "  \"title\": \"hostform manifest\",\n"
         "  \"description\": \"Any hostform/v1 document; dispatches on kind to that kind's schema. For editors: start a "
         "file with # yaml-language-server: $schema=<path>/manifest.schema.json\",\n"
         "  \"type\": \"object\",\n"
         "  \"required\": [\"apiVersion\", \"kind\", \"metadata\", \"spec\"],\n"
         "  \"properties\": {\n"
         "    \"apiVersion\": {\"$ref\": \"common.schema.json#/definitions/apiVersion\", \"description\": \"Version of the "
         "manifest format: hostform/v1.\"},\n"
         "    \"kind\": {\n"
         "      \"description\": \"The kind of resource this document describes.\",\n"
         "      \"type\": \"string\",\n"
         "      \"enum\": [" + names + "]\n"
         "    }\n"
         "  },\n"
         "  \"allOf\": [\n" + branches + "\n"
         "  ]\n"
         "}\n";
}

void write(const fs::path& output, const std::string& text) {
  if (output.has_parent_path()) fs::create_directories(output.parent_path());
  std::ofstream(output) << text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: " << argv[0] << " SCHEMA_DIR OUTPUT [MANIFEST_SCHEMA_OUTPUT]\n";
    return 2;
  }
  try {
    write(argv[2], Generator(argv[1]).run());
    if (argc == 4) write(argv[3], manifestSchema());
  } catch (const std::exception& e) {
    std::cerr << "reference_doc: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
