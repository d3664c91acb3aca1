#include "tests/integration/watch/prometheus.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>

namespace hostform::watchtest {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};

bool parseValue(const std::string& text, double& out) {
  if (text == "NaN") return out = std::numeric_limits<double>::quiet_NaN(), true;
  if (text == "+Inf") return out = std::numeric_limits<double>::infinity(), true;
  if (text == "-Inf") return out = -std::numeric_limits<double>::infinity(), true;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

/// Parses `{a="x",b="y"}` from `pos` (at '{'); advances past '}'.
bool parseLabels(const std::string& line, std::size_t& pos, std::map<std::string, std::string>& labels,
                 std::string& why) {
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    const std::size_t eq = line.find('=', pos);
    if (eq == std::string::npos) return why = "label without '='", false;
    const std::string name = line.substr(pos, eq - pos);
    if (!std::regex_match(name, kLabelName)) return why = "invalid label name \"" + name + "\"", false;
    pos = eq + 1;
    if (pos >= line.size() || line[pos] != '"') return why = "label value not quoted", false;
    ++pos;
    std::string value;
    for (;;) {
      if (pos >= line.size()) return why = "unterminated label value", false;
      const char c = line[pos++];
      if (c == '"') break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos >= line.size()) return why = "dangling escape", false;
      const char e = line[pos++];
      if (e == 'n') value += '\n';
      else if (e == '\\' || e == '"') value += e;
      else return why = std::string("invalid escape \\") + e, false;
    }
    if (!labels.emplace(name, value).second) return why = "label " + name + " given twice", false;
    if (pos < line.size() && line[pos] == ',') ++pos;
    else if (pos >= line.size() || line[pos] != '}') return why = "expected ',' or '}' after a label", false;
  }
  if (pos >= line.size()) return why = "unterminated label set", false;
  ++pos;
  return true;
}

/// The family a sample name belongs to (histogram/summary suffixes stripped when typed so).
std::string familyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.ends_with(s)) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

}  // namespace

double Exposition::value(const std::string& name, const std::map<std::string, std::string>& labels) const {
  for (const Sample& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return std::numeric_limits<double>::quiet_NaN();
}

Exposition parsePrometheusText(std::string_view text) {
  Exposition out;
  if (!text.empty() && text.back() != '\n') out.errors.push_back("the text does not end with a newline");
  std::set<std::string> finished;  // families whose samples are over
  std::string current;             // the family of the previous sample
  std::set<std::string> series;
  std::size_t number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string line(text.substr(start, end - start));
    start = end + 1;
    ++number;
    auto error = [&](const std::string& why) { out.errors.push_back("line " + std::to_string(number) + ": " + why); };
    if (line.empty()) continue;
    if (line.starts_with("#")) {
      std::string rest = line.substr(1);
      if (!rest.starts_with(" HELP ") && !rest.starts_with(" TYPE ")) continue;  // a plain comment
      const bool isType = rest.starts_with(" TYPE ");
      rest = rest.substr(6);
      const std::size_t space = rest.find(' ');
      const std::string name = rest.substr(0, space);
      const std::string arg = space == std::string::npos ? "" : rest.substr(space + 1);
      if (!std::regex_match(name, kMetricName)) error("invalid metric name \"" + name + "\"");
      if (isType) {
        if (!kTypes.contains(arg)) error("unknown type \"" + arg + "\"");
        if (out.types.contains(name)) error("second TYPE for " + name);
        if (finished.contains(name) || current == name) error("TYPE for " + name + " after its samples");
        if (arg == "counter" && !name.ends_with("_total")) error("counter " + name + " is not named *_total");
        out.types[name] = arg;
      } else {
        if (out.help.contains(name)) error("second HELP for " + name);
        out.help[name] = arg;
      }
      continue;
    }
    Sample s;
    std::size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    s.name = line.substr(0, pos);
    if (!std::regex_match(s.name, kMetricName)) {
      error("invalid metric name \"" + s.name + "\"");
      continue;
    }
    std::string why;
    if (pos < line.size() && line[pos] == '{' && !parseLabels(line, pos, s.labels, why)) {
      error(why);
      continue;
    }
    if (pos >= line.size() || line[pos] != ' ') {
      error("expected a space before the value");
      continue;
    }
    std::string rest = line.substr(pos + 1);
    const std::size_t space = rest.find(' ');
    const std::string valueText = rest.substr(0, space);
    if (!parseValue(valueText, s.value)) error("invalid value \"" + valueText + "\"");
    if (space != std::string::npos) {
      const std::string ts = rest.substr(space + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos)
        error("invalid timestamp \"" + ts + "\"");
    }
    const std::string family = familyOf(s.name, out.types);
    if (!out.types.contains(family)) error("sample of " + family + " without a TYPE line before it");
    if (family != current) {
      if (finished.contains(family)) error("samples of " + family + " are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) error("series " + s.name + " appears twice");
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace hostform::watchtest
