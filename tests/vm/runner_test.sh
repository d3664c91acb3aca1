#!/usr/bin/env bash
# The test VM runner itself (tests/vm/run), asserted from outside and inside:
# Debian's own kernel with device-mapper's thin-pool and snapshot targets,
# the host's files read-only under a writable overlay that never reaches the
# host, scratch disks, the environment and directory kept, output streamed and
# the exit code returned.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
marker=/usr/share/hostform-vm-test-$$
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cd "$dir"
export HOSTFORM_VM_TEST_VALUE="a b 'c' \$d"
set +e
out=$("$here/run" --disks 2 --disk-size 64M -- bash -c '
  set -e
  echo "kernel $(uname -r)"
  echo "cwd $PWD"
  echo "value $HOSTFORM_VM_TEST_VALUE"
  echo "in-vm $HOSTFORM_IN_VM disks $HOSTFORM_VM_DISKS"
  for d in $HOSTFORM_VM_DISKS; do echo "disk $d $(blockdev --getsize64 $d)"; done
  dmsetup targets | awk "{print \"target\", \$1}" | sort
  touch '"$marker"' && echo "overlay writable"
  if touch /proc/../lower-probe 2>/dev/null; then :; fi
  exit 7' 2>"$dir/err")
rc=$?
set -e
echo "$out"
cat "$dir/err" >&2
[ "$rc" -eq 7 ] || fail "exit code $rc, expected the command's 7"
release=$(ls "$here/../../.cache/guest"/linux-image-*.deb 2>/dev/null | sed -E 's|.*/linux-image-([^_]*)_.*|\1|' | head -1)
[ -z "${HOSTFORM_VM_IMAGES:-}" ] || release=$(ls "$HOSTFORM_VM_IMAGES"/linux-image-*.deb | sed -E 's|.*/linux-image-([^_]*)_.*|\1|' | head -1)
grep -qx "kernel $release" <<<"$out" || fail "not Debian's kernel $release"
[ "$(uname -r)" != "$release" ] || echo "note: the host runs the same kernel release"
grep -qx "cwd $dir" <<<"$out" || fail "the directory was not kept"
grep -qxF "value $HOSTFORM_VM_TEST_VALUE" <<<"$out" || fail "the environment was not kept"
grep -qx "in-vm 1 disks /dev/vda /dev/vdb" <<<"$out" || fail "HOSTFORM_IN_VM / HOSTFORM_VM_DISKS"
grep -qx "disk /dev/vda 67108864" <<<"$out" && grep -qx "disk /dev/vdb 67108864" <<<"$out" || fail "scratch disks"
for t in thin-pool thin snapshot snapshot-origin snapshot-merge linear; do
  grep -qx "target $t" <<<"$out" || fail "device-mapper target $t missing"
done
grep -qx "overlay writable" <<<"$out" || fail "the overlay is not writable"
[ ! -e "$marker" ] || { rm -f "$marker"; fail "a write in the VM reached the host's $marker"; }
grep -Eq "^tests/vm/run: (kvm|tcg), 2 CPU\(s\), 2048 MiB: booted in [0-9.]+s, [0-9.]+s in all, exit 7$" "$dir/err" ||
  fail "no timing line"
# A command that cannot start is the command's failure (127 from exec), not the VM's.
set +e; "$here/run" --disks 0 -- /nonexistent/command 2>/dev/null; rc=$?; set -e
[ "$rc" -eq 127 ] || fail "a missing command gave $rc, expected 127"
echo "PASS"
