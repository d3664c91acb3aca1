#!/usr/bin/env bash
# Golden plans: what `hostform plan` (text and JSON) and `apply --dry-run`
# print for a fixed host, byte for byte, over the cases in tests/golden/cases/
# and every example. Recorded before the one-kind-one-place redesign (issue 13)
# so that it can show the redesign changes nothing a user sees.
#
#   tests/golden/golden_test.sh HOSTFORM            compare with tests/golden/expected/
#   HOSTFORM_GOLDEN=record tests/golden/golden_test.sh HOSTFORM
#                                                   rewrite expected/ (review the diff!)
#
# The fixed host, rebuilt for every run and removed on every path:
# - netlink: a network namespace of its own with veth pairs gp0..gp2, an
#   unowned bridge gfree and the interfaces the examples name;
# - LVM: three 64 MiB sparse files on loop devices (@DEV@/pv0..pv2), seen
#   through a private LVM_SYSTEM_DIR that accepts only them, activation off,
#   and an unowned volume group gloose on pv2;
# - libvirt: its test driver loaded in-process from host.xml (pools, volumes,
#   an owned and a foreign domain), with the owned pools and volumes in the
#   ledger of a temporary --state-dir.
# The run applies cases/host.yaml (bridges, a VG, LVs) for real, then plans.
# Output is normalised only where the machine shows through: the scratch
# directory (@TMP@), the device directory (@DEV@), loop device names
# (/dev/LOOPn), the time in the names of snapshots taken before a loss
# (-before-@TIME@) and lvm2's reason for refusing thin pools and snapshots
# (@NO-THIN@, @NO-SNAPSHOT@: it names device-mapper on kernels without it and
# activation on those with it).
# Requires root.
set -euo pipefail
hf=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=${HOSTFORM_GOLDEN:-compare}

id=hfg$$
ns=$id
tmp=$(mktemp -d /tmp/hostform-golden.XXXXXX)
dev=/dev/$id
loops=()
out=$tmp/actual
mkdir -p "$out" "$tmp/pool" "$tmp/other" "$tmp/lvm" "$tmp/state" "$tmp/img" "$dev"

cleanup() {
  set +e
  ip netns del "$ns" 2>/dev/null
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
  rm -rf "$dev" "$tmp"
}
trap cleanup EXIT

# ---- the host -----------------------------------------------------------------
ip netns add "$ns"
nsrun() { ip netns exec "$ns" "$@"; }
nsrun ip link set lo up
for i in 0 1 2; do nsrun ip link add "gp$i" type veth peer name "gq$i"; done
# The examples' uplinks, so that their plans go past "does not exist".
for n in eth1 eth2.200 eth3 bond0 eno2 quick-uplink; do nsrun ip link add "$n" type veth peer name "x${n//./}"; done
nsrun ip link add gfree type bridge
nsrun ip link set gfree up

filter=""
for i in 0 1 2; do
  truncate -s 64M "$tmp/pv$i.img"
  l=$(losetup --find --show "$tmp/pv$i.img")
  loops+=("$l")
  ln -s "$l" "$dev/pv$i"
  filter+="\"a|^$l\$|\", \"a|^$dev/pv$i\$|\", "
done
cat > "$tmp/lvm/lvm.conf" <<CONF
devices {
  filter = [ $filter"r|.*|" ]
  global_filter = [ $filter"r|.*|" ]
  obtain_device_list_from_udev = 0
  use_devicesfile = 0
}
global { activation = 0 }
activation { udev_sync = 0
  udev_rules = 0
  monitoring = 0 }
backup { backup = 0
  archive = 0 }
CONF
export LVM_SYSTEM_DIR=$tmp/lvm
export LVM_SUPPRESS_FD_WARNINGS=1
lvm vgcreate -q gloose "$dev/pv2" >/dev/null 2>&1

sed "s|@TMP@|$tmp|g" "$here/host.xml" > "$tmp/host.xml"
# The local image of cases/image.yaml: 8MiB of zeros, the same bytes every run.
truncate -s 8M "$tmp/img/zeros.raw"
# The file of volume gbase.qcow2 (the test driver's volumes have none): the
# plan of an internal snapshot of it reads the image's snapshots with qemu-img.
qemu-img create -q -f qcow2 "$tmp/pool/gbase.qcow2" 1G
cat > "$tmp/state/ledger.json" <<JSON
{"version":1,"owners":{"StoragePool/gpool":"golden","Volume/gpool/gvm1.qcow2":"golden","Volume/gpool/gbase.qcow2":"golden","Volume/gpool/old.raw":"golden"}}
JSON
mkdir -p "$tmp/cases" "$tmp/empty"
for f in "$here"/cases/*.yaml; do
  sed -e "s|@DEV@|$dev|g" -e "s|@TMP@|$tmp|g" "$f" > "$tmp/cases/$(basename "$f")"
done
cp -r "$repo/examples" "$tmp/examples"

# ---- the steps ------------------------------------------------------------------
normalise() {
  local args=(-e "s|$tmp|@TMP@|g" -e "s|$dev|@DEV@|g")
  local i
  for i in "${!loops[@]}"; do args+=(-e "s|${loops[$i]}\\b|/dev/LOOP$i|g"); done
  args+=(-e 's|thin-pool volume on this host: [^"]*needs it to [a-z ]*pools|thin-pool volume on this host: @NO-THIN@|g')
  args+=(-e 's|thin volume on this host: [^"]*needs it to [a-z ]*pools|thin volume on this host: @NO-THIN@|g')
  args+=(-e 's|on this host: [^"]*needs it to make and merge snapshots|on this host: @NO-SNAPSHOT@|g')
  # Snapshots taken before a loss are named after the time of the plan.
  args+=(-e 's|-before-[0-9]\{8\}T[0-9]\{6\}|-before-@TIME@|g')
  sed "${args[@]}"
}

# step NAME ARGS...: runs hostform with ARGS from the cases directory and
# writes the command, the exit code, stdout and stderr to actual/NAME.
step() {
  local name=$1; shift
  local o=$tmp/o e=$tmp/e code=0
  (cd "$tmp/cases" && nsrun "$hf" "$@" --owner golden --state-dir "$tmp/state" \
    --libvirt-uri "test://$tmp/host.xml" </dev/null >"$o" 2>"$e") || code=$?  # no terminal: apply never asks
  { printf '$ hostform %s\nexit %s\n--- stdout\n' "$*" "$code"; cat "$o"; printf '\n--- stderr\n'; cat "$e"; } |
    normalise > "$out/$name"
}
# apply NAME ARGS...: a real apply; its progress lines come from parallel
# workers, so they are sorted after the plan it prints.
apply() {
  local name=$1; shift
  step "$name" apply "$@"
  local f=$out/$name
  grep -q '^Plan: ' "$f" || return 0
  { sed -n '1,/^Plan: /p' "$f"
    sed -n '/^Plan: /,/^--- stderr/{/^Plan: /d;/^--- stderr/d;p}' "$f" | LC_ALL=C sort
    sed -n '/^--- stderr/,$p' "$f"; } > "$tmp/sorted"
  mv "$tmp/sorted" "$f"
}

step 01-create.txt        plan -f host.yaml -f kvm.yaml
step 02-create.json       plan -f host.yaml -f kvm.yaml -o json
apply 03-apply-host.txt   -f host.yaml
step 04-again.txt         plan -f host.yaml
step 05-kvm.txt           plan -f host.yaml -f kvm.yaml
step 06-kvm.json          plan -f host.yaml -f kvm.yaml -o json
step 07-change.txt        plan -f changed.yaml
step 08-change.json       plan -f changed.yaml -o json
step 09-dry-run.txt       apply --dry-run -f changed.yaml
step 10-prune.txt         plan --prune -f subset.yaml
step 11-prune.json        plan --prune -f subset.yaml -o json
step 12-prune-loss.txt    apply --dry-run --prune --allow-data-loss -f subset.yaml
step 13-external.txt      plan --prune -f external.yaml
step 14-external.json     plan --prune -f external.yaml -o json
step 15-adopt.txt         plan -f adopt.yaml
step 16-adopt.json        plan -f adopt.yaml -o json
step 17-refused.txt       plan -f refused.yaml
step 18-refused.json      plan -f refused.yaml -o json
step 21-shrink.txt        plan -f shrink.yaml
step 22-shrink.json       plan -f shrink.yaml -o json
step 25-shrink-loss.txt   plan --allow-data-loss -f shrink.yaml
step 26-shrink-loss.json  plan --allow-data-loss -f shrink.yaml -o json
step 27-snapshot.txt      plan -f host.yaml -f snapshot.yaml
step 28-restore.txt       restore data-snap --allow-data-loss
step 23-image.txt         plan -f image.yaml
step 24-image.json        plan -f image.yaml -o json
step 29-kvm-snapshot.txt  plan -f kvm-snapshot.yaml
step 29-kvm-snapshot.json plan -f kvm-snapshot.yaml -o json
step 29-kvm-snapshot-refused.txt  plan -f kvm-snapshot-refused.yaml
step 29-kvm-snapshot-refused.json plan -f kvm-snapshot-refused.yaml -o json
step 19-empty.txt         plan --prune -f ../empty
step 20-empty-allowed.txt plan --prune --allow-empty -f ../empty
n=30
for ex in $(cd "$tmp/examples" && find . -name '*.yaml' -printf '%h\n' | sort -u); do
  ex=${ex#./}
  # A plan of bonds and VLAN interfaces says what the running kernel lacks
  # (bonding, 8021q), which differs from host to host: such an example is
  # recorded validated, and its plans are asserted by the netlink tests, on
  # this host and in the test VM.
  if grep -qE '^kind: (Bond|VlanInterface)$' "$tmp/examples/$ex"/*.yaml; then
    step "$n-example-${ex//\//-}.txt" validate -f "../examples/$ex"
    n=$((n + 2))
    continue
  fi
  step "$n-example-${ex//\//-}.txt" plan -f "../examples/$ex"
  step "$((n + 1))-example-${ex//\//-}.json" plan -f "../examples/$ex" -o json
  n=$((n + 2))
done

# ---- compare ----------------------------------------------------------------------
if [ "$mode" = record ]; then
  rm -rf "$here/expected"
  cp -r "$out" "$here/expected"
  echo "recorded $(ls "$out" | wc -l) golden files in $here/expected"
  exit 0
fi
if diff -ru "$here/expected" "$out"; then
  echo "golden: $(ls "$out" | wc -l) outputs identical"
else
  echo "golden: output differs from tests/golden/expected (above: - recorded, + now)" >&2
  exit 1
fi
