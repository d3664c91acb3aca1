#pragma once
/// What a kind module gives the engine (reconciler/kinds/<kind>.{h,cpp}, one
/// per kind, next to schemas/<kind>.schema.json): its name and rank, its
/// schema, and for its spec type the decoding with the checks a schema cannot
/// express, the encoding `export` writes, the fields a plan compares and
/// shows, its references and its identity's scope (KindFunctions).
///
/// The loader, the manifest writer, the planner, the CLI and the reference
/// doc iterate over the registered kinds and never name one. A module
/// registers itself with HOSTFORM_REGISTER_KIND; docs/architecture.md says
/// step by step how to add one.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reconciler/diagnostics.h"
#include "reconciler/model.h"
#include "reconciler/yaml_tree.h"

namespace YAML {
class Emitter;
}

namespace hostform {

// ---- reading a schema-valid document into a spec ---------------------------

/// One document's spec, already validated against the kind's schema, read
/// into a typed spec. The schema has checked types and shapes; what a kind
/// checks through `error` is what a schema cannot say (sizes that overflow,
/// maxVcpus ≥ vcpus, reserved names). Every error is reported at its node,
/// with its field path, and makes the document invalid.
class SpecReader {
 public:
  SpecReader(const yaml::Node& document, const Locator& where, Diagnostics& diags);

  /// The document's `spec` and `metadata.name` nodes.
  const yaml::Node& spec() const { return spec_; }
  const yaml::Node& nameNode() const { return name_; }
  const std::string& name() const { return name_.scalar(); }

  void error(const yaml::Node& at, const std::string& path, std::string message);
  bool failed() const { return failed_; }

  /// A value in a message: as written when short, else cut (text.h).
  static std::string shown(const yaml::Node& n);

  static const std::string& text(const yaml::Node& n) { return n.scalar(); }
  static std::optional<std::string> optText(const yaml::Node& n);
  static bool flag(const yaml::Node& n, bool fallback);
  static std::uint32_t number(const yaml::Node& n);
  static std::vector<std::string> texts(const yaml::Node& n);
  /// A MAC address in lower case.
  static std::optional<std::string> mac(const yaml::Node& n);
  /// A word of one of the kind's enums (fromString), `fallback` when absent.
  template <class E>
  static E choice(const yaml::Node& n, E fallback) {
    E out = fallback;
    if (n) fromString(n.scalar(), out);
    return out;
  }

  Bytes size(const yaml::Node& n, const std::string& path, Bytes fallback = 0);
  /// A size that must be greater than 0.
  Bytes positiveSize(const yaml::Node& n, const std::string& path);
  Millis duration(const yaml::Node& n, const std::string& path, Millis fallback);
  /// A local path stays where it says: no ".." component, so /dev/../etc/passwd
  /// is never a device (and never reaches a backend).
  void checkPath(const yaml::Node& n, const std::string& path);

 private:
  const Locator& where_;
  Diagnostics& diags_;
  yaml::Node spec_, name_;
  bool failed_ = false;
};

// ---- writing a spec as a manifest (export) ----------------------------------

/// Writes the fields of one mapping; the `changed`/`word`/`duration` forms
/// leave a field out when it holds its default, so exports stay short.
class SpecWriter {
 public:
  explicit SpecWriter(YAML::Emitter& out) : out_(out) {}

  void put(const char* key, const std::string& value);
  void put(const char* key, std::uint32_t value);
  void put(const char* key, bool value);
  template <class T>
  void changed(const char* key, const T& value, const T& fallback) {
    if (!(value == fallback)) put(key, value);
  }
  template <class E>
  void word(const char* key, E value, E fallback) {
    if (value != fallback) put(key, std::string(toString(value)));
  }
  void opt(const char* key, const std::optional<std::string>& value) {
    if (value) put(key, *value);
  }
  void size(const char* key, Bytes value);
  void duration(const char* key, Millis value, Millis fallback);
  /// A block list of strings; nothing when empty.
  void list(const char* key, const std::vector<std::string>& items);
  /// A flow list of words: `boot: [hd, cdrom]`.
  void flowList(const char* key, const std::vector<std::string>& items);
  /// A free-form value a spec keeps as JSON text (cloud-init's metaData),
  /// written back as the YAML maps, lists and scalars it holds.
  void json(const char* key, const std::string& jsonText);

  /// A nested mapping: begin(key) … end().
  void begin(const char* key);
  void end();
  /// A block list of mappings: beginList(key), then beginItem() … endItem() each, endList().
  void beginList(const char* key);
  void beginItem();
  void endItem();
  /// A plain string item of a list begun with beginList (a bridge port without options).
  void item(const std::string& value);
  void endList();

 private:
  YAML::Emitter& out_;
};

// ---- the fields a plan shows -----------------------------------------------

/// Collects a spec's fields in order, leaving unset optionals out.
class FieldList {
 public:
  explicit FieldList(std::vector<Field>& out) : out_(out) {}
  void add(std::string path, std::string value) { out_.push_back({std::move(path), std::move(value)}); }
  void add(std::string path, const std::optional<std::string>& value) {
    if (value) add(std::move(path), *value);
  }
  void add(std::string path, bool value) { add(std::move(path), std::string(value ? "true" : "false")); }
  void add(std::string path, const char* value) { add(std::move(path), std::string(value)); }

 private:
  std::vector<Field>& out_;
};

/// "[a, b]", as plans show lists.
std::string showList(const std::vector<std::string>& items);

/// An enum's YAML spellings, one table per enum: the manifest's word is the
/// only spelling. A kind module defines toString/fromString with these.
template <class E, std::size_t N>
using EnumNames = std::array<std::pair<E, std::string_view>, N>;

template <class E, std::size_t N>
constexpr std::string_view nameIn(const EnumNames<E, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
constexpr bool parseIn(const EnumNames<E, N>& table, std::string_view text, E& out) {
  for (const auto& [v, name] : table)
    if (name == text) {
      out = v;
      return true;
    }
  return false;
}

/// Declares toString/fromString for an enum of a kind module ...
#define HOSTFORM_DECLARE_ENUM_NAMES(E)    \
  std::string_view toString(E value);     \
  bool fromString(std::string_view text, E& out);
/// ... and defines them from a table.
#define HOSTFORM_DEFINE_ENUM_NAMES(E, table)                                                  \
  std::string_view toString(E value) { return ::hostform::nameIn(table, value); }             \
  bool fromString(std::string_view text, E& out) { return ::hostform::parseIn(table, text, out); }

// ---- the module -------------------------------------------------------------

/// One kind, as the engine sees it. A module defines one constant
/// KindOf<ItsSpec> (below), constant-initialised, so a Kind handle to it is
/// usable from anywhere at any time, static initialisation included.
class KindDef {
 public:
  constexpr KindDef(std::string_view name, int rank, std::string_view schemaFile, std::string_view schemaText)
      : name_(name), rank_(rank), schemaFile_(schemaFile), schemaText_(schemaText) {}
  virtual ~KindDef() = default;
  KindDef(const KindDef&) = delete;
  KindDef& operator=(const KindDef&) = delete;

  /// The `kind:` of manifests: "Bridge".
  std::string_view name() const { return name_; }
  /// Plans and exports list kinds by rank; ranks are unique.
  int rank() const { return rank_; }
  /// Its schema among schemas/*.schema.json: "bridge.schema.json".
  std::string_view schemaFile() const { return schemaFile_; }
  /// The schema's JSON text when it is not one of the embedded schemas/ files
  /// (a kind defined outside the tree, as the tests' own); empty otherwise.
  std::string_view schemaText() const { return schemaText_; }

  /// The spec of a schema-valid document; errors through `in`.
  virtual Spec decode(SpecReader& in) const = 0;
  /// The spec's fields as a manifest writes them (export).
  virtual void encode(const Spec& spec, SpecWriter& out) const = 0;
  /// Every comparable leaf, as the plan shows it.
  virtual void fields(const Spec& spec, FieldList& out) const = 0;
  /// The resources this spec refers to.
  virtual void references(const Spec& spec, std::vector<Reference>& out) const = 0;
  /// The scope of its identity (the VG of a logical volume); empty: none.
  virtual std::string scope(const Spec& spec) const = 0;

 private:
  std::string_view name_;
  int rank_;
  std::string_view schemaFile_;
  std::string_view schemaText_;
};

/// What a kind module implements for its spec type S.
template <class S>
struct KindFunctions {
  S (*read)(SpecReader& in);                     ///< a schema-valid document's spec, with the kind's own checks
  void (*write)(const S& spec, SpecWriter& out); ///< the spec as `export` writes it
  void (*list)(const S& spec, FieldList& out);   ///< every comparable leaf, as plans show it
  void (*refer)(const S& spec, std::vector<Reference>& out) = nullptr;  ///< none: it refers to nothing
  std::string (*scope)(const S& spec) = nullptr;                        ///< none: an unscoped identity
};

/// A kind whose specs are S; a module defines one with HOSTFORM_KIND (below).
template <class S>
class KindOf final : public KindDef {
 public:
  constexpr KindOf(std::string_view name, int rank, std::string_view schemaFile, KindFunctions<S> functions,
                   std::string_view schemaText = {})
      : KindDef(name, rank, schemaFile, schemaText), f_(functions) {}

  Spec decode(SpecReader& in) const override { return Spec(f_.read(in)); }
  void encode(const Spec& spec, SpecWriter& out) const override { f_.write(spec.get<S>(), out); }
  void fields(const Spec& spec, FieldList& out) const override { f_.list(spec.get<S>(), out); }
  void references(const Spec& spec, std::vector<Reference>& out) const override {
    if (f_.refer) f_.refer(spec.get<S>(), out);
  }
  std::string scope(const Spec& spec) const override { return f_.scope ? f_.scope(spec.get<S>()) : std::string(); }

 private:
  KindFunctions<S> f_;
};

/// Adds a kind to the process-wide list (allKinds). Two kinds with one name
/// or one rank are a programming error: the second is refused, with a message
/// on stderr, and the call returns false.
bool registerKind(const KindDef& kind);

#define HOSTFORM_KIND_CONCAT_INNER(a, b) a##b
#define HOSTFORM_KIND_CONCAT(a, b) HOSTFORM_KIND_CONCAT_INNER(a, b)
#define HOSTFORM_REGISTER_KIND(def) \
  static const bool HOSTFORM_KIND_CONCAT(hostform_kind_registered_, __LINE__) = ::hostform::registerKind(def)

/// Defines a kind module's constant, declared `extern const KindOf<S> var;` in
/// its header, and registers it:
///   HOSTFORM_KIND(kBridgeKind, BridgeSpec, "Bridge", 10, "bridge.schema.json",
///                 {.read = read, .write = write, .list = list});
/// Arguments after the schema file are KindOf's: the functions, then
/// optionally the schema's text.
#define HOSTFORM_KIND(var, S, name, rank, schemaFile, ...)                           \
  constinit const ::hostform::KindOf<S> var{name, rank, schemaFile, __VA_ARGS__}; \
  HOSTFORM_REGISTER_KIND(var)

}  // namespace hostform
