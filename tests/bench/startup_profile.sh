#!/usr/bin/env bash
# Where hostform's start-up goes (issue 18): a CPU profile and the dynamic
# linker's statistics of `hostform version` and of a no-op `hostform plan` of
# 100 bridges, in a private network namespace (removed on exit).
#
#   tests/bench/startup_profile.sh [HOSTFORM] [OUTDIR]     (root; needs perf; RUNS=50)
#
# Prints, for each command: the top DSOs and symbols of `perf record -g` over
# RUNS runs (children-inclusive percentages are left out: self time, sorted),
# the CPU time per run (perf stat), and LD_DEBUG=statistics of one run.
# Leaves perf.data files in OUTDIR (default: a temporary directory, removed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
HOSTFORM=$(readlink -f "${1:-$here/../../build/hostform}")
RUNS=${RUNS:-50}
BRIDGES=100
[[ $(id -u) -eq 0 ]] || { echo "startup_profile: needs root (netns)" >&2; exit 1; }
command -v perf >/dev/null || { echo "startup_profile: needs perf" >&2; exit 1; }

ns=hfsp$$
work=$(mktemp -d /tmp/hostform-startup-profile.XXXXXX)
out=${2:-$work}
mkdir -p "$out"
cleanup() { set +e; ip netns del "$ns" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
nsrun() { ip netns exec "$ns" "$@"; }
nsrun ip link set lo up
for ((i = 0; i < BRIDGES; i++)); do echo "link add v${i}a type veth peer name v${i}b"; done >"$work/veths.batch"
nsrun ip -batch "$work/veths.batch"
for ((i = 0; i < BRIDGES; i++)); do
  printf -- '---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfbr%d}\n' "$i"
  printf 'spec: {mtu: 1500, ports: [v%da], addresses: [10.%d.%d.1/24]}\n' "$i" $((i / 250)) $((i % 250))
done >"$work/bridges.yaml"
common=(--owner startup-profile --state-dir "$work/state")
nsrun "$HOSTFORM" apply --auto-approve -f "$work/bridges.yaml" "${common[@]}" >/dev/null
nsrun "$HOSTFORM" plan -f "$work/bridges.yaml" "${common[@]}" --detailed-exitcode >/dev/null ||
  { echo "startup_profile: the plan after apply is not empty" >&2; exit 1; }

profile() {  # profile NAME ARGS...
  local name=$1; shift
  set +o pipefail  # head closes the reports early
  local loop="for i in \$(seq $RUNS); do $HOSTFORM $* >/dev/null; done"
  echo "==== hostform $* ($RUNS runs)"
  nsrun perf stat -x, -e task-clock -o "$out/$name.stat" sh -c "$loop"
  awk -F, -v n="$RUNS" '/task-clock/ {printf "CPU time: %.1f ms per run (task-clock, with the shell loop)\n", $1 / n}' "$out/$name.stat"
  nsrun perf record -q -g -o "$out/$name.data" sh -c "$loop" 2>/dev/null
  # Percentages are of all samples, the shell loop's included.
  echo "-- top DSOs of the hostform processes (self)"
  perf report -i "$out/$name.data" --no-children --sort comm,dso -g none --stdio 2>/dev/null |
    awk '$2 == "hostform"' | head -12
  echo "-- top symbols of the hostform processes (self)"
  perf report -i "$out/$name.data" --no-children --sort comm,dso,sym -g none --stdio 2>/dev/null |
    awk '$2 == "hostform"' | head -25
  echo "-- ld.so statistics of one run"
  nsrun env LD_DEBUG=statistics "$HOSTFORM" "$@" 2>&1 >/dev/null | sed -n 's/^ *[0-9]*:\t *//p' | awk 'NF' || true
}
profile version version
profile plan100 plan -f "$work/bridges.yaml" "${common[@]}"
