#pragma once
/// The LVM provider's "event source" for `watch` (docs/watch.md Events). lvm
/// has no notification API here (dm uevents say nothing of metadata), so it
/// polls: every --lvm-poll it runs `lvm vgs -o vg_name,vg_seqno`, which reads
/// only the VG headers, and a VG whose metadata sequence number moved (every
/// lvcreate, lvresize, lvremove, vgextend… bumps it), appeared or disappeared
/// is a change.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "providers/lvm/session.h"
#include "reconciler/provider.h"

namespace hostform::lvm {

/// Each VG's metadata sequence number.
using Seqnos = std::map<std::string, unsigned long long, std::less<>>;

/// The command polled.
std::vector<std::string> seqnoCommand();
/// Its output ("  vg0  12\n  vg1  3\n"); an error names the line it cannot read.
Result<Seqnos> parseSeqnos(std::string_view text);
/// How many VGs differ between two readings (changed, added or removed).
std::size_t seqnoChanges(const Seqnos& before, const Seqnos& after);

/// The poll as an EventSource: a timer fd that fires every `interval`; drain()
/// runs the command through `commands` and compares with the last reading,
/// taken first when the source opens.
Result<std::unique_ptr<EventSource>> openSeqnoPoll(std::unique_ptr<Commands> commands,
                                                   std::chrono::milliseconds interval,
                                                   std::chrono::milliseconds timeout);

}  // namespace hostform::lvm
