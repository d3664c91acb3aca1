#!/usr/bin/env bash
# LVM provider benchmark on loop devices with a private LVM_SYSTEM_DIR.
#   1. no-op `hostform plan` of 2 VGs + 300 LVs vs the floor: one
#      `lvm fullreport --reportformat json` (target: within 1.3x)
#   2. creating 100 LVs from empty: `hostform apply` (-j 1 and default -j)
#      vs a shell loop of lvcreate calls (target: not slower)
# Usage: tests/bench/lvm_bench.sh [path/to/hostform]   (root; needs lvm2, losetup)
set -euo pipefail
HOSTFORM=${1:-$(dirname "$0")/../../build/hostform}
RUNS=${RUNS:-5}
work=$(mktemp -d /tmp/hostform-lvm-bench.XXXXXX)
loops=()
cleanup() {
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/bench/lvm_common.sh
source "$(dirname "$0")/lvm_common.sh"
loopdevs 4 2G
lvmconf "$work" "${loops[@]}"
export LVM_SYSTEM_DIR=$work LVM_SUPPRESS_FD_WARNINGS=1
p=hfb$$
owner=bench-$p
state="$work/state"

# time_ms CMD... : wall time of one run in milliseconds
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
manifest() {  # manifest FILE VG DEVICE COUNT
  { printf 'apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: %s}\nspec: {physicalVolumes: [%s]}\n' "$2" "$3"
    for n in $(seq 1 "$4"); do
      printf -- '---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv%03d}\nspec: {volumeGroup: %s, size: 4MiB}\n' "$n" "$2"
    done; } > "$1"
}

# ---- 1. no-op plan over 300 LVs -------------------------------------------------
mkdir -p "$work/m300"
manifest "$work/m300/a.yaml" "${p}a" "${loops[0]}" 150
manifest "$work/m300/b.yaml" "${p}b" "${loops[1]}" 150
"$HOSTFORM" apply --auto-approve -f "$work/m300" --state-dir "$state" --owner "$owner" > /dev/null
"$HOSTFORM" plan -f "$work/m300" --state-dir "$state" --owner "$owner" --detailed-exitcode > /dev/null \
  || { echo "not converged after apply" >&2; exit 1; }
floor=$(for _ in $(seq "$RUNS"); do time_ms lvm fullreport --reportformat json; done | median)
floorOurs=$(for _ in $(seq "$RUNS"); do time_ms lvm fullreport --reportformat json --units b --nosuffix \
  --configreport vg -o vg_name,vg_tags,vg_extent_size,vg_extent_count,vg_free_count \
  --configreport pv -o pv_name,dev_size,pe_start,pv_pe_count,pv_pe_alloc_count \
  --configreport lv -o lv_name,lv_tags,lv_size,lv_layout,pool_lv,origin \
  --configreport seg -o lv_uuid --configreport pvseg -o pv_uuid; done | median)
plan=$(for _ in $(seq "$RUNS"); do time_ms "$HOSTFORM" plan -f "$work/m300" --state-dir "$state" --owner "$owner"; done | median)
echo "no-op plan, 2 VGs / 300 LVs: hostform plan ${plan} ms; floor lvm fullreport --reportformat json ${floor} ms" \
     "(ratio $(awk "BEGIN {printf \"%.2f\", $plan / $floor}")); fullreport with hostform's columns ${floorOurs} ms"

# ---- 2. creating 100 LVs from empty --------------------------------------------
# Another owner, so the 300 LVs above are not this plan's orphans.
owner2=bench2-$p
mkdir -p "$work/m100"
create_hostform() {  # create_hostform JOBS
  lvm vgremove -f "${p}c" "${p}d" >/dev/null 2>&1 || true
  rm -rf "$work/m100"/*
  manifest "$work/m100/c.yaml" "${p}c" "${loops[2]}" 50
  manifest "$work/m100/d.yaml" "${p}d" "${loops[3]}" 50
  lvm vgcreate --addtag "hostform_owner_$owner2" "${p}c" "${loops[2]}" >/dev/null 2>&1
  lvm vgcreate --addtag "hostform_owner_$owner2" "${p}d" "${loops[3]}" >/dev/null 2>&1
  time_ms "$HOSTFORM" apply --auto-approve -f "$work/m100" --state-dir "$state" --owner "$owner2" -j "$1"
}
seq1=$(create_hostform 1)
par=$(create_hostform 2)
"$HOSTFORM" plan -f "$work/m100" --state-dir "$state" --owner "$owner2" --detailed-exitcode > /dev/null \
  || { echo "100 LVs not converged:" >&2; "$HOSTFORM" apply --auto-approve -f "$work/m100" --state-dir "$state" --owner "$owner2" >&2 || true; exit 1; }
lvm vgremove -f "${p}c" "${p}d" >/dev/null 2>&1
lvm vgcreate "${p}c" "${loops[2]}" >/dev/null 2>&1
lvm vgcreate "${p}d" "${loops[3]}" >/dev/null 2>&1
s=$(date +%s%N)
for n in $(seq 1 50); do
  lvm lvcreate --yes -n "$(printf 'lv%03d' "$n")" -L 4m "${p}c" >/dev/null 2>&1
  lvm lvcreate --yes -n "$(printf 'lv%03d' "$n")" -L 4m "${p}d" >/dev/null 2>&1
done
e=$(date +%s%N)
loop=$(( (e - s) / 1000000 ))
echo "create 100 LVs in 2 VGs: hostform apply -j 1 ${seq1} ms, -j 2 ${par} ms; shell loop of lvcreate ${loop} ms"
