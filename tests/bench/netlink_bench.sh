#!/usr/bin/env bash
# Netlink provider benchmark, in a private network namespace (never the host's).
#
#   tests/bench/netlink_bench.sh [HOSTFORM_BINARY] [RUNS]
#
# Makes 200 veth pairs (400 ports) with `ip -batch`, then measures:
#   1. `hostform apply` creating 200 bridges (2 ports and 1 address each) from empty;
#   2. a no-op `hostform plan` against the raw floor `ip -j -d link show; ip -j addr show`,
#      both in the same namespace and the same run, and prints the ratio (target <= 1.5).
# Uses hyperfine when installed, else a loop timed with date +%s%N.
set -euo pipefail

HOSTFORM=${1:-$(dirname "$0")/../../build/hostform}
RUNS=${2:-30}
BRIDGES=200

if [[ -z "${HF_BENCH_INNER:-}" ]]; then
  HOSTFORM=$(readlink -f "$HOSTFORM")
  exec env HF_BENCH_INNER=1 unshare --net -- "$0" "$HOSTFORM" "$RUNS"
fi

# Refuse to run anywhere but an empty, private namespace.
if [[ $(ip -o link show | wc -l) -ne 1 ]]; then
  echo "netlink_bench: not in an empty network namespace; refusing to run." >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ip link set lo up

{
  for ((i = 0; i < BRIDGES; i++)); do
    echo "link add v${i}a type veth peer name v${i}b"
  done
} >"$work/veths.batch"
ip -batch "$work/veths.batch"

# Bridge i gets v<i>a and the peer end of the previous pair.
{
  for ((i = 0; i < BRIDGES; i++)); do
    prev=$(((i + BRIDGES - 1) % BRIDGES))
    cat <<DOC
---
apiVersion: hostform/v1
kind: Bridge
metadata: {name: hfbr$i}
spec:
  mtu: 1500
  stp: {enabled: false, forwardDelay: 4s}
  ports: [v${i}a, v${prev}b]
  addresses: [10.$((i / 250)).$((i % 250)).1/24]
DOC
  done
} >"$work/bridges.yaml"

common=(--state-dir "$work/state" --owner netlink-bench)

start=$(date +%s%N)
"$HOSTFORM" apply --auto-approve -f "$work/bridges.yaml" "${common[@]}" >"$work/apply.out"
end=$(date +%s%N)
create_ms=$(((end - start) / 1000000))
tail -n 1 "$work/apply.out"
echo "create ${BRIDGES} bridges (400 ports, ${BRIDGES} addresses) from empty: ${create_ms} ms"

"$HOSTFORM" plan -f "$work/bridges.yaml" "${common[@]}" --detailed-exitcode >/dev/null || {
  echo "netlink_bench: the plan after apply is not empty" >&2
  exit 1
}

plan_cmd="$HOSTFORM plan -f $work/bridges.yaml --state-dir $work/state --owner netlink-bench --detailed-exitcode"
floor_cmd="ip -j -d link show >/dev/null; ip -j addr show >/dev/null"

if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/plan.json" "$plan_cmd" >/dev/null
  hyperfine --warmup 3 --runs "$RUNS" --export-json "$work/floor.json" "$floor_cmd" >/dev/null
  plan_ms=$(python3 -c "import json;print(round(json.load(open('$work/plan.json'))['results'][0]['mean']*1000,2))")
  floor_ms=$(python3 -c "import json;print(round(json.load(open('$work/floor.json'))['results'][0]['mean']*1000,2))")
  how="hyperfine, mean of $RUNS runs"
else
  loop() {
    local s e
    s=$(date +%s%N)
    for ((r = 0; r < RUNS; r++)); do eval "$1" >/dev/null; done
    e=$(date +%s%N)
    echo "scale=2; ($e - $s) / 1000000 / $RUNS" | bc
  }
  plan_ms=$(loop "$plan_cmd")
  floor_ms=$(loop "$floor_cmd")
  how="date +%s%N loop, mean of $RUNS runs"
fi
ratio=$(python3 -c "print(round($plan_ms / $floor_ms, 2))")
echo "no-op plan: ${plan_ms} ms; floor (ip -j -d link show; ip -j addr show): ${floor_ms} ms; ratio ${ratio} (${how})"
