# Shared set-up of the watch benchmarks (watch_bench.sh, events_bench.sh),
# sourced after HOSTFORM and the script's own arguments are set:
#   - re-runs the script in a private network and mount namespace, with the
#     arguments it is given ("$@" of bench_private_namespace);
#   - refuses any namespace but an empty one, mounts a sysfs that shows it;
#   - $work, a temporary directory removed on exit, with a bare repository
#     origin.git and a clone work/ (git_ runs git there);
#   - stop_watcher ends the watcher whose pid is in $watcher;
#   - now_ns, and wait_mtu DEVICE MTU (sysfs, read in a 2 ms loop).

bench_private_namespace() {  # ARGS...: the script's arguments, re-passed
  if [[ -z "${HF_BENCH_INNER:-}" ]]; then
    # A mount namespace too, to mount a sysfs that shows this network namespace.
    exec env HF_BENCH_INNER=1 unshare --net --mount -- "$0" "$@"
  fi
  # Refuse to run anywhere but an empty, private namespace.
  if [[ $(ip -o link show | wc -l) -ne 1 ]]; then
    echo "$(basename "$0" .sh): not in an empty network namespace; refusing to run." >&2
    exit 1
  fi
  ip link set lo up
  mount -t sysfs sysfs /sys  # private to this mount namespace: /sys/class/net is this namespace's
}

bench_repository() {
  work=$(mktemp -d)
  watcher=""
  trap 'stop_watcher; rm -rf "$work"' EXIT
  git init -q --bare -b main "$work/origin.git"
  git init -q -b main "$work/work"
  git_ remote add origin "$work/origin.git"
  mkdir -p "$work/work/hosts/bench"
}

stop_watcher() {
  if [[ -n "$watcher" ]]; then
    kill -TERM "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    watcher=""
  fi
}

git_() { git -C "$work/work" -c user.name=bench -c user.email=bench@hostform.invalid -c commit.gpgsign=false "$@"; }

now_ns() { date +%s%N; }
wait_mtu() {  # device mtu
  local m=""
  for ((i = 0; i < 60000; i++)); do
    if [[ -r /sys/class/net/$1/mtu ]]; then
      read -r m <"/sys/class/net/$1/mtu"
      [[ "$m" == "$2" ]] && return 0
    fi
    sleep 0.002
  done
  echo "$(basename "$0" .sh): $1 never reached MTU $2" >&2
  exit 1
}
