#pragma once
/// A strict reader of the Prometheus text exposition format (0.0.4), written
/// from its specification for the tests, independently of hostform's writer:
/// every line must be a HELP, a TYPE or a sample; names, label names and
/// escapes must be valid; a family's TYPE comes before its samples, which are
/// contiguous; no series appears twice; counters are named *_total.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hostform::watchtest {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  ///< family -> counter|gauge|…
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;
  std::vector<std::string> errors;  ///< "line N: why"; empty when the text is valid

  /// The value of the series; NaN when absent.
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

Exposition parsePrometheusText(std::string_view text);

}  // namespace hostform::watchtest
