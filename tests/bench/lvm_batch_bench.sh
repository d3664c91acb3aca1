#!/usr/bin/env bash
# Creates in batches (issue 18): the first apply of N LVs in 2 VGs against the
# same lvcreate commands fed to ONE `lvm` shell (`printf 'lvcreate …\n' | lvm`),
# and, for comparison, a shell loop of one `lvcreate` process each (what every
# apply did before the lvm shell sessions). hostform runs with its default -j
# (the number of cores: the two VGs' shells side by side) and with -j 1 (one
# action at a time). N = 10, 50, 100; RUNS interleaved rounds of the four,
# medians, ratios. Target at 100: hostform / lvm shell <= 1.0.
# Loop devices with a private LVM_SYSTEM_DIR (activation = 0: metadata only).
# Usage: tests/bench/lvm_batch_bench.sh [path/to/hostform]   (root; needs lvm2, losetup)
set -euo pipefail
HOSTFORM=${1:-$(dirname "$0")/../../build/hostform}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"10 50 100"}
work=$(mktemp -d /tmp/hostform-lvm-batch.XXXXXX)
loops=()
cleanup() {
  lvm vgremove -f "${p:-none}c" "${p:-none}d" >/dev/null 2>&1 || true
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/bench/lvm_common.sh
source "$(dirname "$0")/lvm_common.sh"
loopdevs 2 1G
lvmconf "$work" "${loops[@]}"
export LVM_SYSTEM_DIR=$work LVM_SUPPRESS_FD_WARNINGS=1
p=hfbb$$
owner=batch-$p
tag="hostform_owner_$owner"
vgs=("${p}c" "${p}d")

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }

# Two empty VGs, hand-made and owned (as in lvm_bench.sh), so all three sides
# run exactly the N lvcreate commands and nothing else changes.
reset() {
  lvm vgremove -f "${vgs[@]}" >/dev/null 2>&1 || true
  lvm vgcreate --addtag "$tag" "${vgs[0]}" "${loops[0]}" >/dev/null 2>&1
  lvm vgcreate --addtag "$tag" "${vgs[1]}" "${loops[1]}" >/dev/null 2>&1
  rm -rf "$work/state"
}
manifest() {  # manifest N: N/2 LVs of 4 MiB in each VG
  local v n
  rm -rf "$work/m"; mkdir -p "$work/m"
  for v in 0 1; do
    { printf 'apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: %s}\nspec: {physicalVolumes: [%s]}\n' "${vgs[$v]}" "${loops[$v]}"
      for n in $(seq 1 $(( $1 / 2 ))); do
        printf -- '---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv%03d}\nspec: {volumeGroup: %s, size: 4MiB}\n' "$n" "${vgs[$v]}"
      done; } > "$work/m/$v.yaml"
  done
}
commands() {  # commands N: the lvcreate commands hostform's apply runs, one per line
  local n vg
  for n in $(seq 1 $(( $1 / 2 ))); do
    for vg in "${vgs[@]}"; do
      printf 'lvcreate --yes -n lv%03d --addtag %s -L 4194304b %s\n' "$n" "$tag" "$vg"
    done
  done
}
created() {  # created N: fails unless both VGs hold N/2 LVs
  local c
  c=$(lvm lvs --noheadings -o lv_name "${vgs[@]}" 2>/dev/null | wc -l)
  [ "$c" -eq "$1" ] || { echo "expected $1 LVs, found $c" >&2; exit 1; }
}

run_hostform() {  # run_hostform N [-j J]
  reset; manifest "$1"
  local s e; s=$(now_ms)
  "$HOSTFORM" apply --auto-approve -f "$work/m" --state-dir "$work/state" --owner "$owner" "${@:2}" \
    >/dev/null 2>"$work/err" \
    || { cat "$work/err" >&2; exit 1; }
  e=$(now_ms); created "$1"; echo $(( e - s ))
}
run_shell() {
  reset; commands "$1" > "$work/cmds"
  local s e; s=$(now_ms)
  lvm < "$work/cmds" >/dev/null 2>&1
  e=$(now_ms); created "$1"; echo $(( e - s ))
}
run_loop() {
  reset; commands "$1" > "$work/cmds"
  local s e line; s=$(now_ms)
  while read -r line; do
    # shellcheck disable=SC2086
    lvm $line >/dev/null 2>&1
  done < "$work/cmds"
  e=$(now_ms); created "$1"; echo $(( e - s ))
}

echo "first apply of N LVs in 2 VGs (4 MiB each), medians of $RUNS interleaved runs:"
for size in $SIZES; do
  : > "$work/h"; : > "$work/h1"; : > "$work/s"; : > "$work/l"
  for _ in $(seq "$RUNS"); do
    run_hostform "$size" >> "$work/h"
    run_hostform "$size" -j 1 >> "$work/h1"
    run_shell "$size" >> "$work/s"
    run_loop "$size" >> "$work/l"
  done
  h=$(median < "$work/h"); h1=$(median < "$work/h1"); s=$(median < "$work/s"); l=$(median < "$work/l")
  echo "  N=$size: hostform apply ${h} ms, -j 1 ${h1} ms; one lvm shell ${s} ms; lvcreate processes ${l} ms;" \
       "hostform/shell $(ratio "$h" "$s") (-j 1: $(ratio "$h1" "$s")); processes/shell $(ratio "$l" "$s")"
done
