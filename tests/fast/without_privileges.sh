#!/usr/bin/env bash
# The pure test binaries (parsing, schemas, the engine on a fake provider,
# XML, diffs, the lvm commands an apply runs) need neither root nor a
# namespace: this runs each of them with every capability dropped, so a test
# that starts needing the host's privileges fails here.
#
#   tests/fast/without_privileges.sh BINARY...
set -euo pipefail
drop=(setpriv --bounding-set=-all --inh-caps=-all --no-new-privs)
# The drop must be real, or this test proves nothing.
if "${drop[@]}" unshare --net true 2>/dev/null; then
  echo "without_privileges: unshare still works after dropping capabilities" >&2
  exit 1
fi
for binary in "$@"; do
  echo "== $(basename "$binary") without capabilities"
  "${drop[@]}" "$binary" --gtest_brief=1
done
