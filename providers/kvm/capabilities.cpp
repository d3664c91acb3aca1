#include "providers/kvm/capabilities.h"

#include <pugixml.hpp>

namespace hostform::kvm {
namespace {

Result<pugi::xml_document> load(std::string_view xml, const char* what) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return fail(std::string("libvirt returned ") + what + " that do not parse");
  return doc;
}

std::string quoted(std::string_view s) { return "`" + std::string(s) + "`"; }

}  // namespace

Result<HostCapabilities> parseHostCapabilities(std::string_view xml) {
  auto doc = load(xml, "host capabilities");
  if (!doc) return hostform::unexpected(doc.error());
  HostCapabilities caps;
  for (pugi::xml_node guest : doc->child("capabilities").children("guest")) {
    if (std::string_view(guest.child_value("os_type")) != "hvm") continue;
    for (pugi::xml_node arch : guest.children("arch")) {
      if (std::string_view(arch.attribute("name").value()) != "x86_64") continue;
      // Machines listed under <arch> serve every domain type; a <domain> may add its own.
      auto addMachines = [&](pugi::xml_node parent) {
        for (pugi::xml_node m : parent.children("machine")) {
          caps.machines.insert(m.child_value());
          if (const char* canonical = m.attribute("canonical").value(); *canonical) caps.machines.insert(canonical);
        }
      };
      addMachines(arch);
      for (pugi::xml_node domain : arch.children("domain")) {
        const std::string type = domain.attribute("type").value();
        caps.domainTypes.insert(type);
        if (type == "qemu" || type == "kvm") caps.qemuDriver = true;
        addMachines(domain);
      }
    }
  }
  return caps;
}

Result<DomainCapabilities> parseDomainCapabilities(std::string_view xml) {
  auto doc = load(xml, "domain capabilities");
  if (!doc) return hostform::unexpected(doc.error());
  DomainCapabilities caps;
  pugi::xml_node root = doc->child("domainCapabilities");
  pugi::xml_node os = root.child("os");
  if (std::string_view(os.attribute("supported").value()) == "yes") {
    // Firmware autoselection (<os firmware='efi'>, what hostform writes) works
    // when libvirt lists efi; older libvirt only lists the loader paths it found.
    for (pugi::xml_node e : os.children("enum"))
      if (std::string_view(e.attribute("name").value()) == "firmware")
        for (pugi::xml_node v : e.children("value"))
          if (std::string_view(v.child_value()) == "efi") caps.efi = true;
    pugi::xml_node loader = os.child("loader");
    if (std::string_view(loader.attribute("supported").value()) == "yes" && loader.child("value")) caps.efi = true;
  }
  for (pugi::xml_node mode : root.child("cpu").children("mode"))
    if (std::string_view(mode.attribute("supported").value()) == "yes") caps.cpuModes.insert(mode.attribute("name").value());
  return caps;
}

std::string_view virtTypeOf(Accelerator accelerator) { return accelerator == Accelerator::Tcg ? "qemu" : "kvm"; }

std::string_view machineAlias(Machine machine) { return machine == Machine::Q35 ? "q35" : "pc"; }

std::vector<Diff::Problem> capabilityProblems(const std::string& vm, const VirtualMachineSpec& spec,
                                              const CapabilityReport& report) {
  std::vector<Diff::Problem> out;
  if (!report.host || !report.host->qemuDriver) return out;
  const HostCapabilities& host = *report.host;
  const std::string virtType(virtTypeOf(spec.accelerator));
  if (!host.domainTypes.contains(virtType)) {
    if (spec.accelerator == Accelerator::Kvm)
      out.push_back({"spec.accelerator",
                     "this host has no KVM: libvirt offers no kvm domain type for x86_64 guests (/dev/kvm is missing "
                     "or QEMU cannot use it). Declare `accelerator: tcg` to run " + vm +
                         " under QEMU's emulation, which works without KVM but is much slower."});
    else
      out.push_back({"spec.accelerator", "libvirt offers no qemu domain type for x86_64 guests on this host, so " +
                                             vm + " cannot run under QEMU's emulation (accelerator: tcg)."});
    return out;  // nothing more can be asked about a domain type the host lacks
  }
  const std::string_view machine = machineAlias(spec.machine);
  if (!host.machines.contains(std::string(machine))) {
    out.push_back({"spec.machine", "QEMU on this host has no " + std::string(machine) +
                                       " machine type for x86_64 guests (libvirt's capabilities do not list it); "
                                       "declare the other machine type."});
    return out;
  }
  if (!report.domain) {
    if (!report.domainError.empty())
      out.push_back({"spec.accelerator", "libvirt cannot say what " + virtType + " guests of machine type " +
                                             std::string(machine) + " can do on this host: " + report.domainError +
                                             "."});
    return out;
  }
  const DomainCapabilities& domain = *report.domain;
  if (spec.firmware == Firmware::Uefi && !domain.efi)
    out.push_back({"spec.firmware", "libvirt finds no UEFI firmware for " + std::string(machine) +
                                        " guests on this host (on Debian it comes with the ovmf package); install "
                                        "it, or declare `firmware: bios`."});
  if (spec.cpuMode != CpuMode::Default) {
    const std::string mode(toString(spec.cpuMode));
    if (!domain.cpuModes.contains(mode))
      out.push_back(
          {"spec.cpuMode",
           "libvirt reports CPU mode " + mode + " as unsupported for " + virtType + " guests on this host" +
               (spec.accelerator == Accelerator::Tcg && spec.cpuMode == CpuMode::HostPassthrough
                    ? " (passing the host's CPU through needs KVM)"
                    : "") +
               "; declare " + quoted("cpuMode: default") + " for the hypervisor's own model."});
  }
  return out;
}

}  // namespace hostform::kvm
