#!/usr/bin/env bash
# Start-up benchmark (issue 18): hostform against the raw backend calls it
# replaces, for runs where process start is most of the time.
#
#   tests/bench/startup_bench.sh [HOSTFORM] [KVM_FLOOR]     (root; RUNS=21 by default)
#
# Rows (A = hostform, B = the floor), target ratio A/B:
#   version  `hostform version`                      vs `ip -V`                                 <= 2.0
#   bridges  no-op plan of 100 bridges                vs sh -c 'ip -j -d link show; ip -j addr show'  <= 1.3
#   lvs      no-op plan of 300 LVs in 2 VGs           vs `lvm fullreport --reportformat json`     <= 1.1
#   host     no-op plan of 2 pools / 200 volumes / 40 VMs + 100 LVs + 100 bridges
#            vs one sh -c running the three floors: the two ip dumps, lvm fullreport,
#            and hostform_kvm_floor (the libvirt calls of observe, tests/bench/kvm_floor.c) <= 1.1
#
# Everything runs in a private network namespace (ip netns, removed on exit).
# LVM: 4 sparse files on loop devices, seen through two private LVM_SYSTEM_DIRs
# (activation = 0, a filter accepting only that row's devices): 2 VGs / 300 LVs
# for the `lvs` row, 2 VGs / 100 LVs for the `host` row. libvirt: its test
# driver loaded in-process from a generated XML file (test:///PATH), as the
# golden test does, so no libvirtd is needed and nothing is written: every run
# sees the same 2 pools, 200 volumes and 40 domains (10 running). The pools and
# volumes are put in the ledger of the run's --state-dir; the domains carry
# hostform's owner metadata. The bridges and LVs are made by `hostform apply`.
#
# Each round runs A then B for every row (A B A B ...), after 2 warm-up rounds;
# the script prints the medians, the median of the per-round ratios A/B, a
# PASS / OVER TARGET verdict, and the peak RSS of each command (/usr/bin/time -v;
# for a sh -c floor, the largest of its processes). It works with or without
# hostform's backend modules: it only runs the binary. Always exits 0 once the
# set-up succeeded: a benchmark is not a test.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
HOSTFORM=$(readlink -f "${1:-$here/../../build/hostform}")
FLOOR=$(readlink -f "${2:-$(dirname "$HOSTFORM")/tests/bench/hostform_kvm_floor}")
RUNS=${RUNS:-21}
VMS=40 VOLUMES=200 BRIDGES=100

[[ $(id -u) -eq 0 ]] || { echo "startup_bench: needs root (netns, loop devices)" >&2; exit 1; }
for exe in "$HOSTFORM" "$FLOOR"; do
  [[ -x $exe ]] || { echo "startup_bench: $exe is not built (cmake --build build --target hostform hostform_kvm_floor)" >&2; exit 1; }
done
for c in ip lvm losetup /usr/bin/time; do
  command -v "$c" >/dev/null || { echo "startup_bench: needs $c" >&2; exit 1; }
done

p=hfsb$$
ns=$p
owner=startup-bench-$$
work=$(mktemp -d /tmp/hostform-startup-bench.XXXXXX)
loops=()
cleanup() {
  set +e
  ip netns del "$ns" 2>/dev/null
  for vg in "${p}a" "${p}b"; do LVM_SYSTEM_DIR=$work/lvm300 lvm vgremove -f "$vg" >/dev/null 2>&1; done
  for vg in "${p}c" "${p}d"; do LVM_SYSTEM_DIR=$work/lvm100 lvm vgremove -f "$vg" >/dev/null 2>&1; done
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export LVM_SUPPRESS_FD_WARNINGS=1

# ---- the host ------------------------------------------------------------------------
ip netns add "$ns"
nsrun() { ip netns exec "$ns" "$@"; }
nsrun ip link set lo up
for ((i = 0; i < BRIDGES; i++)); do echo "link add v${i}a type veth peer name v${i}b"; done >"$work/veths.batch"
nsrun ip -batch "$work/veths.batch"

# shellcheck source=tests/bench/lvm_common.sh
source "$here/lvm_common.sh"
loopdevs 4 2G
lvmconf "$work/lvm300" "${loops[0]}" "${loops[1]}"
lvmconf "$work/lvm100" "${loops[2]}" "${loops[3]}"

mkdir -p "$work/bridges" "$work/lvs300" "$work/lvs100" "$work/kvm" "$work/state" "$work/pool0" "$work/pool1"
for ((i = 0; i < BRIDGES; i++)); do
  printf -- '---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfbr%d}\n' "$i"
  printf 'spec: {mtu: 1500, ports: [v%da], addresses: [10.%d.%d.1/24]}\n' "$i" $((i / 250)) $((i % 250))
done >"$work/bridges/bridges.yaml"
lvs() {  # lvs FILE VG DEVICE COUNT
  { printf 'apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: %s}\nspec: {physicalVolumes: [%s]}\n' "$2" "$3"
    for n in $(seq 1 "$4"); do
      printf -- '---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv%03d}\nspec: {volumeGroup: %s, size: 4MiB}\n' "$n" "$2"
    done; } >"$1"
}
lvs "$work/lvs300/a.yaml" "${p}a" "${loops[0]}" 150
lvs "$work/lvs300/b.yaml" "${p}b" "${loops[1]}" 150
lvs "$work/lvs100/c.yaml" "${p}c" "${loops[2]}" 50
lvs "$work/lvs100/d.yaml" "${p}d" "${loops[3]}" 50

# libvirt's test driver: 2 dir pools, 200 thin qcow2 volumes of 64 MiB, 40 domains
# (64 MiB, q35, one volume each as disk, no NIC), every 4th one running.
{
  echo "<node>"
  echo "  <cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads><active>8</active></cpu>"
  echo "  <memory>8388608</memory>"
  for ((n = 0; n < VMS; n++)); do
    state=5 # shut off
    ((n % 4 == 0)) && state=1
    printf "  <domain type='kvm' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
    printf "    <name>%s-vm%02d</name><uuid>6695eb01-f6a4-8304-79aa-%012d</uuid>\n" "$p" "$n" "$n"
    printf "    <metadata><hostform:domain xmlns:hostform='https://hostform.dev/xmlns/domain/1'><hostform:owner>%s</hostform:owner><hostform:shutdownTimeout>1s</hostform:shutdownTimeout></hostform:domain></metadata>\n" "$owner"
    printf "    <memory unit='KiB'>65536</memory><currentMemory unit='KiB'>65536</currentMemory><vcpu>1</vcpu>\n"
    printf "    <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='hd'/></os>\n"
    printf "    <devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='%s-pool%d' volume='v%03d.qcow2'/><target dev='vda' bus='virtio'/></disk></devices>\n" \
      "$p" $((n % 2)) $((n * 5))
    printf "    <test:runstate>%d</test:runstate>\n  </domain>\n" "$state"
  done
  for k in 0 1; do
    printf "  <pool type='dir'><name>%s-pool%d</name><uuid>35bb2ad9-388a-cdfe-461a-%012d</uuid><target><path>%s/pool%d</path></target>\n" "$p" "$k" "$k" "$work" "$k"
    for ((n = k; n < VOLUMES; n += 2)); do
      printf "    <volume type='file'><name>v%03d.qcow2</name><capacity unit='MiB'>64</capacity><allocation>0</allocation><target><format type='qcow2'/></target></volume>\n" "$n"
    done
    echo "  </pool>"
  done
  echo "</node>"
} >"$work/host.xml"
uri="test://$work/host.xml"
{
  for k in 0 1; do
    printf -- '---\napiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: %s-pool%d}\n' "$p" "$k"
    printf 'spec: {type: dir, target: %s/pool%d, autostart: false}\n' "$work" "$k"
  done
  for ((n = 0; n < VOLUMES; n++)); do
    printf -- '---\napiVersion: hostform/v1\nkind: Volume\nmetadata: {name: v%03d.qcow2}\n' "$n"
    printf 'spec: {pool: %s-pool%d, capacity: 64MiB, format: qcow2, allocation: thin}\n' "$p" $((n % 2))
  done
  for ((n = 0; n < VMS; n++)); do
    state=stopped
    ((n % 4 == 0)) && state=running
    printf -- '---\napiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: %s-vm%02d}\n' "$p" "$n"
    printf 'spec:\n  memory: 64MiB\n  machine: q35\n  cpuMode: default\n  state: %s\n  autostart: false\n  shutdownTimeout: 1s\n' "$state"
    printf '  disks:\n    - volume: {pool: %s-pool%d, name: v%03d.qcow2}\n' "$p" $((n % 2)) $((n * 5))
  done
} >"$work/kvm/kvm.yaml"
# The ledger: the test driver's pools and volumes belong to this run's owner.
{
  printf '{"version":1,"owners":{'
  for k in 0 1; do printf '"StoragePool/%s-pool%d":"%s",' "$p" "$k" "$owner"; done
  for ((n = 0; n < VOLUMES; n++)); do
    ((n > 0)) && printf ','
    printf '"Volume/%s-pool%d/v%03d.qcow2":"%s"' "$p" $((n % 2)) "$n" "$owner"
  done
  printf '}}\n'
} >"$work/state/ledger.json"

common=(--owner "$owner" --state-dir "$work/state" --libvirt-uri "$uri")
hf300() { LVM_SYSTEM_DIR=$work/lvm300 nsrun "$HOSTFORM" "$@" "${common[@]}"; }
hf100() { LVM_SYSTEM_DIR=$work/lvm100 nsrun "$HOSTFORM" "$@" "${common[@]}"; }
s=$EPOCHREALTIME
hf100 apply --auto-approve -f "$work/bridges" -f "$work/lvs100" >"$work/apply.out" 2>&1 ||
  { cat "$work/apply.out" >&2; exit 1; }
hf300 apply --auto-approve -f "$work/lvs300" >"$work/apply.out" 2>&1 || { cat "$work/apply.out" >&2; exit 1; }
echo "startup_bench: set-up applied in $(((${EPOCHREALTIME/./} - ${s/./}) / 1000000)) s;" \
     "hostform ($HOSTFORM) needs $(ldd "$HOSTFORM" | wc -l) shared objects (ldd)"
for row in "hf100 bridges" "hf300 lvs300" "hf100 bridges lvs100 kvm"; do
  read -r fn dirs <<<"$row"
  files=()
  for d in $dirs; do files+=(-f "$work/$d"); done
  if ! $fn plan "${files[@]}" --detailed-exitcode >"$work/plan.out" 2>&1; then
    echo "startup_bench: the plan of ${dirs// /+} is not empty:" >&2; head -20 "$work/plan.out" >&2; exit 1
  fi
done

# ---- the commands: the run in the namespace, with the row's LVM_SYSTEM_DIR ---------------------
# Each row is "A|B": A is hostform, B the floor. Run via `ip netns exec` once,
# for the whole loop (below), so neither side pays for entering the namespace.
ipfloor="ip -j -d link show >/dev/null; ip -j addr show >/dev/null"
lvmfloor="lvm fullreport --reportformat json >/dev/null"
rows=(version bridges lvs host)
declare -A A B ENV target
A[version]="$HOSTFORM version"
B[version]="ip -V"
target[version]=2.0
A[bridges]="$HOSTFORM plan -f $work/bridges ${common[*]}"
B[bridges]="sh -c '$ipfloor'"
target[bridges]=1.3
A[lvs]="$HOSTFORM plan -f $work/lvs300 ${common[*]}"
B[lvs]="$lvmfloor"
ENV[lvs]=$work/lvm300
target[lvs]=1.1
A[host]="$HOSTFORM plan -f $work/bridges -f $work/lvs100 -f $work/kvm ${common[*]}"
B[host]="sh -c '$ipfloor; $lvmfloor; $FLOOR $uri >/dev/null'"
target[host]=1.1

# The timing loop, written out as a script and run inside the namespace.
{
  echo 'set -u'
  echo 'runs=$1'
  echo 'for ((r = 0; r < runs + 2; r++)); do'
  for row in "${rows[@]}"; do
    for side in A B; do
      eval "cmd=\${$side[$row]}"
      echo "  export LVM_SYSTEM_DIR=${ENV[$row]:-$work/lvm100}"
      echo "  s=\$EPOCHREALTIME; $cmd >/dev/null 2>&1 || echo \"failed: $row $side\" >&2; e=\$EPOCHREALTIME"
      echo "  ((r >= 2)) && echo \"$row $side \$(( \${e/./} - \${s/./} ))\""
    done
  done
  echo 'done'
} >"$work/loop.sh"
nsrun bash "$work/loop.sh" "$RUNS" >"$work/times" 2>"$work/loop.err"
if [[ -s $work/loop.err ]]; then sort "$work/loop.err" | uniq -c >&2; fi

# Peak RSS (KiB) of each command, one run each.
rss() { LVM_SYSTEM_DIR=$1 nsrun /usr/bin/time -v sh -c "$2" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }

printf '\nstart-up (medians of %d interleaved rounds, load average %s)\n' "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %10s %10s %8s %8s  %-28s %s\n' row hostform floor ratio target verdict "peak RSS hostform / floor"
for row in "${rows[@]}"; do
  a=$(awk -v r="$row" '$1 == r && $2 == "A" {print $3}' "$work/times" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  b=$(awk -v r="$row" '$1 == r && $2 == "B" {print $3}' "$work/times" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  ratio=$(awk -v r="$row" '$1 == r && $2 == "A" {a[n++]=$3} $1 == r && $2 == "B" {b[m++]=$3}
            END {for (i = 0; i < n && i < m; i++) print a[i] / b[i]}' "$work/times" |
          sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}')
  verdict=PASS
  awk -v x="$ratio" -v t="${target[$row]}" 'BEGIN {exit !(x > t)}' && verdict="OVER TARGET (> ${target[$row]}x)"
  ra=$(rss "${ENV[$row]:-$work/lvm100}" "${A[$row]}")
  rb=$(rss "${ENV[$row]:-$work/lvm100}" "${B[$row]}")
  printf '%-8s %7.1f ms %7.1f ms %7sx %7sx  %-28s %.1f / %.1f MiB\n' "$row" "$(awk "BEGIN {print $a / 1000}")" \
    "$(awk "BEGIN {print $b / 1000}")" "$ratio" "${target[$row]}" "$verdict" \
    "$(awk "BEGIN {print $ra / 1024}")" "$(awk "BEGIN {print $rb / 1024}")"
done
echo "(ratio: median of the per-round ratios hostform/floor; medians are of wall time per command)"
exit 0
