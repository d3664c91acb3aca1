#!/usr/bin/env bash
# `hostform watch` drift benchmark: event mode against interval mode, in a
# private network namespace (never the host's).
#
#   tests/bench/events_bench.sh [HOSTFORM_BINARY] [RUNS] [INTERVAL]
#
# A local bare repository declares 20 bridges (MTU 1400). For each mode a
# watcher follows it, and RUNS times the MTU of one bridge is changed behind
# its back (`ip link set hfwe0 mtu 1300`); the latency is from just before that
# command until the kernel reports 1400 again (sysfs, read in a 2 ms loop).
# Before each drift the script waits a random 0.2-1.2 s (event mode) or a
# random part of the interval (interval mode, so every phase of it is met).
#   1. event mode: --interval 1h (only the netlink events can be the trigger);
#   2. interval mode: --no-events --interval INTERVAL (default 5s).
# Then the event-mode watcher's steady RSS: VmRSS sampled every second for
# 10 s after the drifts, and VmHWM (its peak). Targets: event median < 1 s,
# steady RSS < 32 MiB. Prints median, p90 and max of each mode.
set -euo pipefail

HOSTFORM=${1:-$(dirname "$0")/../../build/hostform}
RUNS=${2:-20}
INTERVAL=${3:-5s}
PORT=18091

[[ -n "${HF_BENCH_INNER:-}" ]] || HOSTFORM=$(readlink -f "$HOSTFORM")
# shellcheck source=tests/bench/watch_common.sh
source "$(dirname "$0")/watch_common.sh"
bench_private_namespace "$HOSTFORM" "$RUNS" "$INTERVAL"
bench_repository
for ((i = 0; i < 20; i++)); do
  printf -- '---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: hfwe%s}\nspec: {mtu: 1400}\n' "$i"
done >"$work/work/hosts/bench/bridges.yaml"
git_ add -A
git_ commit -q -m "20 bridges"
git_ push -q origin main

stats() {  # numbers on stdin -> "median M ms, p90 P ms, max X ms (N drifts)"
  python3 -c '
import statistics, sys
v = [float(x) for x in sys.stdin.read().split()]
p90 = statistics.quantiles(v, n=10, method="inclusive")[8]
print(f"median {statistics.median(v):.0f} ms, p90 {p90:.0f} ms, max {max(v):.0f} ms ({len(v)} drifts)")'
}
start_watcher() {  # state-dir extra-args...
  local state=$1
  shift
  "$HOSTFORM" watch --repo "$work/origin.git" --path hosts/bench --state-dir "$state" --owner events-bench \
    --log-level warn --listen "127.0.0.1:$PORT" "$@" >"$work/watcher.out" 2>"$work/watcher.err" &
  watcher=$!
  wait_mtu hfwe19 1400
  # Converged and listening (the first cycle's own events settle too).
  for ((i = 0; i < 500; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
    sleep 0.01
  done
  sleep 1
}
measure() {  # output-file max-wait-ms
  : >"$1"
  for ((r = 1; r <= RUNS; r++)); do
    local wait_ms=$((200 + RANDOM % $2))
    sleep "$((wait_ms / 1000)).$(printf %03d $((wait_ms % 1000)))"
    t0=$(now_ns)
    ip link set dev hfwe0 mtu 1300
    wait_mtu hfwe0 1400
    echo $((($(now_ns) - t0) / 1000000)) >>"$1"
  done
  stats <"$1"
}
metric() {  # name{labels} -> value
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

start_watcher "$work/state-events" --interval 1h
echo "drift-to-corrected, events (--interval 1h):       $(measure "$work/events.ms" 1000)"
echo "  event cycles $(metric 'hostform_watch_cycles_total{trigger="event"}'), netlink events" \
  "$(metric 'hostform_watch_events_total{source="netlink"}'), drift counted $(metric hostform_watch_drift_total)," \
  "update actions $(metric 'hostform_watch_actions_total{op="update",outcome="done"}')"
max_kib=0
for ((s = 0; s < 10; s++)); do
  sleep 1
  kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$watcher/status")
  ((kib > max_kib)) && max_kib=$kib
done
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$watcher/status")
echo "steady RSS, event mode, 20 bridges: max VmRSS $((max_kib / 1024)).$(((max_kib % 1024) * 10 / 1024)) MiB over 10 s," \
  "VmHWM $((hwm_kib / 1024)).$(((hwm_kib % 1024) * 10 / 1024)) MiB"
stop_watcher

interval_ms=$(python3 -c "
import re, sys
t = sys.argv[1]; ms = 0
for n, u in re.findall(r'(\d+)(ms|h|m|s)', t): ms += int(n) * {'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000}[u]
print(ms)" "$INTERVAL")
start_watcher "$work/state-interval" --no-events --interval "$INTERVAL"
echo "drift-to-corrected, interval (--no-events --interval $INTERVAL): $(measure "$work/interval.ms" "$interval_ms")"
kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$watcher/status")
echo "  VmRSS, interval mode: $((kib / 1024)).$(((kib % 1024) * 10 / 1024)) MiB"
stop_watcher
