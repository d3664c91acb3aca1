#include "reconciler/schema.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "reconciler/kind.h"
#include "reconciler/text.h"
#include "reconciler/units.h"

namespace hostform::schema {
namespace {

// ordered_json keeps properties in the order the schema lists them, which is
// the order "expected one of ..." messages name them in.
using Json = nlohmann::ordered_json;

// ============================================================================
// The schema set: parsed and checked once
// ============================================================================

constexpr std::string_view kManifestFile = "manifest.schema.json";

// Everything the validator enforces or knowingly ignores (annotations). A schema
// using any other keyword is refused at load: a schema must never say more
// than hostform checks.
const std::set<std::string, std::less<>> kKeywords{
    "$schema",       "$id",       "$ref",  "definitions", "title",     "description",
    "default",       "examples",  "type",  "properties",  "required",  "additionalProperties",
    "propertyNames", "enum",      "const", "pattern",     "minLength", "maxLength",
    "minimum",       "maximum",   "items", "minItems",    "maxItems",  "uniqueItems",
    "allOf",         "oneOf",     "anyOf", "if",          "then",      "else",
    "format",        "x-expected", "x-multiline"};
// Draft-07 ignores the siblings of $ref; only annotations may stand there, so
// that no sibling looks like a check while being none.
const std::set<std::string, std::less<>> kAnnotations{"$schema",     "$id",     "$ref",     "title",
                                                      "description", "default", "examples", "x-expected"};
const std::set<std::string, std::less<>> kFormats{"size", "duration", "mac", "cidr"};
const std::set<std::string, std::less<>> kTypes{"null", "boolean", "integer", "number", "string", "object", "array"};

/// A `pattern`, compiled by RE2 (linear in the input, never a backtracking
/// matcher: libstdc++'s regex recurses once per character) on first use, so a
/// run compiles only the patterns of the values it validates, not all of
/// them at start-up. The loader validates documents on several threads: the
/// first user compiles, under std::call_once, and the others wait for it.
class Pattern {
 public:
  Pattern(std::string text, std::string at) : text_(std::move(text)), at_(std::move(at)) {}

  /// The compiled pattern, or nullptr if it does not compile (then problem()
  /// says why, as loading would have: "<where>: pattern does not compile: ...").
  const RE2* get() const {
    std::call_once(once_, [this] {
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_unique<const RE2>(text_, options);
      if (re->ok())
        re_ = std::move(re);
      else
        problem_ = at_ + ": pattern does not compile: " + re->error();
    });
    return re_.get();
  }
  const std::string& problem() const { return problem_; }  ///< after get()

 private:
  std::string text_;
  std::string at_;  ///< where the schemas first name it
  mutable std::once_flag once_;
  mutable std::unique_ptr<const RE2> re_;
  mutable std::string problem_;
};

/// A schema that names a pattern RE2 cannot compile, found when a value first
/// needs that pattern: the schemas are unusable, as if loading had found it.
struct UnusablePattern : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A schema and the file its own "#/..." references are relative to.
struct Target {
  const Json* schema = nullptr;
  std::string file;
};

struct SchemaSet {
  std::map<std::string, Json, std::less<>> files;
  std::map<std::pair<std::string, std::string>, Target> refs;  ///< (file holding the $ref, $ref) → target
  /// Every `pattern`, by its text, each compiled on first use.
  std::map<std::string, Pattern, std::less<>> patterns;
  std::vector<std::pair<std::string, Target>> kinds;           ///< the registered kinds, in rank order
  std::vector<std::string> problems;
};

/// A schema keyword's value, or null. Called for every keyword of every node
/// checked, so it scans the (small, ordered) object without building a key string.
const Json* member(const Json& schema, std::string_view key) {
  if (!schema.is_object()) return nullptr;
  for (const auto& [name, value] : schema.get_ref<const Json::object_t&>())
    if (name == key) return &value;
  return nullptr;
}

/// Whether loading compiles every pattern (and reports those that do not
/// compile as problems) or leaves each to its first use.
enum class Patterns { Lazy, Compile };

class SchemaLoader {
 public:
  explicit SchemaLoader(Patterns patterns = Patterns::Lazy) : compile_(patterns == Patterns::Compile) {}

  /// The embedded schemas, plus `extra` if given (validateValue's schema).
  SchemaSet load(const EmbeddedSchema* extra = nullptr) {
    for (const EmbeddedSchema& e : embeddedSchemas()) add(e);
    for (Kind kind : allKinds())  // a kind defined outside schemas/ brings its own
      if (!kind.def().schemaText().empty()) add({kind.def().schemaFile(), kind.def().schemaText()});
    if (extra) add(*extra);
    for (const auto& [name, json] : set_.files) walk(json, name, name + "#");
    findKinds();
    return std::move(set_);  // std::map moves its nodes: the Targets' pointers stay valid
  }

 private:
  void problem(std::string text) { set_.problems.push_back(std::move(text)); }

  void add(const EmbeddedSchema& e) {
    Json parsed = Json::parse(e.text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded())
      problem(std::string(e.fileName) + " is not valid JSON");
    else
      set_.files.emplace(std::string(e.fileName), std::move(parsed));
  }

  void walk(const Json& s, const std::string& file, const std::string& at) {
    if (s.is_boolean()) return;
    if (!s.is_object()) return problem(at + ": a schema must be an object or a boolean");
    const bool hasRef = s.contains("$ref");
    for (const auto& [key, value] : s.items()) {
      const std::string here = at + "/" + key;
      if (!kKeywords.contains(key))
        problem(here + ": keyword \"" + key + "\" is not supported by hostform's validator");
      else if (hasRef && !kAnnotations.contains(key))
        problem(here + ": only annotations may stand beside $ref");
      else
        checkKeyword(key, value, file, here);
    }
  }

  /// Recurses into subschemas; checks what can be wrong with the others.
  void checkKeyword(const std::string& key, const Json& value, const std::string& file, const std::string& at) {
    static const std::set<std::string, std::less<>> kOneSchema{
        "items", "additionalProperties", "propertyNames", "if", "then", "else"};
    if (key == "definitions" || key == "properties") {
      if (!value.is_object()) return problem(at + ": expected a mapping of schemas");
      for (const auto& [name, sub] : value.items()) walk(sub, file, at + "/" + name);
    } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
      if (!value.is_array()) return problem(at + ": expected a list of schemas");
      for (std::size_t i = 0; i < value.size(); ++i) walk(value[i], file, at + "/" + std::to_string(i));
    } else if (kOneSchema.contains(key)) {
      walk(value, file, at);
    } else if (key == "$ref") {
      addRef(value, file, at);
    } else if (key == "pattern") {
      addPattern(value, at);
    } else if (key == "format" && !(value.is_string() && kFormats.contains(value.get<std::string>()))) {
      problem(at + ": unknown format " + value.dump());
    } else if (key == "type") {
      checkType(value, at);
    }
  }

  void checkType(const Json& type, const std::string& at) {
    const Json list = type.is_array() ? type : Json::array({type});
    for (const Json& t : list)
      if (!t.is_string() || !kTypes.contains(t.get<std::string>())) problem(at + ": unknown type " + t.dump());
  }

  void addPattern(const Json& pattern, const std::string& at) {
    if (!pattern.is_string()) return problem(at + ": a pattern must be a string");
    const std::string& text = pattern.get_ref<const std::string&>();
    if (compile_) {  // as Pattern::get() would say it, once per place naming a bad pattern
      const Pattern here(text, at);
      if (!here.get()) return problem(here.problem());
    }
    set_.patterns.try_emplace(text, text, at);
  }

  void addRef(const Json& ref, const std::string& file, const std::string& at) {
    if (!ref.is_string()) return problem(at + ": $ref must be a string");
    const std::string text = ref.get<std::string>();
    const std::size_t hash = text.find('#');
    const std::string targetFile = hash == 0 ? file : text.substr(0, hash);
    auto it = set_.files.find(targetFile);
    if (it == set_.files.end()) return problem(at + ": $ref names an unknown file \"" + targetFile + "\"");
    try {
      const Json::json_pointer pointer(hash == std::string::npos ? "" : text.substr(hash + 1));
      if (!it->second.contains(pointer)) return problem(at + ": $ref \"" + text + "\" points at nothing");
      set_.refs[{file, text}] = Target{&it->second.at(pointer), targetFile};
    } catch (const Json::exception& e) {
      problem(at + ": $ref \"" + text + "\" is malformed: " + e.what());
    }
  }

  /// The registered kinds (reconciler/kind.h), each with the schema its
  /// module names, whose `kind` must be that kind's const.
  void findKinds() {
    if (!set_.files.contains(kManifestFile)) problem("manifest.schema.json is missing");
    for (Kind kind : allKinds()) {
      const std::string name(kind.name());
      auto file = set_.files.find(kind.def().schemaFile());
      if (file == set_.files.end()) {
        problem("kind " + name + " names schema " + std::string(kind.def().schemaFile()) + ", which does not exist");
        continue;
      }
      const Json declared = file->second.value(Json::json_pointer("/properties/kind/const"), Json());
      // Compared as strings: basic_json's comparisons are ambiguous to newer
      // clang under C++20's reversed operators (nlohmann 3.11).
      if (!declared.is_string() || declared.get<std::string>() != name) {
        problem(file->first + " does not declare kind " + name + " (properties.kind.const)");
        continue;
      }
      set_.kinds.emplace_back(name, Target{&file->second, file->first});
    }
  }

  SchemaSet set_;
  bool compile_;
};

const SchemaSet& schemaSet() {
  static const SchemaSet set = SchemaLoader().load();  // thread-safe since C++11
  return set;
}

// ============================================================================
// YAML values as JSON Schema sees them (YAML 1.2 core schema)
// ============================================================================

enum class Type { Null, Boolean, Integer, Number, String, Mapping, List };

Type scalarType(const yaml::Node& node) {
  // Quoted and block scalars, and !!str ones, are strings; only plain scalars
  // are resolved (the tree folds null, ~ and empty into Null).
  if (!node.plain()) return Type::String;
  switch (yaml::resolvePlain(node.scalar())) {
    case yaml::PlainType::Boolean: return Type::Boolean;
    case yaml::PlainType::Integer: return Type::Integer;
    case yaml::PlainType::Float: return Type::Number;
    case yaml::PlainType::Null: return Type::Null;
    case yaml::PlainType::String: break;
  }
  return Type::String;
}

Type typeOf(const yaml::Node& node) {
  switch (node.type()) {
    case yaml::NodeType::Scalar: return scalarType(node);
    case yaml::NodeType::Sequence: return Type::List;
    case yaml::NodeType::Map: return Type::Mapping;
    default: return Type::Null;  // the tree already folded null, ~ and empty values into Null
  }
}

/// A node with its type, and where to point at it.
struct Instance {
  yaml::Node node;
  Type type;
  yaml::Mark mark;
};

/// An empty value is marked at the token after it, often on the next line;
/// `fallback` (its key) is then the truthful place to point at.
Instance instanceOf(const yaml::Node& node, const yaml::Mark& fallback) {
  const Type type = typeOf(node);
  const bool misplaced = type == Type::Null || node.mark().isNone();
  return {node, type, misplaced ? fallback : node.mark()};
}

bool accepts(std::string_view typeName, Type t) {
  if (typeName == "integer") return t == Type::Integer;
  if (typeName == "number") return t == Type::Integer || t == Type::Number;
  if (typeName == "string") return t == Type::String;
  if (typeName == "boolean") return t == Type::Boolean;
  if (typeName == "null") return t == Type::Null;
  if (typeName == "object") return t == Type::Mapping;
  return typeName == "array" && t == Type::List;
}

std::optional<long double> numberOf(const std::string& text) {
  if (text.find("inf") != std::string::npos || text.find("Inf") != std::string::npos ||
      text.find("INF") != std::string::npos)
    return text.front() == '-' ? -HUGE_VALL : HUGE_VALL;
  if (text.starts_with("0o")) return static_cast<long double>(std::strtoull(text.c_str() + 2, nullptr, 8));
  char* end = nullptr;
  const long double value = std::strtold(text.c_str(), &end);  // also reads 0x…
  if (end == text.c_str()) return std::nullopt;
  return value;
}

std::optional<std::pair<yaml::Node, yaml::Node>> entry(const yaml::Node& mapping, std::string_view name) {
  for (std::size_t i = 0; i < mapping.size(); ++i)
    if (mapping.key(i).isScalar() && mapping.key(i).scalar() == name) return std::pair{mapping.key(i), mapping.value(i)};
  return std::nullopt;
}

// ============================================================================
// Wording
// ============================================================================

/// What was found, for "found …": `"abc"`, `42`, `true`, `null`, `a mapping`.
std::string shown(const Instance& v) {
  switch (v.type) {
    case Type::Null: return "null";
    case Type::String: return quoteValue(v.node.scalar());
    case Type::Mapping: return "a mapping";
    case Type::List: return "a list";
    default: return showValue(v.node.scalar());
  }
}

/// What was found, with its type: `a string "abc"`, `an integer 42`.
std::string described(const Instance& v) {
  switch (v.type) {
    case Type::Boolean: return "a boolean " + shown(v);
    case Type::Integer: return "an integer " + shown(v);
    case Type::Number: return "a number " + shown(v);
    case Type::String: return "a string " + shown(v);
    default: return shown(v);
  }
}

std::string typeNoun(const std::string& typeName) {
  static const std::map<std::string, std::string, std::less<>> nouns{
      {"null", "null"},          {"boolean", "a boolean (true or false)"},
      {"integer", "an integer"}, {"number", "a number"},
      {"string", "a string"},    {"object", "a mapping"},
      {"array", "a list"}};
  return nouns.at(typeName);
}

/// "a", "a or b", "a, b or c" (with `last` = "or"); ", " alone when `last` is empty.
std::string joined(const std::vector<std::string>& words, std::string_view last = "") {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size() && !last.empty()) ? " " + std::string(last) + " " : ", ";
    out += words[i];
  }
  return out;
}

std::string plainText(const Json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

/// The values of an `enum` as a user writes them: up, down.
std::vector<std::string> plainTexts(const Json& values) {
  std::vector<std::string> out;
  for (const Json& v : values) out.push_back(plainText(v));
  return out;
}

std::string counted(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

/// ` (did you mean "mtu"?)` for a near miss (same letters in another case, or
/// at most two edits away), else nothing.
std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t bestDistance = 3;
  for (const std::string& c : candidates) {
    const std::size_t d = equalsIgnoringCase(word, c) ? 0 : editDistance(word, c);
    if (d < bestDistance && d < word.size()) best = &c, bestDistance = d;
  }
  return best ? " (did you mean " + quoteValue(*best) + "?)" : "";
}

// ============================================================================
// Formats: checks a pattern cannot express, with the better hint
// ============================================================================

/// Six pairs of hex digits joined by colons.
bool macShape(std::string_view text) {
  if (text.size() != 17) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (i % 3 == 2 ? text[i] != ':' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  return true;
}

std::optional<std::string> macProblem(const std::string& text) {
  if (!macShape(text)) return "expected a MAC address like 52:54:00:12:34:56, found " + quoteValue(text);
  if (std::stoi(text.substr(0, 2), nullptr, 16) & 1)
    return quoteValue(text) + " is a multicast MAC address; expected a unicast one like 52:54:00:12:34:56";
  if (text.find_first_not_of("0:") == std::string::npos)
    return quoteValue(text) + " is the all-zero MAC address; expected a usable one like 52:54:00:12:34:56";
  return std::nullopt;
}

std::optional<std::string> cidrProblem(const std::string& text) {
  const std::size_t slash = text.rfind('/');
  if (slash == std::string::npos)
    return quoteValue(text) + " has no prefix length; expected an address like 192.168.1.10/24 or fd00::1/64";
  const std::string address = text.substr(0, slash), prefix = text.substr(slash + 1);
  const bool v6 = address.find(':') != std::string::npos;
  unsigned char buffer[16];
  const bool prefixIsNumber =
      !prefix.empty() && prefix.size() <= 3 && prefix.find_first_not_of("0123456789") == std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), buffer) != 1 || !prefixIsNumber)
    return quoteValue(text) +
           " is not a valid IPv4 or IPv6 address with prefix length; expected one like 192.168.1.10/24 or fd00::1/64";
  const int limit = v6 ? 128 : 32;
  if (std::stoi(prefix) > limit)
    return "prefix length " + prefix + " in " + quoteValue(text) + " is out of range for " + (v6 ? "IPv6" : "IPv4") +
           " (0 to " + std::to_string(limit) + ")";
  return std::nullopt;
}

std::optional<std::string> formatProblem(const std::string& format, const Instance& v) {
  const bool text = v.type == Type::String;
  if (format == "size" && (text || v.type == Type::Integer)) {
    if (auto size = parseSize(v.node.scalar()); !size) return size.error().message;
  } else if (format == "duration" && text) {
    if (auto duration = parseDuration(v.node.scalar()); !duration) return duration.error().message;
  } else if (format == "mac" && text) {
    return macProblem(v.node.scalar());
  } else if (format == "cidr" && text) {
    return cidrProblem(v.node.scalar());
  }
  return std::nullopt;
}

// ============================================================================
// The validator
// ============================================================================

struct Issue {
  SourcePos pos;
  std::string path;
  std::string message;
};

/// Where in the document and in the schemas a check is.
struct Where {
  std::string path;             ///< "spec.disks[1].volume"; empty at the root
  std::string field;            ///< the key the value is under; empty for list items and the root
  yaml::Mark keyMark;           ///< where that key was written
  std::string_view file;        ///< the schema file "#/..." references are relative to
  std::string condition;        ///< "type is dir" inside the `then` of an `if`
  const Json* owner = nullptr;  ///< the schema whose `properties` describe this mapping (for defaults)

  Where child(const std::string& key, const yaml::Mark& mark) const {
    return {path.empty() ? key : path + "." + key, key, mark, file, condition, nullptr};
  }
  Where item(std::size_t i) const {
    return {path + "[" + std::to_string(i) + "]", "", yaml::Mark::none(), file, condition, nullptr};
  }
};

class Validator {
 public:
  Validator(const SchemaSet& set, const Locator& locator) : set_(set), locator_(locator) {}

  void document(const yaml::Node& doc);
  /// Checks `node` against the whole of schema file `file`.
  void value(const yaml::Node& node, std::string_view file) {
    Where at;
    at.file = file;
    check(instanceOf(node, node.mark()), set_.files.find(file)->second, at);
  }
  std::vector<Issue> take() { return std::move(issues_); }

 private:
  void check(const Instance& v, const Json& s, const Where& at);
  bool matches(const Instance& v, const Json& s, const Where& at) const;

  bool checkType(const Instance& v, const Json& s, const Where& at);
  std::string typeHint(const Instance& v, const Json& s, const Where& at) const;
  bool checkDecimal(const Instance& v, const Where& at);
  bool checkValue(const Instance& v, const Json& s, const Where& at);
  bool checkFormat(const Instance& v, const Json& s, const Where& at);
  void checkString(const Instance& v, const Json& s, const Where& at);
  /// Whether `text` matches the schemas' pattern `pattern` (RE2's partial match).
  bool matches(const std::string& text, const std::string& pattern) const {
    const Pattern& p = set_.patterns.find(pattern)->second;
    const RE2* re = p.get();
    if (!re) throw UnusablePattern(p.problem());
    return RE2::PartialMatch(text, *re);
  }
  void checkNumber(const Instance& v, const Json& s, const Where& at);
  void checkMapping(const Instance& v, const Json& s, const Where& at);
  void checkField(const yaml::Node& key, const yaml::Node& value, const Json& s, const Where& at);
  void checkList(const Instance& v, const Json& s, const Where& at);
  void checkCombinators(const Instance& v, const Json& s, const Where& at);
  void checkOneOf(const Instance& v, const Json& branches, const Where& at);
  void noMatch(const Instance& v, const Json& branches, const Where& at);
  void checkConditional(const Instance& v, const Json& s, const Where& at);
  std::string describeCondition(const Instance& v, const Json& condition, const Where& at) const;
  const Target* kindSchema(const Instance& root);

  void report(const yaml::Mark& mark, const std::string& path, std::string message) {
    SourcePos pos{locator_.file, 0, 0};
    if (!mark.isNone()) pos = {locator_.file, mark.line + 1, mark.column + 1};
    issues_.push_back({std::move(pos), path, std::move(message)});
  }
  /// Reports at `v`, naming the condition that made the check apply, if any.
  void fail(const Instance& v, const Where& at, const std::string& message) {
    report(v.mark, at.path, message + (at.condition.empty() ? "" : " (when " + at.condition + ")"));
  }
  static std::string requiredWhen(const Where& at) {
    return at.condition.empty() ? "" : " (required when " + at.condition + ")";
  }

  const SchemaSet& set_;
  const Locator& locator_;
  std::vector<Issue> issues_;
  std::set<std::uint32_t> controlReported_;  ///< nodes already reported for a control character
  /// Value identities for uniqueItems (canonical()), per document.
  std::map<std::tuple<int, std::string, std::vector<std::uint64_t>>, std::uint64_t> values_;
  std::unordered_map<std::uint32_t, std::uint64_t> valueOf_;  ///< node index -> identity

  std::uint64_t canonical(const yaml::Node& node);
};

void Validator::document(const yaml::Node& doc) {
  const Instance root = instanceOf(doc, doc.mark());
  if (root.type != Type::Mapping) {
    report(root.mark, "", "expected a mapping with apiVersion, kind, metadata and spec, found " + described(root));
    return;
  }
  Where at;
  if (const Target* kind = kindSchema(root)) {
    at.file = kind->file;
    return check(root, *kind->schema, at);
  }
  // Without a kind there is no schema for the rest; apiVersion can still be judged.
  at.file = kManifestFile;
  const Json& manifest = set_.files.find(kManifestFile)->second;
  if (auto apiVersion = entry(root.node, "apiVersion"))
    check(instanceOf(apiVersion->second, apiVersion->first.mark()), manifest["properties"]["apiVersion"],
          at.child("apiVersion", apiVersion->first.mark()));
  else
    report(root.mark, "", "missing required field \"apiVersion\"");
}

const Target* Validator::kindSchema(const Instance& root) {
  const auto kind = entry(root.node, "kind");
  if (!kind) {
    report(root.mark, "", "missing required field \"kind\"");
    return nullptr;
  }
  const Instance v = instanceOf(kind->second, kind->first.mark());
  if (v.type != Type::String) {
    report(v.mark, "kind", "expected a string, found " + described(v));
    return nullptr;
  }
  std::vector<std::string> names;
  for (const auto& [name, target] : set_.kinds) {
    if (name == v.node.scalar()) return &target;
    names.push_back(name);
  }
  report(v.mark, "kind",
         "unknown kind " + quoteValue(v.node.scalar()) + "; expected one of " + joined(names) +
             didYouMean(v.node.scalar(), names));
  return nullptr;
}

void Validator::check(const Instance& v, const Json& s, const Where& at) {
  if (s.is_boolean()) {
    if (s.get<bool>()) return;
    const std::string what = at.field.empty() ? "this item" : "field " + quoteValue(at.field);
    const yaml::Mark& mark = at.keyMark.isNone() ? v.mark : at.keyMark;
    report(mark, at.path,
           what + " is not allowed " + (at.condition.empty() ? std::string("here") : "when " + at.condition));
    return;
  }
  if (const Json* ref = member(s, "$ref")) {
    // Every size, name and reference field goes through a $ref: resolve each
    // $ref node once per thread, then by its address.
    thread_local std::unordered_map<const Json*, const Target*> resolved;
    const Target*& cached = resolved[ref];
    if (!cached) cached = &set_.refs.at({std::string(at.file), ref->get<std::string>()});
    const Target& target = *cached;
    Where inner = at;
    inner.file = target.file;
    return check(v, *target.schema, inner);
  }
  if (!checkType(v, s, at) || !checkValue(v, s, at)) return;  // nothing more to say about a wrong value
  if (checkFormat(v, s, at)) {  // a format's message is the more precise one; then stop there
    checkString(v, s, at);
    checkNumber(v, s, at);
  }
  Where inner = at;
  if (member(s, "properties")) inner.owner = &s;
  if (v.type == Type::Mapping) checkMapping(v, s, inner);
  if (v.type == Type::List) checkList(v, s, inner);
  checkCombinators(v, s, inner);
  checkConditional(v, s, inner);
}

bool Validator::matches(const Instance& v, const Json& s, const Where& at) const {
  Validator trial(set_, locator_);
  trial.check(v, s, at);
  return trial.issues_.empty();
}

bool Validator::checkType(const Instance& v, const Json& s, const Where& at) {
  const Json* type = member(s, "type");
  if (!type) return true;
  const auto accepted = [&](const Json& name) { return accepts(name.get_ref<const std::string&>(), v.type); };
  if (type->is_string() ? accepted(*type) : std::ranges::any_of(*type, accepted))
    return v.type != Type::Integer || checkDecimal(v, at);
  std::vector<std::string> nouns;
  for (const Json& name : type->is_array() ? *type : Json::array({*type})) nouns.push_back(typeNoun(name.get<std::string>()));
  // A pattern's description ("a duration such as 30s") says more than its type ("a string").
  const Json* expected = member(s, "x-expected");
  fail(v, at,
       "expected " + (expected ? expected->get<std::string>() : joined(nouns, "or")) + ", found " + described(v) +
           typeHint(v, s, at));
  return false;
}

/// YAML 1.2 reads 012 as twelve where YAML 1.1 tools (yaml-cpp's decoding
/// among them) read ten, and few tools read 0o17: only plain decimal is
/// accepted, so that every reader of a manifest sees the same number.
bool Validator::checkDecimal(const Instance& v, const Where& at) {
  const std::string& text = v.node.scalar();
  const std::size_t sign = text.starts_with('-') || text.starts_with('+') ? 1 : 0;
  const std::string digits = text.substr(sign);
  if (digits.size() < 2 || digits[0] != '0') return true;
  const std::string signText = text.substr(0, sign);
  if (std::isdigit(static_cast<unsigned char>(digits[1]))) {
    const std::size_t firstNonZero = std::min(digits.find_first_not_of('0'), digits.size() - 1);
    const std::string suggestion = signText + digits.substr(firstNonZero);
    fail(v, at,
         "expected a decimal integer without leading zeros, found " + shown(v) + " (YAML 1.1 reads it as octal); write " +
             showValue(suggestion));
    return false;
  }
  errno = 0;
  const unsigned long long value = std::strtoull(digits.c_str() + 2, nullptr, digits[1] == 'x' ? 16 : 8);
  const std::string hint = errno == ERANGE ? "" : "; write " + signText + std::to_string(value);
  fail(v, at, "expected a decimal integer, found " + shown(v) + hint);
  return false;
}

/// The two YAML surprises behind most type errors: a bare 1 or true is not a
/// string, and yes/no/on/off are not booleans in YAML 1.2.
std::string Validator::typeHint(const Instance& v, const Json& s, const Where& at) const {
  const bool scalar = v.type == Type::Integer || v.type == Type::Number || v.type == Type::Boolean;
  if (scalar && matches(Instance{v.node, Type::String, v.mark}, s, at))
    return "; write " + quoteValue(v.node.scalar()) + " in quotes to make it a string";
  static constexpr std::string_view kYaml11Booleans[] = {"yes", "no", "on", "off", "y", "n"};
  const Json* type = member(s, "type");
  const bool wantsBoolean =
      type->is_array() ? std::ranges::find(*type, Json("boolean")) != type->end() : *type == "boolean";
  if (v.type == Type::String && wantsBoolean &&
      std::ranges::any_of(kYaml11Booleans, [&](std::string_view w) { return equalsIgnoringCase(w, v.node.scalar()); }))
    return "; in YAML 1.2 only true and false are booleans";
  return "";
}

bool sameValue(const Instance& v, const Json& value) {
  switch (v.type) {
    case Type::String: return value.is_string() && value.get<std::string>() == v.node.scalar();
    case Type::Integer:
    case Type::Number: return value.is_number() && numberOf(v.node.scalar()) == value.get<long double>();
    case Type::Boolean: return value.is_boolean() && value.get<bool>() == (std::tolower(v.node.scalar()[0]) == 't');
    case Type::Null: return value.is_null();
    default: return false;  // the schemas compare no collections
  }
}

bool Validator::checkValue(const Instance& v, const Json& s, const Where& at) {
  if (const Json* constant = member(s, "const"); constant && !sameValue(v, *constant)) {
    report(v.mark, at.path, "expected " + constant->dump() + ", found " + shown(v) + requiredWhen(at));
    return false;
  }
  const Json* choices = member(s, "enum");
  if (!choices || std::ranges::any_of(*choices, [&](const Json& c) { return sameValue(v, c); })) return true;
  const std::vector<std::string> names = plainTexts(*choices);
  const std::string hint = v.type == Type::String ? didYouMean(v.node.scalar(), names) : "";
  report(v.mark, at.path, "expected one of " + joined(names) + ", found " + shown(v) + hint + requiredWhen(at));
  return false;
}

bool Validator::checkFormat(const Instance& v, const Json& s, const Where& at) {
  const Json* format = member(s, "format");
  if (!format) return true;
  const auto problem = formatProblem(format->get<std::string>(), v);
  if (problem) fail(v, at, *problem);
  return !problem;
}

void Validator::checkString(const Instance& v, const Json& s, const Where& at) {
  if (v.type != Type::String) return;
  const std::string& text = v.node.scalar();
  // Values reach C APIs (paths, names, XML, netlink) and terminals: a control
  // character is refused outright, once per value however many schemas see it.
  // A text field (x-multiline: cloud-init's user data) may hold line breaks and tabs.
  std::string flattened;
  if (const Json* multiline = member(s, "x-multiline"); multiline && multiline->is_boolean() && multiline->get<bool>()) {
    flattened = text;
    for (char& c : flattened)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (auto control = controlCharacter(flattened.empty() ? text : flattened)) {
    if (controlReported_.insert(v.node.index()).second)
      fail(v, at,
           "control character " + *control + " in " + quoteValue(text) + "; values must not contain control characters");
    return;
  }
  if (const Json* pattern = member(s, "pattern"); pattern && !matches(text, pattern->get_ref<const std::string&>())) {
    const Json* expected = member(s, "x-expected");
    fail(v, at,
         "expected " + (expected ? expected->get<std::string>() : "a string matching " + pattern->get<std::string>()) +
             ", found " + quoteValue(text));
  }
  // JSON Schema counts characters (code points), not bytes.
  const auto length =
      static_cast<std::size_t>(std::ranges::count_if(text, [](unsigned char c) { return (c & 0xC0) != 0x80; }));
  // Built only for an error: this runs for every string of every document.
  const auto found = [&] { return ", found " + std::to_string(length) + " in " + quoteValue(text); };
  if (const Json* min = member(s, "minLength"); min && length < min->get<std::size_t>())
    fail(v, at, "expected at least " + counted(min->get<std::size_t>(), "character") + found());
  if (const Json* max = member(s, "maxLength"); max && length > max->get<std::size_t>())
    fail(v, at, "expected at most " + counted(max->get<std::size_t>(), "character") + found());
}

void Validator::checkNumber(const Instance& v, const Json& s, const Where& at) {
  if (v.type != Type::Integer && v.type != Type::Number) return;
  const Json* min = member(s, "minimum");
  const Json* max = member(s, "maximum");
  const auto value = numberOf(v.node.scalar());
  const bool low = min && value && *value < min->get<long double>();
  const bool high = max && value && *value > max->get<long double>();
  if (!low && !high) return;
  const std::string found = ", found " + shown(v);
  if (min && max) {
    const Json* type = member(s, "type");
    const std::string noun = type && *type == "integer" ? "an integer" : "a number";
    fail(v, at, "expected " + noun + " from " + min->dump() + " to " + max->dump() + found);
  } else {
    fail(v, at, low ? "expected at least " + min->dump() + found : "expected at most " + max->dump() + found);
  }
}

void Validator::checkMapping(const Instance& v, const Json& s, const Where& at) {
  if (const Json* required = member(s, "required"))
    for (const Json& name : *required)
      if (!entry(v.node, name.get<std::string>()))
        report(v.mark, at.path, "missing required field " + name.dump() + requiredWhen(at));
  if (!member(s, "properties") && !member(s, "additionalProperties") && !member(s, "propertyNames")) return;
  std::map<std::string, yaml::Mark> seen;
  for (std::size_t i = 0; i < v.node.size(); ++i) {
    const yaml::Node key = v.node.key(i);
    if (!key.isScalar()) {
      const Instance keyInstance = instanceOf(key, v.mark);
      fail(keyInstance, at, "expected a field name, found " + described(keyInstance));
      continue;
    }
    const auto [first, fresh] = seen.emplace(key.scalar(), key.mark());
    if (!fresh) {
      // Plain JSON Schema cannot see this: parsers keep one of the two silently.
      report(key.mark(), at.child(key.scalar(), key.mark()).path,
             "duplicate field " + quoteValue(key.scalar()) + " (also at line " +
                 std::to_string(first->second.line + 1) + ")");
      continue;
    }
    checkField(key, v.node.value(i), s, at);
  }
}

void Validator::checkField(const yaml::Node& key, const yaml::Node& value, const Json& s, const Where& at) {
  const std::string& name = key.scalar();
  const Where child = at.child(name, key.mark());
  if (const Json* names = member(s, "propertyNames"))
    check(Instance{key, Type::String, key.mark()}, *names, child);  // keys are strings, whatever they look like
  const Json* properties = member(s, "properties");
  const Json* extra = member(s, "additionalProperties");
  if (const Json* property = properties ? member(*properties, name) : nullptr)
    return check(instanceOf(value, key.mark()), *property, child);
  if (!extra) return;
  if (!extra->is_boolean()) return check(instanceOf(value, key.mark()), *extra, child);
  if (extra->get<bool>()) return;
  std::vector<std::string> known;
  if (properties)
    for (const auto& [property, _] : properties->items()) known.push_back(property);
  report(key.mark(), child.path,
         "unknown field " + quoteValue(name) +
             (known.empty() ? "; no fields are allowed here" : "; expected one of " + joined(known)) +
             didYouMean(name, known));
}

/// An identity of a node's value, equal exactly when two values are equal as
/// uniqueItems compares them (mapping entries in any order). Each node is
/// valued once and aliases share nodes, so nothing is ever expanded: an alias
/// bomb costs its node count, not its expansion. Depth is bounded by the parser.
std::uint64_t Validator::canonical(const yaml::Node& node) {
  if (auto known = valueOf_.find(node.index()); known != valueOf_.end()) return known->second;
  const Type type = typeOf(node);
  std::vector<std::uint64_t> parts;
  if (type == Type::List) {
    for (std::size_t i = 0; i < node.size(); ++i) parts.push_back(canonical(node[i]));
  } else if (type == Type::Mapping) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> entries;
    for (std::size_t i = 0; i < node.size(); ++i) entries.emplace_back(canonical(node.key(i)), canonical(node.value(i)));
    std::ranges::sort(entries);
    for (const auto& [k, v] : entries) parts.insert(parts.end(), {k, v});
  }
  std::string text = type == Type::List || type == Type::Mapping || type == Type::Null ? "" : node.scalar();
  const auto id = values_.emplace(std::tuple(static_cast<int>(type), std::move(text), std::move(parts)),
                                  values_.size()).first->second;
  valueOf_.emplace(node.index(), id);
  return id;
}

void Validator::checkList(const Instance& v, const Json& s, const Where& at) {
  const std::size_t size = v.node.size();
  if (const Json* min = member(s, "minItems"); min && size < min->get<std::size_t>())
    fail(v, at, "expected at least " + counted(min->get<std::size_t>(), "item") + ", found " + std::to_string(size));
  if (const Json* max = member(s, "maxItems"); max && size > max->get<std::size_t>())
    fail(v, at, "expected at most " + counted(max->get<std::size_t>(), "item") + ", found " + std::to_string(size));
  const Json* unique = member(s, "uniqueItems");
  const Json* items = member(s, "items");
  std::map<std::uint64_t, std::size_t> firstAt;
  for (std::size_t i = 0; i < v.node.size(); ++i) {
    const Instance item = instanceOf(v.node[i], v.mark);
    if (unique && unique->get<bool>()) {
      const auto [first, fresh] = firstAt.emplace(canonical(item.node), i);
      const bool scalar = item.type != Type::Mapping && item.type != Type::List;
      if (!fresh)
        fail(item, at.item(i),
             "duplicate item " + (scalar ? shown(item) + " " : std::string()) + "(also at item " +
                 std::to_string(first->second) + ")");
    }
    if (items) check(item, *items, at.item(i));
  }
}

void Validator::checkCombinators(const Instance& v, const Json& s, const Where& at) {
  if (const Json* all = member(s, "allOf"))
    for (const Json& branch : *all) check(v, branch, at);
  if (const Json* any = member(s, "anyOf"))
    if (std::ranges::none_of(*any, [&](const Json& b) { return matches(v, b, at); })) noMatch(v, *any, at);
  if (const Json* one = member(s, "oneOf")) checkOneOf(v, *one, at);
}

/// The names X when every branch is exactly {"required": [X]}: "exactly one of these fields".
std::optional<std::vector<std::string>> exclusiveFields(const Json& branches) {
  std::vector<std::string> names;
  for (const Json& b : branches) {
    const Json* required = member(b, "required");
    if (b.size() != 1 || !required || required->size() != 1) return std::nullopt;
    names.push_back(required->front().get<std::string>());
  }
  return names;
}

void Validator::checkOneOf(const Instance& v, const Json& branches, const Where& at) {
  if (const auto names = exclusiveFields(branches)) {
    if (v.type != Type::Mapping) return;  // the type keyword speaks for non-mappings
    std::vector<std::string> present;
    for (const std::string& name : *names)
      if (entry(v.node, name)) present.push_back(name);
    if (present.size() != 1)
      fail(v, at,
           "expected exactly one of " + joined(*names) + "; found " +
               (present.empty() ? std::string("none") : joined(present, "and")));
    return;
  }
  const auto count = std::ranges::count_if(branches, [&](const Json& b) { return matches(v, b, at); });
  if (count == 0) noMatch(v, branches, at);
  if (count > 1)
    fail(v, at, "found " + described(v) + ", which matches more than one allowed form; expected exactly one");
}

/// When only one branch accepts the value's type, its own errors are the
/// useful ones; otherwise one sentence rather than every branch's failures.
void Validator::noMatch(const Instance& v, const Json& branches, const Where& at) {
  std::vector<const Json*> candidates;
  for (const Json& b : branches) {
    const Json* type = member(b, "type");
    const bool typeFits =
        !type || std::ranges::any_of(type->is_array() ? *type : Json::array({*type}),
                                     [&](const Json& t) { return accepts(t.get<std::string>(), v.type); });
    if (typeFits) candidates.push_back(&b);
  }
  if (candidates.size() == 1) return check(v, *candidates.front(), at);
  fail(v, at, "found " + described(v) + ", which does not match any allowed form");
}

void Validator::checkConditional(const Instance& v, const Json& s, const Where& at) {
  const Json* condition = member(s, "if");
  if (!condition) return;
  const bool holds = matches(v, *condition, at);
  const Json* branch = member(s, holds ? "then" : "else");
  if (!branch) return;
  Where inner = at;
  if (holds) {
    const std::string text = describeCondition(v, *condition, at);
    inner.condition = at.condition.empty() ? text : text.empty() ? at.condition : at.condition + " and " + text;
  }
  check(v, *branch, inner);
}

const Json* defaultOf(const Json* owner, const std::string& name) {
  const Json* properties = owner ? member(*owner, "properties") : nullptr;
  const Json* property = properties ? member(*properties, name) : nullptr;
  return property ? member(*property, "default") : nullptr;
}

/// "type is dir", "backingVolume is set": the `if` in words, with the value
/// the document has (or its default, when the `if` matched an absent field).
std::string Validator::describeCondition(const Instance& v, const Json& condition, const Where& at) const {
  if (v.type != Type::Mapping) return "";
  std::vector<std::string> parts;
  std::set<std::string> described;
  if (const Json* properties = member(condition, "properties"))
    for (const auto& [name, test] : properties->items()) {
      const Json* constant = member(test, "const");
      const Json* choices = member(test, "enum");
      if (!constant && !choices) return "";  // not expressible in a few words
      std::string value = constant ? plainText(*constant) : joined(plainTexts(*choices), "or");
      if (auto present = entry(v.node, name); present && present->second.isScalar())
        value = present->second.scalar();
      else if (const Json* fallback = defaultOf(at.owner, name))
        value = plainText(*fallback);
      parts.push_back(name + " is " + value);
      described.insert(name);
    }
  if (const Json* required = member(condition, "required"))
    for (const Json& name : *required)
      if (!described.contains(name.get<std::string>())) parts.push_back(name.get<std::string>() + " is set");
  return joined(parts, "and");
}

}  // namespace

// Compiles every pattern, which a run does not need (it compiles the patterns
// it uses): a load of its own, for the tests that keep the schemas usable.
const std::vector<std::string>& embeddedSchemaProblems() {
  static const SchemaSet checked = SchemaLoader(Patterns::Compile).load();
  return checked.problems;
}

namespace {

constexpr std::string_view kInlineFile = "inline.schema.json";

/// Runs `validate` on a fresh Validator and reports what it found, in document
/// order. A mapping checked by several schemas (allOf, then) may have the same
/// problem found twice: it is said once.
template <class F>
void run(const SchemaSet& set, const yaml::Node& subject, const Locator& where, Diagnostics& out, F&& validate) {
  if (!set.problems.empty()) {
    out.error(where.at(subject), "", "internal error: the schemas are unusable: " + set.problems.front());
    return;
  }
  std::vector<Issue> issues;
  try {
    Validator validator(set, where);
    validate(validator);
    issues = validator.take();
  } catch (const UnusablePattern& e) {
    out.error(where.at(subject), "", std::string("internal error: the schemas are unusable: ") + e.what());
    return;
  } catch (const std::exception& e) {
    out.error(where.at(subject), "", std::string("internal error while validating: ") + e.what());
    return;
  }
  std::stable_sort(issues.begin(), issues.end(), [](const Issue& a, const Issue& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  std::set<std::tuple<int, int, std::string, std::string>> said;
  for (Issue& issue : issues)
    if (said.emplace(issue.pos.line, issue.pos.column, issue.path, issue.message).second)
      out.error(std::move(issue.pos), std::move(issue.path), std::move(issue.message));
}

}  // namespace

void validateDocument(const yaml::Node& doc, const Locator& where, Diagnostics& out) {
  try {
    run(schemaSet(), doc, where, out, [&](Validator& v) { v.document(doc); });
  } catch (const std::exception& e) {  // only a failing first load of the schemas gets here
    out.error(where.at(doc), "", std::string("internal error loading the schemas: ") + e.what());
  }
}

void validateValue(const yaml::Node& value, std::string_view schemaJson, const Locator& where, Diagnostics& out) {
  try {
    const EmbeddedSchema extra{kInlineFile, schemaJson};
    const SchemaSet set = SchemaLoader(Patterns::Compile).load(&extra);
    run(set, value, where, out, [&](Validator& v) { v.value(value, kInlineFile); });
  } catch (const std::exception& e) {
    out.error(where.at(value), "", std::string("internal error loading the schema: ") + e.what());
  }
}

}  // namespace hostform::schema
