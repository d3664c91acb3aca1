#include "reconciler/manifest_writer.h"

#include <yaml-cpp/yaml.h>

#include "reconciler/kind.h"

namespace hostform {

std::string writeManifests(const std::vector<Resource>& resources) {
  std::string text;
  for (const Resource& r : resources) {
    YAML::Emitter out;
    SpecWriter w(out);
    out << YAML::BeginMap;
    out << YAML::Key << "apiVersion" << YAML::Value << "hostform/v1";
    out << YAML::Key << "kind" << YAML::Value << std::string(r.kind().name());
    w.begin("metadata");
    w.put("name", r.id.name);
    if (!r.labels.empty()) {
      w.begin("labels");
      for (const auto& [k, v] : r.labels) out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
      w.end();
    }
    w.end();
    w.begin("spec");
    r.kind().def().encode(r.spec, w);
    out << YAML::EndMap << YAML::EndMap;
    text += "---\n";
    text += out.c_str();
    text += "\n";
  }
  return text;
}

}  // namespace hostform
