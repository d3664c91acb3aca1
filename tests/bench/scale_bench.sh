#!/usr/bin/env bash
# Plan time against manifest size: does planning stay linear?
#
#   tests/bench/scale_bench.sh [HOSTFORM_BINARY] [RUNS] [SIZES...]
#
# Times `hostform plan` (load, validate, observe, plan, print) of
#   - N new bridges with one address each, in a private network namespace
#     (N = 2000, 16000, 128000): the port and address checks look at every
#     other declared bridge;
#   - N new logical volumes in one declared volume group on a sparse loop
#     device, seen through a private LVM configuration (N = 10000, 100000):
#     the free-space check sums every LV of the VG.
# Nothing is applied. Each size runs RUNS times (default 3); the table gives
# the median wall time, the peak RSS, and the time per resource relative to
# the smallest size of the same kind: 1.0 is linear, N/N0 is quadratic.
# SIZES (e.g. `bridges:2000 lvs:10000`) replaces the default sizes.
set -euo pipefail

HOSTFORM=$(readlink -f "${1:-$(dirname "$0")/../../build/hostform}")
RUNS=${2:-3}
shift $(($# > 2 ? 2 : $#)) || true
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(bridges:2000 bridges:16000 bridges:128000 lvs:10000 lvs:100000)

if [[ -z "${HF_BENCH_INNER:-}" ]]; then
  exec env HF_BENCH_INNER=1 unshare --net -- "$0" "$HOSTFORM" "$RUNS" "${SIZES[@]}"
fi
if [[ $(ip -o link show | wc -l) -ne 1 ]]; then
  echo "scale_bench: not in an empty network namespace; refusing to run." >&2
  exit 1
fi

work=$(mktemp -d)
loop=
cleanup() {
  if [[ -n $loop ]]; then
    LVM_SYSTEM_DIR=$work/lvm lvm pvremove -ff -y "$loop" >/dev/null 2>&1 || true
    losetup -d "$loop"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A sparse 256GiB device for the LVs (1MiB extents: 100,000 LVs need 100,000
# of its 262,143), seen by lvm through a configuration that accepts only it.
truncate -s 256G "$work/pv.img"
loop=$(losetup --find --show "$work/pv.img")
mkdir -p "$work/lvm"
cat >"$work/lvm/lvm.conf" <<CONF
devices {
  filter = [ "a|^$loop\$|", "r|.*|" ]
  global_filter = [ "a|^$loop\$|", "r|.*|" ]
  obtain_device_list_from_udev = 0
  use_devicesfile = 0
}
global { activation = 0 }
CONF

bridges() {
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
out = []
for i in range(n):
    out.append("---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: b%d}\nspec:\n"
               "  mtu: 9000\n  addresses: [10.%d.%d.%d/8]\n" % (i, 1 + (i >> 16), (i >> 8) & 255, i & 255))
sys.stdout.write("".join(out))
PY
}

lvs() {
  python3 - "$1" "$loop" <<'PY'
import sys
n, device = int(sys.argv[1]), sys.argv[2]
out = ["apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: hfscale}\n"
       "spec: {physicalVolumes: [%s], extentSize: 1MiB}\n" % device]
for i in range(n):
    out.append("---\napiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv%d}\n"
               "spec: {volumeGroup: hfscale, size: 1MiB}\n" % i)
sys.stdout.write("".join(out))
PY
}

# median wall seconds and peak RSS (MiB) of RUNS runs of `hostform plan`.
measure() {
  python3 - "$RUNS" "$@" <<'PY'
import resource, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
walls, rss = [], 0
for _ in range(runs):
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    walls.append(time.monotonic() - t)
    if r.returncode != 0:
        sys.exit("plan failed (exit %d): %s" % (r.returncode, r.stderr.decode()[:500]))
    rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print("%.3f %.0f" % (statistics.median(walls), rss / 1024))
PY
}

ip link set lo up
printf '%-9s %8s %12s %12s %10s %12s\n' kind size "median (s)" "per item (µs)" "peak MiB" "vs smallest"
declare -A base
for item in "${SIZES[@]}"; do
  kind=${item%%:*} n=${item#*:}
  "$kind" "$n" >"$work/m.yaml"
  read -r wall rss < <(LVM_SYSTEM_DIR=$work/lvm measure "$HOSTFORM" plan -f "$work/m.yaml" \
    --state-dir "$work/state" --owner scale-bench)
  per=$(python3 -c "print('%.1f' % ($wall * 1e6 / $n))")
  [[ -n ${base[$kind]:-} ]] || base[$kind]=$per
  ratio=$(python3 -c "print('%.2f' % ($per / ${base[$kind]}))")
  printf '%-9s %8d %12s %12s %10s %12s\n' "$kind" "$n" "$wall" "$per" "$rss" "$ratio"
done
