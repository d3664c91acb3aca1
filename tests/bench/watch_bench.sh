#!/usr/bin/env bash
# `hostform watch` benchmark, in a private network namespace (never the host's).
#
#   tests/bench/watch_bench.sh [HOSTFORM_BINARY] [RUNS]
#
# With a local bare repository (git CLI) and a watcher following it, measures:
#   1. commit-to-converged latency of a one-bridge change (its MTU) with
#      --interval 1s: from the end of `git push` until the kernel reports the new
#      MTU (target: under 1.5 s);
#   2. the same with the webhook: `git push`, then POST /hooks/git (target: under 300 ms);
#   3. the watcher's steady-state RSS following a 500-resource repository (500
#      bridges in 10 files), sampled once a second over 15 cycles after it has
#      converged (target: under 32 MiB).
# Latencies are printed as median / mean / max of RUNS changes each.
set -euo pipefail

HOSTFORM=${1:-$(dirname "$0")/../../build/hostform}
RUNS=${2:-20}
PORT=18090

[[ -n "${HF_BENCH_INNER:-}" ]] || HOSTFORM=$(readlink -f "$HOSTFORM")
# shellcheck source=tests/bench/watch_common.sh
source "$(dirname "$0")/watch_common.sh"
bench_private_namespace "$HOSTFORM" "$RUNS"
bench_repository

bridge() {  # name mtu
  printf -- '---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: %s}\nspec: {mtu: %s}\n' "$1" "$2"
}
commit() {  # message
  git_ add -A
  git_ commit -q -m "$1"
  git_ push -q origin main
}
stats() {  # numbers on stdin -> "median M ms, mean A ms, max X ms"
  python3 -c '
import statistics, sys
v = [float(x) for x in sys.stdin.read().split()]
print(f"median {statistics.median(v):.0f} ms, mean {statistics.mean(v):.0f} ms, max {max(v):.0f} ms ({len(v)} changes)")'
}
start_watcher() {  # state-dir extra-args...
  local state=$1
  shift
  "$HOSTFORM" watch --repo "$work/origin.git" --path hosts/bench --state-dir "$state" --owner watch-bench \
    --log-level warn "$@" >"$work/watcher.out" 2>"$work/watcher.err" &
  watcher=$!
}

# ---- 1 and 2: one bridge, its MTU changed RUNS times
bridge hfwb0 1400 >"$work/work/hosts/bench/bridge.yaml"
commit "one bridge"
start_watcher "$work/state" --interval 1s --listen "127.0.0.1:$PORT"
wait_mtu hfwb0 1400

trigger=()  # nothing: the interval finds the commit
# RUNS MTU changes from BASE+1 on; after each push, runs the command in
# ${trigger[@]} (if any), then waits for the kernel. Prints the stats.
measure() {  # base-mtu output-file
  : >"$2"
  for ((r = 1; r <= RUNS; r++)); do
    mtu=$(($1 + r))
    bridge hfwb0 $mtu >"$work/work/hosts/bench/bridge.yaml"
    commit "mtu $mtu"
    t0=$(now_ns)
    ((${#trigger[@]} == 0)) || "${trigger[@]}"
    wait_mtu hfwb0 $mtu
    echo $((($(now_ns) - t0) / 1000000)) >>"$2"
  done
  stats <"$2"
}
echo "commit-to-converged, --interval 1s: $(measure 1400 "$work/interval.ms")"

stop_watcher
# POST /hooks/git is served only when signed with a shared secret; --no-events,
# so that only the webhook can be the trigger.
echo bench-secret >"$work/secret"
start_watcher "$work/state" --interval 1h --no-events --listen "127.0.0.1:$PORT" --webhook-secret-file "$work/secret"
for ((i = 0; i < 500; i++)); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.01
done
signature=$(printf '{}' | openssl dgst -sha256 -hmac bench-secret | sed 's/^.*= //')
trigger=(curl -s -o /dev/null -X POST -H "X-Hub-Signature-256: sha256=$signature" -d '{}' "http://127.0.0.1:$PORT/hooks/git")
echo "commit-to-converged, webhook:      $(measure 1500 "$work/webhook.ms")"
stop_watcher

# ---- 3: steady-state RSS with 500 resources
ip link del hfwb0
rm -f "$work/work/hosts/bench/bridge.yaml"
for ((f = 0; f < 10; f++)); do
  for ((i = 0; i < 50; i++)); do bridge "hfwr$((f * 50 + i))" 1500; done >"$work/work/hosts/bench/bridges-$f.yaml"
done
commit "500 bridges"
sha=$(git_ rev-parse HEAD)
start_watcher "$work/state500" --interval 1s
for ((i = 0; i < 1200; i++)); do
  grep -q "\"commit\": \"$sha\"" "$work/state500/watch-state.json" 2>/dev/null &&
    python3 -c "import json,sys; s=json.load(open('$work/state500/watch-state.json')); sys.exit(0 if (s['lastApplied'] or {}).get('commit')=='$sha' else 1)" &&
    break
  sleep 0.1
done
[[ $(ip -o link show type bridge | wc -l) -eq 500 ]] || { echo "watch_bench: 500 bridges not applied" >&2; exit 1; }
max_kib=0
for ((s = 0; s < 15; s++)); do
  sleep 1
  kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$watcher/status")
  ((kib > max_kib)) && max_kib=$kib
done
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$watcher/status")
result=$(python3 -c "import json; print(json.load(open('$work/state500/watch-state.json'))['lastRun']['result'])")
echo "steady-state RSS, 500 bridges, --interval 1s: max $((max_kib / 1024)).$(((max_kib % 1024) * 10 / 1024)) MiB over 15 s" \
  "(peak incl. the first apply: $((hwm_kib / 1024)).$(((hwm_kib % 1024) * 10 / 1024)) MiB; last cycle: $result)"
stop_watcher
