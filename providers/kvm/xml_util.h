#pragma once
/// Small helpers shared by the domain and storage XML code.

#include <pugixml.hpp>

#include <string>
#include <string_view>

#include "reconciler/units.h"

namespace hostform::kvm {

std::string lower(std::string_view s);
/// libvirt's "<memory unit='KiB'>65536</memory>"-style value in bytes; 0 when unreadable.
Bytes sizeIn(std::string_view number, std::string_view unit);
/// Compact XML without a declaration, as libvirt takes it.
std::string serialize(const pugi::xml_document& doc);

}  // namespace hostform::kvm
