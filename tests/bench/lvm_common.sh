# Shared set-up of the LVM benchmarks (lvm_bench.sh, lvm_batch_bench.sh,
# startup_bench.sh), sourced by them:
#   lvmconf DIR LOOP...  writes DIR/lvm.conf, a private LVM_SYSTEM_DIR that sees
#                        only the given loop devices, with activation off (this
#                        host has no device-mapper), no udev and no backups.
#   loopdevs COUNT SIZE  COUNT sparse files of SIZE in $work on loop devices,
#                        appended to the array loops (the script detaches them).

lvmconf() {  # lvmconf DIR LOOP...
  local filter="" l
  for l in "${@:2}"; do filter+="\"a|^$l\$|\", "; done
  mkdir -p "$1"
  cat >"$1/lvm.conf" <<CONF
devices { filter = [ $filter"r|.*|" ] global_filter = [ $filter"r|.*|" ] obtain_device_list_from_udev = 0 use_devicesfile = 0 }
global { activation = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 0 archive = 0 }
CONF
}

loopdevs() {  # loopdevs COUNT SIZE
  local i
  for ((i = 0; i < $1; i++)); do
    truncate -s "$2" "$work/disk$i.img"
    loops+=("$(losetup --find --show "$work/disk$i.img")")
  done
}
