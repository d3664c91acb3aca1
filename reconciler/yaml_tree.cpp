#include "reconciler/yaml_tree.h"

#include <yaml.h>

#include <map>
#include <memory>

namespace hostform::yaml {

// ---- Node ------------------------------------------------------------------------

namespace {
const std::string kEmpty;
}

NodeType Node::type() const { return doc_ ? doc_->nodes_[index_].type : NodeType::Null; }
const std::string& Node::scalar() const { return doc_ ? doc_->nodes_[index_].text : kEmpty; }
bool Node::plain() const { return doc_ && doc_->nodes_[index_].plain; }
const std::string& Node::tag() const { return doc_ ? doc_->nodes_[index_].tag : kEmpty; }
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

StreamParser::StreamParser(std::string_view text) : impl_(new Impl(text)) {}
StreamParser::~StreamParser() { delete impl_; }

std::optional<Document> StreamParser::next() {
  if (impl_->ended || error_) return std::nullopt;
  Document doc;
  std::vector<std::uint32_t> open;  // containers being filled
  std::map<std::string, std::uint32_t> anchors;
  bool inDocument = false;

  auto fail = [&]() -> std::optional<Document> {
    const yaml_parser_t& p = impl_->parser;
    const yaml_mark_t& at = p.problem ? p.problem_mark : p.context_mark;
    std::string message = p.problem ? p.problem : "invalid YAML";
    if (p.context) message += " " + std::string(p.context);
    // libyaml's words for a tab ("found character that cannot start any
    // token") do not say what to do about it.
    if (at.index < impl_->input.size() && impl_->input[at.index] == '\t')
      message = "a tab character; YAML does not allow tabs for indentation: indent with spaces";
    error_ = ParseError{markOf(at), message};
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
        inDocument = true;
        doc.start_ = markOf(e.start_mark);
        break;
      case YAML_DOCUMENT_END_EVENT:
        if (inDocument) return doc;
        break;
      case YAML_SCALAR_EVENT: {
        Document::Data d;
        d.type = NodeType::Scalar;
        d.mark = markOf(e.start_mark);
        d.text.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        d.tag = text(e.data.scalar.tag);
        d.plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && d.tag.empty();
        if (d.plain && (d.text.empty() || d.text == "~" || d.text == "null" || d.text == "Null" || d.text == "NULL"))
          d.type = NodeType::Null;
        add(std::move(d), e.data.scalar.anchor);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        Document::Data d;
        const bool seq = e.type == YAML_SEQUENCE_START_EVENT;
        d.type = seq ? NodeType::Sequence : NodeType::Map;
        d.mark = markOf(e.start_mark);
        d.tag = text(seq ? e.data.sequence_start.tag : e.data.mapping_start.tag);
        open.push_back(add(std::move(d), seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor));
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        open.pop_back();
        break;
      case YAML_ALIAS_EVENT: {
        auto it = anchors.find(text(e.data.alias.anchor));
        if (it == anchors.end()) {
          error_ = ParseError{markOf(e.start_mark), "unknown alias *" + text(e.data.alias.anchor)};
          return std::nullopt;
        }
        // The alias shares the anchored node: the tree becomes a DAG, which
        // read-only walks handle as if the node were copied.
        if (!open.empty()) doc.nodes_[open.back()].items.push_back(it->second);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace hostform::yaml
