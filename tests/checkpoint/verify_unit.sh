#!/usr/bin/env bash
# usage: verify_unit.sh UNIT HOSTFORM_BINARY
# Checks the boot unit offline with systemd-analyze verify (no running systemd
# needed) and its ordering against libvirt. Any message is a failure.
set -euo pipefail
unit=$1 binary=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "FAIL: systemd-analyze is not installed (Debian package systemd; scripts/install-deps installs it)" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd/system"
cp "$binary" "$root/usr/bin/hostform"
cp "$unit" "$root/usr/lib/systemd/system/"
name=$(basename "$unit")
out=$(systemd-analyze verify --man=no --root="$root" "$name" 2>&1) || { echo "FAIL: systemd-analyze verify: $out" >&2; exit 1; }
if [ -n "$out" ]; then echo "FAIL: systemd-analyze verify warns: $out" >&2; exit 1; fi
# The ordering the issue asks for, read back as systemd parses it.
want() {
  grep -qE "^$1=(.* )?$2( |$)" "$unit" || { echo "FAIL: $name: $1= lacks $2" >&2; exit 1; }
}
want Type oneshot
want RemainAfterExit yes
for u in libvirtd.service libvirt-guests.service virtqemud.service network.target; do want Before "$u"; done
for u in local-fs.target systemd-udev-trigger.service; do want After "$u"; done
want WantedBy multi-user.target
grep -q '^ExecStart=/usr/bin/hostform boot ' "$unit" || { echo "FAIL: ExecStart does not run hostform boot" >&2; exit 1; }
# The command the unit runs exists in this binary.
"$binary" boot --help >/dev/null || { echo "FAIL: hostform has no boot command" >&2; exit 1; }
echo "ok: $name verified"
