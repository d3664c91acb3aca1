# Debian's stock kernel for the test guests, from Debian packages only: sourced
# by tests/guest/build-guest and tests/vm/build-vm.
#
#   debian_kernel CACHE WORK   downloads (once, into CACHE) the package
#                              linux-image-amd64 depends on and unpacks it
#                              into WORK/kernel with dpkg -x (never installed);
#                              sets $release and runs depmod.
#   add_module PATH DEST LIST  copies a module (relative to lib/modules/$release,
#                              "kernel/fs/ext4/ext4.ko") and what it depends on
#                              into DEST, appending each file name to LIST in
#                              load order.

debian_kernel() {
  local cache=$1 work=$2 package deb
  package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
  if [ -z "$package" ]; then
    apt-get update -qq
    package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  fi
  [ -n "$package" ] || { echo "apt knows no linux-image-amd64" >&2; return 1; }
  deb=$(ls "$cache"/"$package"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    (cd "$work" && apt-get download -q "$package" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
    mv "$work"/"$package"_*.deb "$cache"/
    deb=$(ls "$cache"/"$package"_*.deb | head -1)
  fi
  dpkg -x "$deb" "$work/kernel"
  release=$(ls "$work/kernel/lib/modules")
  depmod -b "$work/kernel" "$release"
  kernel_dir="$work/kernel/lib/modules/$release"
  declare -gA loaded_modules=()
}

add_module() {
  local line deps i
  line=$(grep -E "^$1:" "$kernel_dir/modules.dep") || { echo "no module $1 in $release" >&2; return 1; }
  read -r -a deps <<< "${line#*:}"
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_module "${deps[i]}" "$2" "$3"; done
  [ -n "${loaded_modules[$1]:-}" ] && return 0
  loaded_modules[$1]=1
  cp "$kernel_dir/$1" "$2/"
  basename "$1" >> "$3"
}
