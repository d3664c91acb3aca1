#!/usr/bin/env bash
# KVM provider benchmark against a real libvirtd (scripts/libvirt-sandbox up).
#
#   tests/bench/kvm_bench.sh [HOSTFORM] [KVM_FLOOR]     (root; RUNS=30 REPS=3 by default;
#                                                        PARTS="create plan" selects the parts)
#
#   1. define+start 20 VMs from empty (64 MiB, no disk, no NIC): `hostform apply`
#      with -j 1 and -j 4, REPS times each, torn down between runs (not timed);
#      and, for reference, the same 20 definitions made by one `virsh` process.
#   2. 2 dir pools, 200 qcow2 volumes (64 MiB, thin), 40 VMs (10 running, each
#      with one volume as its disk) applied by hostform; then a no-op
#      `hostform plan` against the floor: build-*/tests/bench/hostform_kvm_floor,
#      the same libvirt calls hostform's observe makes, in C, with nothing else
#      (medians of RUNS interleaved runs once the guests are idle, see below).
#      Target: within 1.3x.
#      Peak RSS of both from /usr/bin/time -v.
#
# Every object is named hfbench-<pid>-*, pools live under a temporary directory,
# and everything is removed on every exit path: by hostform (prune with an
# empty manifest, for each owner used here) and then by hand for anything left.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
HOSTFORM=$(readlink -f "${1:-$here/../../build/hostform}")
FLOOR=$(readlink -f "${2:-$(dirname "$HOSTFORM")/tests/bench/hostform_kvm_floor}")
RUNS=${RUNS:-30}
REPS=${REPS:-3}
PARTS=${PARTS:-create plan}
URI=${LIBVIRT_DEFAULT_URI:-qemu:///system}
export LIBVIRT_DEFAULT_URI=$URI

for exe in "$HOSTFORM" "$FLOOR"; do
  [[ -x $exe ]] || { echo "kvm_bench: $exe is not built" >&2; exit 1; }
done
virsh -q version >/dev/null 2>&1 || { echo "kvm_bench: no libvirtd at $URI (scripts/libvirt-sandbox up)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "kvm_bench: needs /usr/bin/time (apt install time)" >&2; exit 1; }

p=hfbench-$$
owner=kvm-bench-$$          # the plan bench
owner20=kvm-bench20-$$      # the define+start bench
work=$(mktemp -d /tmp/hostform-kvm-bench.XXXXXX)
chmod 0755 "$work"          # QEMU (libvirt-qemu) opens the volumes under it
mkdir -p "$work/empty" "$work/m240" "$work/m20" "$work/state"
common=(--state-dir "$work/state")

cleanup() {
  set +e
  for o in "$owner20" "$owner"; do
    "$HOSTFORM" apply --auto-approve -f "$work/empty" --prune --allow-empty --allow-data-loss --owner "$o" "${common[@]}" >/dev/null 2>&1
  done
  # Anything still there with this run's prefix (a failed apply, the virsh reference).
  for d in $(virsh -q list --all --name | grep "^$p-"); do
    virsh -q destroy "$d" >/dev/null 2>&1
    virsh -q undefine --nvram "$d" >/dev/null 2>&1 || virsh -q undefine "$d" >/dev/null 2>&1
  done
  for pool in $(virsh -q pool-list --all --name | grep "^$p-"); do
    for v in $(virsh -q vol-list "$pool" 2>/dev/null | awk '{print $1}'); do virsh -q vol-delete "$v" --pool "$pool" >/dev/null 2>&1; done
    virsh -q pool-destroy "$pool" >/dev/null 2>&1
    virsh -q pool-undefine "$pool" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ms_since() { local now=$EPOCHREALTIME; echo $(((${now//[.,]/} - ${1//[.,]/}) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

vm() {  # vm NAME STATE [POOL VOLUME]
  printf -- '---\napiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: %s}\n' "$1"
  printf 'spec:\n  memory: 64MiB\n  machine: q35\n  cpuMode: default\n  state: %s\n  autostart: false\n  shutdownTimeout: 1s\n' "$2"
  if [[ -n ${3:-} ]]; then printf '  disks:\n    - volume: {pool: %s, name: %s}\n' "$3" "$4"; fi
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "kvm_bench: $(nproc) cores, load average $(loadavg) at start"
trap 'echo "kvm_bench: load average $(loadavg) at the end"; cleanup' EXIT

# ---- 1. define+start 20 VMs from empty --------------------------------------------
if [[ " $PARTS " == *" create "* ]]; then
for i in $(seq -w 1 20); do vm "$p-s$i" running; done >"$work/m20/vms.yaml"
apply20() {  # apply20 JOBS: prints the wall time in ms; teardown not timed
  local s t
  s=$EPOCHREALTIME
  "$HOSTFORM" apply --auto-approve -f "$work/m20" --owner "$owner20" "${common[@]}" -j "$1" >"$work/apply20.out" 2>&1 ||
    { cat "$work/apply20.out" >&2; exit 1; }
  t=$(ms_since "$s")
  [[ $(virsh -q list --name --state-running | grep -c "^$p-s") -eq 20 ]] || { echo "kvm_bench: not 20 running" >&2; exit 1; }
  echo "$t"
}
teardown20() {
  "$HOSTFORM" apply --auto-approve -f "$work/empty" --prune --allow-empty --allow-data-loss --owner "$owner20" "${common[@]}" -j 4 >/dev/null
  [[ $(virsh -q list --all --name | grep -c "^$p-s") -eq 0 ]] || { echo "kvm_bench: teardown left domains" >&2; exit 1; }
}
# The reference: the definitions hostform wrote in the first run, defined and
# started in the same order by one virsh process (no hostform at all).
virsh20() {
  local s t
  s=$EPOCHREALTIME
  virsh -q "$cmds" >/dev/null
  t=$(ms_since "$s")
  for i in $(seq -w 1 20); do virsh -q destroy "$p-s$i" >/dev/null; virsh -q undefine "$p-s$i" >/dev/null; done
  echo "$t"
}
j1=() j4=() vs=() cmds=""
for r in $(seq "$REPS"); do  # interleaved, so the three see the same load
  j1+=("$(apply20 1)")
  if [[ -z $cmds ]]; then
    for i in $(seq -w 1 20); do
      virsh -q dumpxml --inactive "$p-s$i" >"$work/s$i.xml"
      cmds+="define $work/s$i.xml; start $p-s$i; "
    done
  fi
  teardown20
  j4+=("$(apply20 4)")
  teardown20
  vs+=("$(virsh20)")
done
m() { printf '%s\n' "$@" | median; }
echo "define+start 20 VMs from empty: hostform apply -j 1 ${j1[*]} ms (median $(m "${j1[@]}"))," \
     "-j 4 ${j4[*]} ms (median $(m "${j4[@]}")); one virsh process, define+start each: ${vs[*]} ms (median $(m "${vs[@]}"))"
fi

# ---- 2. no-op plan: 2 pools, 200 volumes, 40 VMs (10 running) ---------------------
if [[ " $PARTS " == *" plan "* ]]; then
{
  for k in 0 1; do
    printf -- '---\napiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: %s-pool%d}\n' "$p" "$k"
    printf 'spec: {type: dir, target: %s/pool%d, autostart: false}\n' "$work" "$k"
  done
} >"$work/m240/pools.yaml"
{
  for n in $(seq -w 0 199); do
    printf -- '---\napiVersion: hostform/v1\nkind: Volume\nmetadata: {name: v%s.qcow2}\n' "$n"
    printf 'spec: {pool: %s-pool%d, capacity: 64MiB, format: qcow2, allocation: thin}\n' "$p" $((10#$n % 2))
  done
} >"$work/m240/volumes.yaml"
{
  for n in $(seq -w 0 39); do
    state=stopped
    [[ $((10#$n % 4)) -eq 0 ]] && state=running
    vm "$p-vm$n" "$state" "$p-pool$((10#$n % 2))" "v$(printf %03d $((10#$n * 5))).qcow2"
  done
} >"$work/m240/vms.yaml"
s=$EPOCHREALTIME
"$HOSTFORM" apply --auto-approve -f "$work/m240" --owner "$owner" "${common[@]}" >"$work/apply240.out" 2>&1 ||
  { cat "$work/apply240.out" >&2; exit 1; }
applyMs=$(ms_since "$s")
plan_args=(plan -f "$work/m240" --owner "$owner" "${common[@]}")
if ! "$HOSTFORM" "${plan_args[@]}" --detailed-exitcode >"$work/plan.out" 2>&1 || ! grep -q '^No changes' "$work/plan.out"; then
  echo "kvm_bench: the plan after apply is not empty:" >&2; cat "$work/plan.out" >&2; exit 1
fi
echo "apply 2 pools + 200 volumes + 40 VMs (10 started) from empty: ${applyMs} ms; floor sees: $("$FLOOR")"

# A guest with no OS burns 25-50 % of a core in its firmware for up to a minute
# after start (10 of them take both cores of the reference VM), then idles at
# ~2 %; measuring before would time the guests. Wait until this run's QEMU
# processes use under half a core together.
guest_ticks() {
  local sum=0 pid
  for pid in $(pgrep -f "guest=$p-vm" || true); do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
hz=$(getconf CLK_TCK)
for ((w = 0; w < 36; w++)); do  # at most 3 minutes
  a=$(guest_ticks); sleep 5; b=$(guest_ticks)
  if (((b - a) * 100 < hz * 5 * 50)); then break; fi
done
echo "guests settled after $((w * 5 + 5)) s"

# Interleaved runs, not hyperfine: hyperfine times one command RUNS times and
# then the next, and on this shared VM the load drifts between the blocks.
# Here each round runs the floor, the plan and two parts of the plan (process
# start: `hostform version`; start + manifest load + validation: `hostform
# validate`), so all four see the same load; the figures are medians.
# The plan runs at --log-level debug, which adds the one line giving the time observe took.
declare -A t=()
for ((r = 0; r < RUNS + 2; r++)); do  # the first 2 rounds are warm-up
  for c in floor plan validate version; do
    s=$EPOCHREALTIME
    case $c in
      floor) "$FLOOR" >/dev/null ;;
      plan) "$HOSTFORM" "${plan_args[@]}" --detailed-exitcode --log-level debug >/dev/null 2>"$work/debug.err" ||
        { echo "kvm_bench: the no-op plan failed or has changes:" >&2; cat "$work/debug.err" >&2; exit 1; } ;;
      validate) "$HOSTFORM" validate -f "$work/m240" >/dev/null ;;
      version) "$HOSTFORM" version >/dev/null ;;
    esac
    e=$EPOCHREALTIME
    if ((r < 2)); then continue; fi
    t[$c]+="$(((${e//[.,]/} - ${s//[.,]/}) / 100)) "  # tenths of a ms
    if [[ $c == plan ]]; then
      t[observe]+="$(sed -n 's/.*observed [0-9]* objects in \([0-9]*\) ms.*/\1/p' "$work/debug.err")0 "
    fi
  done
done
med() { tr ' ' '\n' <<<"${t[$1]}" | grep . | median | awk '{printf "%.1f", $1 / 10}'; }
plan_ms=$(med plan) floor_ms=$(med floor)
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {printf "%.1f", $2 / 1024}'; }
plan_rss=$(rss "$HOSTFORM" "${plan_args[@]}")
floor_rss=$(rss "$FLOOR")
echo "no-op plan, 2 pools / 200 volumes / 40 VMs (medians of $RUNS interleaved runs):" \
     "hostform plan ${plan_ms} ms, floor ${floor_ms} ms, ratio $(awk "BEGIN {printf \"%.2f\", $plan_ms / $floor_ms}");" \
     "peak RSS ${plan_rss} MiB vs ${floor_rss} MiB"
echo "  parts of the plan: hostform version $(med version) ms, hostform validate -f (start + load + validate)" \
     "$(med validate) ms, observe (--log-level debug) $(med observe) ms"
fi
