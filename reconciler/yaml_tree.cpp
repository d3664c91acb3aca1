#include "reconciler/yaml_tree.h"

#include <yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "reconciler/limits.h"

namespace hostform::yaml {

// ---- Node ------------------------------------------------------------------------

namespace {
const std::string kEmpty;
}

NodeType Node::type() const { return doc_ ? doc_->nodes_[index_].type : NodeType::Null; }
const std::string& Node::scalar() const { return doc_ ? doc_->nodes_[index_].text : kEmpty; }
bool Node::plain() const { return doc_ && doc_->nodes_[index_].plain; }
Mark Node::mark() const { return doc_ ? doc_->nodes_[index_].mark : Mark{}; }

std::size_t Node::size() const {
  if (!doc_) return 0;
  const auto& d = doc_->nodes_[index_];
  return d.type == NodeType::Map ? d.items.size() / 2 : d.type == NodeType::Sequence ? d.items.size() : 0;
}

Node Node::operator[](std::string_view key) const {
  if (!isMap()) return {};
  const auto& items = doc_->nodes_[index_].items;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const auto& k = doc_->nodes_[items[i]];
    if (k.type == NodeType::Scalar && k.text == key) return Node(doc_, items[i + 1]);
  }
  return {};
}

Node Node::operator[](std::size_t index) const {
  if (!isSequence() || index >= size()) return {};
  return Node(doc_, doc_->nodes_[index_].items[index]);
}

Node Node::key(std::size_t i) const {
  if (!isMap() || i >= size()) return {};
  return Node(doc_, doc_->nodes_[index_].items[2 * i]);
}

Node Node::value(std::size_t i) const {
  if (!isMap() || i >= size()) return {};
  return Node(doc_, doc_->nodes_[index_].items[2 * i + 1]);
}

// ---- YAML 1.2 core schema --------------------------------------------------------

namespace {
bool digits(std::string_view t, std::string_view allowed) {
  return !t.empty() && t.find_first_not_of(allowed) == std::string_view::npos;
}
}  // namespace

PlainType resolvePlain(std::string_view text) {
  static constexpr std::string_view kNulls[] = {"", "~", "null", "Null", "NULL"};
  static constexpr std::string_view kBooleans[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
  if (std::ranges::find(kNulls, text) != std::end(kNulls)) return PlainType::Null;
  if (std::ranges::find(kBooleans, text) != std::end(kBooleans)) return PlainType::Boolean;
  if (text.starts_with("0x") && digits(text.substr(2), "0123456789abcdefABCDEF")) return PlainType::Integer;
  if (text.starts_with("0o") && digits(text.substr(2), "01234567")) return PlainType::Integer;
  std::string_view t = text;
  if (t.starts_with('-') || t.starts_with('+')) t.remove_prefix(1);
  if (digits(t, "0123456789")) return PlainType::Integer;
  // [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE][-+]?[0-9]+ )?  |  [-+]?\.inf  |  \.nan
  if (t == ".inf" || t == ".Inf" || t == ".INF") return PlainType::Float;
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return PlainType::Float;
  const std::size_t intDigits = std::min(t.find_first_not_of("0123456789"), t.size());
  std::size_t i = intDigits, fraction = 0;
  if (i < t.size() && t[i] == '.') {
    const std::size_t end = std::min(t.find_first_not_of("0123456789", i + 1), t.size());
    fraction = end - i - 1;
    i = end;
  }
  if (intDigits == 0 && fraction == 0) return PlainType::String;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    std::string_view exponent = t.substr(i + 1);
    if (exponent.starts_with('-') || exponent.starts_with('+')) exponent.remove_prefix(1);
    return digits(exponent, "0123456789") ? PlainType::Float : PlainType::String;
  }
  return i == t.size() ? PlainType::Float : PlainType::String;
}

// ---- StreamParser ----------------------------------------------------------------

struct StreamParser::Impl {
  yaml_parser_t parser{};
  std::string_view input;
  bool ended = false;

  explicit Impl(std::string_view text) : input(text) {
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Impl() { yaml_parser_delete(&parser); }
};

namespace {

/// Owns one libyaml event for its scope.
struct Event {
  yaml_event_t e{};
  bool valid = false;
  ~Event() {
    if (valid) yaml_event_delete(&e);
  }
};

Mark markOf(const yaml_mark_t& m) { return {static_cast<int>(m.line), static_cast<int>(m.column)}; }

std::string text(const yaml_char_t* s) { return s ? reinterpret_cast<const char*>(s) : std::string(); }

}  // namespace

StreamParser::StreamParser(std::string_view text, std::size_t documentBudget)
    : impl_(new Impl(text)), documentBudget_(documentBudget) {}
StreamParser::~StreamParser() { delete impl_; }

namespace {

/// Line and column of a byte offset (libyaml's reader errors give only the offset).
Mark markAt(std::string_view text, std::size_t offset) {
  Mark m;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.column = 0;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++m.column;  // a column is a character: UTF-8 continuation bytes do not count
    }
  }
  return m;
}

/// "!!binary" for "tag:yaml.org,2002:binary"; other tags as written.
std::string shortTag(const std::string& tag) {
  static constexpr std::string_view kCore = "tag:yaml.org,2002:";
  return tag.starts_with(kCore) ? "!!" + tag.substr(kCore.size()) : tag;
}

}  // namespace

std::optional<Document> StreamParser::next() {
  if (impl_->ended || error_) return std::nullopt;
  Document doc;
  std::vector<std::uint32_t> open;  // containers being filled
  std::map<std::string, std::uint32_t> anchors;
  bool inDocument = false;

  auto fail = [&]() -> std::optional<Document> {
    const yaml_parser_t& p = impl_->parser;
    // Reader errors (bad UTF-8, control characters) set only the offset.
    const Mark at = p.error == YAML_READER_ERROR ? markAt(impl_->input, p.problem_offset)
                                                 : markOf(p.problem ? p.problem_mark : p.context_mark);
    std::string message = p.problem ? p.problem : "invalid YAML";
    if (p.error == YAML_READER_ERROR && p.problem_value >= 0) {
      char code[16];
      std::snprintf(code, sizeof code, " (#x%X)", static_cast<unsigned>(p.problem_value));
      message += code;
    }
    if (p.context) message += " " + std::string(p.context);
    // libyaml's words for a tab ("found character that cannot start any
    // token") do not say what to do about it.
    if (p.error != YAML_READER_ERROR) {
      const std::size_t index = p.problem ? p.problem_mark.index : p.context_mark.index;
      if (index < impl_->input.size() && impl_->input[index] == '\t')
        message = "a tab character; YAML does not allow tabs for indentation: indent with spaces";
    }
    error_ = ParseError{at, message};
    return std::nullopt;
  };
  auto limit = [&](const yaml_mark_t& at, std::string message) -> std::optional<Document> {
    error_ = ParseError{markOf(at), std::move(message), true};
    return std::nullopt;
  };
  // Adds a node and hangs it under the open container.
  auto add = [&](Document::Data data, const yaml_char_t* anchor) -> std::uint32_t {
    const auto index = static_cast<std::uint32_t>(doc.nodes_.size());
    doc.nodes_.push_back(std::move(data));
    if (!open.empty()) doc.nodes_[open.back()].items.push_back(index);
    if (anchor) anchors[text(anchor)] = index;
    return index;
  };
  // Nodes and bytes of the document so far, aliases expanded.
  std::uint64_t expandedNodes = 0, expandedBytes = 0;
  auto grow = [&](std::uint64_t nodes, std::uint64_t bytes, const yaml_mark_t& at) -> bool {
    expandedNodes += nodes;
    expandedBytes += bytes;
    if (expandedNodes <= limits::kExpandedNodes && expandedBytes <= limits::kExpandedBytes) return true;
    limit(at, "aliases expand this document beyond " + std::to_string(limits::kExpandedNodes) +
                  " nodes or 64 MiB of text; hostform reads documents up to that size");
    return false;
  };
  auto tagged = [&](const yaml_char_t* tag) -> std::optional<std::string> {
    if (!tag) return std::nullopt;
    const std::string t = text(tag);
    if (t == "tag:yaml.org,2002:str") return std::nullopt;
    return "the tag " + shortTag(t) + " is not supported; hostform reads plain YAML values (and !!str)";
  };

  for (;;) {
    Event ev;
    if (!yaml_parser_parse(&impl_->parser, &ev.e)) return fail();
    ev.valid = true;
    const yaml_event_t& e = ev.e;
    switch (e.type) {
      case YAML_STREAM_END_EVENT:
        impl_->ended = true;
        return std::nullopt;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents_ > documentBudget_)
          return limit(e.start_mark, "more than " + std::to_string(limits::kDocuments) +
                                         " documents; hostform reads at most that many in one run");
        inDocument = true;
        doc.start_ = markOf(e.start_mark);
        break;
      case YAML_DOCUMENT_END_EVENT:
        if (inDocument) return doc;
        break;
      case YAML_SCALAR_EVENT: {
        if (e.data.scalar.length > limits::kScalarBytes)
          return limit(e.start_mark, "a value of " + std::to_string(e.data.scalar.length) +
                                         " bytes; hostform reads values of at most 64 KiB");
        if (auto problem = tagged(e.data.scalar.tag)) return limit(e.start_mark, *problem);
        if (!grow(1, e.data.scalar.length, e.start_mark)) return std::nullopt;
        Document::Data d;
        d.type = NodeType::Scalar;
        d.mark = markOf(e.start_mark);
        d.text.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        d.plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e.data.scalar.tag;
        d.expandedBytes = d.text.size();
        if (d.plain && resolvePlain(d.text) == PlainType::Null) d.type = NodeType::Null;
        add(std::move(d), e.data.scalar.anchor);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool seq = e.type == YAML_SEQUENCE_START_EVENT;
        if (open.size() >= limits::kDepth)
          return limit(e.start_mark, "mappings and lists nested more than " + std::to_string(limits::kDepth) +
                                         " levels deep; hostform reads at most that depth");
        if (auto problem = tagged(seq ? e.data.sequence_start.tag : e.data.mapping_start.tag))
          return limit(e.start_mark, *problem);
        if (!grow(1, 0, e.start_mark)) return std::nullopt;
        Document::Data d;
        d.type = seq ? NodeType::Sequence : NodeType::Map;
        d.mark = markOf(e.start_mark);
        open.push_back(add(std::move(d), seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor));
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Document::Data& closed = doc.nodes_[open.back()];
        for (std::uint32_t item : closed.items) {
          closed.expandedNodes += doc.nodes_[item].expandedNodes;
          closed.expandedBytes += doc.nodes_[item].expandedBytes;
        }
        open.pop_back();
        break;
      }
      case YAML_ALIAS_EVENT: {
        auto it = anchors.find(text(e.data.alias.anchor));
        if (it == anchors.end()) {
          error_ = ParseError{markOf(e.start_mark), "unknown alias *" + text(e.data.alias.anchor)};
          return std::nullopt;
        }
        // An alias into a node still open would make the tree a cycle.
        if (std::ranges::find(open, it->second) != open.end())
          return limit(e.start_mark, "the alias *" + text(e.data.alias.anchor) +
                                         " refers to a node that contains it; hostform reads no recursive aliases");
        // The alias shares the anchored node: the tree becomes a DAG, which
        // read-only walks handle as if the node were copied. The copy is
        // counted, so expansion stays bounded.
        const Document::Data& target = doc.nodes_[it->second];
        if (!grow(target.expandedNodes, target.expandedBytes, e.start_mark)) return std::nullopt;
        if (!open.empty()) doc.nodes_[open.back()].items.push_back(it->second);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace hostform::yaml
