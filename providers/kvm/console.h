#pragma once
/// `hostform console NAME`: attaches the terminal to a VM's serial console,
/// as `virsh console` does (virDomainOpenConsole, a non-blocking libvirt
/// stream, libvirt's default event loop), with the same escape key, Ctrl+]
/// (0x1d). A command of the kvm provider's own: it registers itself as a
/// ProviderCommand, so the engine and the CLI never name libvirt.

#include <iosfwd>
#include <string>

namespace hostform::kvm {

/// The escape key: Ctrl+], as virsh's default.
inline constexpr char kConsoleEscape = 0x1d;

/// Attaches `in`/`out` (file descriptors: a terminal or pipes) to the serial
/// console of the running VM `name` on libvirt `uri` (empty: the default),
/// printing virsh's "Connected to domain 'NAME'" and "Escape character is ^]
/// (Ctrl + ])" on `err`. `in` is put in raw mode when it is a terminal and
/// restored on every way out. Returns 0 on the escape key, when `in` ends,
/// or when the console closes (the guest stopped); 1, with a message on
/// `err`, when the VM does not exist, is not running, has no serial console,
/// or the console cannot be opened.
int attachConsole(const std::string& uri, const std::string& name, int in, int out, std::ostream& err);

}  // namespace hostform::kvm
