#include "providers/kvm/storage_xml.h"

#include <pugixml.hpp>

#include "providers/kvm/xml_util.h"

namespace hostform::kvm {
namespace {

Result<pugi::xml_document> load(std::string_view xml, const char* root) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) return fail(std::string("libvirt returned XML that does not parse: ") + parsed.description());
  if (!doc.child(root)) return fail(std::string("libvirt returned XML without <") + root + ">");
  return doc;
}

Bytes sizeOf(const pugi::xml_node& n) { return sizeIn(n.text().get(), n.attribute("unit").as_string("bytes")); }

}  // namespace

Result<PoolConfig> parsePoolXml(std::string_view xml) {
  auto doc = load(xml, "pool");
  if (!doc) return hostform::unexpected(doc.error());
  pugi::xml_node pool = doc->child("pool");
  PoolConfig c;
  c.name = pool.child_value("name");
  c.type = pool.attribute("type").value();
  c.target = pool.child("target").child_value("path");
  pugi::xml_node source = pool.child("source");
  c.sourceName = source.child_value("name");
  c.sourceHost = source.child("host").attribute("name").value();
  c.sourceDir = source.child("dir").attribute("path").value();
  c.capacity = sizeOf(pool.child("capacity"));
  c.available = sizeOf(pool.child("available"));
  return c;
}

std::string newPoolXml(const std::string& name, const StoragePoolSpec& spec) {
  pugi::xml_document doc;
  pugi::xml_node pool = doc.append_child("pool");
  pool.append_attribute("type") = std::string(toString(spec.type)).c_str();
  pool.append_child("name").text() = name.c_str();
  pugi::xml_node source = pool.append_child("source");
  pugi::xml_node target = pool.append_child("target");
  switch (spec.type) {
    case PoolType::Dir:
      target.append_child("path").text() = spec.target.value_or("").c_str();
      break;
    case PoolType::Logical: {
      const std::string vg = spec.source.volumeGroup.value_or("");
      source.append_child("name").text() = vg.c_str();
      source.append_child("format").append_attribute("type") = "lvm2";
      target.append_child("path").text() = ("/dev/" + vg).c_str();
      break;
    }
    case PoolType::Netfs:
      source.append_child("host").append_attribute("name") = spec.source.host.value_or("").c_str();
      source.append_child("dir").append_attribute("path") = spec.source.path.value_or("").c_str();
      source.append_child("format").append_attribute("type") = "nfs";
      target.append_child("path").text() = spec.target.value_or("").c_str();
      break;
  }
  return serialize(doc);
}

Result<VolumeConfig> parseVolumeXml(std::string_view xml) {
  auto doc = load(xml, "volume");
  if (!doc) return hostform::unexpected(doc.error());
  pugi::xml_node vol = doc->child("volume");
  VolumeConfig c;
  c.name = vol.child_value("name");
  c.key = vol.child_value("key");
  c.capacity = sizeOf(vol.child("capacity"));
  c.allocation = sizeOf(vol.child("allocation"));
  c.path = vol.child("target").child_value("path");
  c.format = vol.child("target").child("format").attribute("type").value();
  c.backingPath = vol.child("backingStore").child_value("path");
  c.backingFormat = vol.child("backingStore").child("format").attribute("type").value();
  return c;
}

std::string newVolumeXml(const VolumeWrite& want) {
  pugi::xml_document doc;
  pugi::xml_node vol = doc.append_child("volume");
  vol.append_child("name").text() = want.name.c_str();
  pugi::xml_node capacity = vol.append_child("capacity");
  capacity.append_attribute("unit") = "bytes";
  capacity.text() = std::to_string(want.capacity).c_str();
  pugi::xml_node allocation = vol.append_child("allocation");
  allocation.append_attribute("unit") = "bytes";
  allocation.text() = std::to_string(want.full ? want.capacity : 0).c_str();
  if (want.withFormat) {
    vol.append_child("target").append_child("format").append_attribute("type") =
        std::string(toString(want.format)).c_str();
  }
  if (!want.backingPath.empty()) {
    pugi::xml_node backing = vol.append_child("backingStore");
    backing.append_child("path").text() = want.backingPath.c_str();
    backing.append_child("format").append_attribute("type") =
        want.backingFormat.empty() ? "qcow2" : want.backingFormat.c_str();
  }
  return serialize(doc);
}

}  // namespace hostform::kvm
