#pragma once
/// A read-only YAML document tree built from libyaml's event parser.
///
/// Why not yaml-cpp's YAML::Node for reading: measured on a 10,000-resource
/// manifest, yaml-cpp parses at about 2 MB/s (≈0.8 s) — more than the whole
/// load+validate+plan budget — while libyaml's parser runs at about 17 MB/s.
/// Nodes live in one vector per document and are addressed by index, so a
/// document is a handful of allocations instead of one per node.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reconciler/limits.h"

namespace hostform::yaml {

enum class NodeType { Null, Scalar, Sequence, Map };

/// 0-based, like every YAML library; diagnostics add one.
struct Mark {
  int line = 0;
  int column = 0;
  /// "No position", for callers that keep an optional place to point at.
  static Mark none() { return {-1, -1}; }
  bool isNone() const { return line < 0; }
};

class Document;

/// A cheap handle to a node of a Document; default-constructed: "not there"
/// (what looking up a missing key returns).
class Node {
 public:
  Node() = default;
  explicit operator bool() const { return doc_ != nullptr; }

  NodeType type() const;
  bool isNull() const { return *this && type() == NodeType::Null; }
  bool isScalar() const { return *this && type() == NodeType::Scalar; }
  bool isSequence() const { return *this && type() == NodeType::Sequence; }
  bool isMap() const { return *this && type() == NodeType::Map; }

  /// The scalar's text (empty for other nodes).
  const std::string& scalar() const;
  /// True for a plain (unquoted, non-block) scalar without an explicit tag:
  /// only those are resolved to null, booleans and numbers (YAML 1.2 core
  /// schema). `!!str`, the one tag hostform reads, makes a scalar a string.
  bool plain() const;
  Mark mark() const;
  /// The node's place in its document: the same for a node and every alias of
  /// it, so walks can visit a shared node once.
  std::uint32_t index() const { return index_; }

  /// Items of a sequence, entries of a map.
  std::size_t size() const;
  /// Map lookup by key text; a missing key (or a non-map) gives an empty Node.
  Node operator[](std::string_view key) const;
  /// Sequence item; out of range gives an empty Node.
  Node operator[](std::size_t index) const;
  Node operator[](int index) const { return (*this)[static_cast<std::size_t>(index)]; }
  /// The i-th key and value of a map.
  Node key(std::size_t i) const;
  Node value(std::size_t i) const;

 private:
  friend class Document;
  Node(const Document* doc, std::uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  std::uint32_t index_ = 0;
};

/// One document of a stream. Not copyable: nodes point into it.
class Document {
 public:
  Document() = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;

  Node root() const { return nodes_.empty() ? Node() : Node(this, 0); }
  /// Where the document starts in the stream.
  Mark start() const { return start_; }
  bool empty() const { return nodes_.empty() || (nodes_[0].type == NodeType::Null && nodes_.size() == 1); }

 private:
  friend class Node;
  friend class StreamParser;
  struct Data {
    NodeType type = NodeType::Null;
    bool plain = false;
    Mark mark;
    std::string text;                  ///< scalar value
    std::vector<std::uint32_t> items;  ///< sequence items, or map key/value pairs flattened
    std::uint64_t expandedNodes = 1;   ///< this node with its aliases expanded
    std::uint64_t expandedBytes = 0;   ///< the scalar text in it, aliases expanded
  };
  std::vector<Data> nodes_;
  Mark start_;
};

struct ParseError {
  Mark mark;
  std::string message;  ///< "did not find expected key while parsing a block mapping"
  bool limit = false;   ///< a bound of reconciler/limits.h, not a syntax error
};

/// What a plain scalar means under YAML 1.2's core schema: `null`/`~`/empty,
/// `true`/`false` (three spellings each), integers (decimal, 0x, 0o), floats
/// (with .inf and .nan), else a string. By hand, in one pass: never a regex on input.
enum class PlainType { Null, Boolean, Integer, Float, String };
PlainType resolvePlain(std::string_view text);

/// Reads a stream one document at a time, so only one document's tree is in
/// memory at once. Enforces the bounds of reconciler/limits.h as it reads:
/// nesting depth, scalar size, alias expansion (nodes and bytes, checked per
/// alias, so a billion-laughs file stops at the alias that crosses the bound),
/// no alias into the node that contains it, and no tag but `!!str`. Aliased
/// nodes are shared, never copied.
class StreamParser {
 public:
  /// `documentBudget`: how many more documents this run may read.
  explicit StreamParser(std::string_view text, std::size_t documentBudget = limits::kDocuments);
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  /// The next document, or nullopt at the end of the stream or after an error
  /// (then error() says what). A syntax error ends the stream: YAML cannot
  /// resynchronise after one.
  std::optional<Document> next();
  const std::optional<ParseError>& error() const { return error_; }
  /// Documents read so far, empty ones included.
  std::size_t documents() const { return documents_; }

 private:
  struct Impl;
  Impl* impl_;
  std::optional<ParseError> error_;
  std::size_t documents_ = 0;
  std::size_t documentBudget_;
};

}  // namespace hostform::yaml
