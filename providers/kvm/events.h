#pragma once
/// The KVM provider's event source for `watch` (docs/watch.md Events):
/// libvirt's domain lifecycle events (defined, undefined, started, stopped,
/// suspended…) and storage pool lifecycle events, on a connection of its own.
///
/// libvirt delivers events through its event loop: the default one is
/// registered (once per process, before the connection opens, as
/// `hostform console` does) and run by a thread the source owns. Callbacks
/// only add to an eventfd, which is what the watcher polls.

#include <memory>
#include <string>

#include "reconciler/provider.h"

namespace hostform::kvm {

/// Opens the connection to `uri` (resolved: resolveUri) and registers the
/// callbacks. An error names the URI.
Result<std::unique_ptr<EventSource>> openLibvirtEvents(const std::string& uri);

}  // namespace hostform::kvm
