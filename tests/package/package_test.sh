#!/usr/bin/env bash
# The install rules and the Debian package, end to end on this machine:
#   1. `cmake --install` lays out exactly the files the layout promises;
#   2. cpack builds one .deb whose fields and contents are the expected ones,
#      with a Depends that covers every shared library the binary needs;
#   3. dpkg -i installs it, and the installed /usr/bin/hostform runs `version`
#      and validates the installed examples, whose $schema lines resolve;
#   4. dpkg -r and --purge remove it again (and the EXIT trap does so on
#      every path, a failed step included).
# Needs root; skips (exit 77) rather than touch a hostform already installed.
#
# usage: package_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(realpath "$1")
build=$(realpath "$2")

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
status() { dpkg-query -W -f='${db:Status-Abbrev}' hostform 2>/dev/null || echo "not-installed"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: installing a package needs root"
  exit 77
fi
if [ "$(status)" != "not-installed" ] && [ "$(status)" != "un " ]; then
  echo "SKIP: a hostform package is known to dpkg here ($(status)); this test will not replace or remove it"
  exit 77
fi
if [ -e /usr/bin/hostform ]; then
  echo "SKIP: /usr/bin/hostform exists; this test will not overwrite it"
  exit 77
fi

work=$(mktemp -d /tmp/hostform-package.XXXXXX)
installed=0
cleanup() {
  local code=$?
  if [ "$installed" = 1 ] && [ "$(status)" != "not-installed" ]; then
    dpkg --purge hostform >/dev/null 2>&1 || echo "cleanup: dpkg --purge hostform failed" >&2
  fi
  rm -rf "$work"
  exit "$code"
}
trap cleanup EXIT

version=$("$build/hostform" version | head -n1 | sed -n 's/^hostform //p')
[ -n "$version" ] || fail "cannot read the version from $build/hostform version"
arch=$(dpkg --print-architecture)

# The files the layout promises, relative to the prefix, sorted.
expected_files() {
  {
    echo bin/hostform
    # The modules (reconciler/module.h) under the configured libdir: lib, or lib/<multiarch> with prefix /usr.
    for module in "$build"/modules/*.so; do echo "$libdir/hostform/$(basename "$module")"; done
    echo share/bash-completion/completions/hostform
    echo share/doc/hostform/README.md
    (cd "$src" && find docs -type f -name '*.md') | sed 's|^|share/doc/hostform/|'
    (cd "$src/schemas" && find . -type f) | sed 's|^\./|share/hostform/schemas/|'
    (cd "$src/examples" && find . -type f -o -type l) | sed 's|^\./|share/hostform/examples/|'
    if [ -d "$src/packaging/systemd" ]; then
      (cd "$src/packaging/systemd" && find . -maxdepth 1 -type f -name '*.service') | sed 's|^\./|lib/systemd/system/|'
    fi
  } | LC_ALL=C sort
}
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -n "$libdir" ] || fail "cannot read CMAKE_INSTALL_LIBDIR from $build/CMakeCache.txt"
ls "$build"/modules/kvm.so "$build"/modules/watch.so >/dev/null || fail "the build has no modules"
expected_files > "$work/expected"

step "cmake --install lays out exactly the promised files"
cmake --install "$build" --prefix "$work/tree" >/dev/null
(cd "$work/tree" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort) > "$work/installed"
diff -u "$work/expected" "$work/installed" || fail "cmake --install: the installed files differ from the layout (above)"

step "cpack builds one .deb"
cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log" >&2
  fail "cpack failed"
}
debs=("$work"/pkg/*.deb)
[ "${#debs[@]}" = 1 ] || fail "expected one .deb, found: ${debs[*]}"
deb=${debs[0]}
[ "$(basename "$deb")" = "hostform_${version}_${arch}.deb" ] || fail "unexpected package file name $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = hostform ] || fail "Package is $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version is $(field Version), expected $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is $(field Architecture), expected $arch"
[ "$(field Section)" = admin ] || fail "Section is $(field Section)"
[ "$(field Recommends)" = "lvm2, libvirt-daemon-system, qemu-utils, bash-completion" ] || fail "Recommends is $(field Recommends)"

step "Depends names a package for every shared library the binary and its modules need"
depends=" $(field Depends | tr ',|' '\n\n' | sed -E 's/^ *([^ ]+).*/\1/' | tr '\n' ' ') "
for soname in $(objdump -p "$build/hostform" "$build"/modules/*.so | awk '/NEEDED/ {print $2}' | sort -u); do
  owners=$(dpkg -S "*/$soname" 2>/dev/null | cut -d: -f1 | tr ',' '\n' | sed 's/ //g' | sort -u)
  [ -n "$owners" ] || fail "no installed package ships $soname"
  found=0
  for p in $owners; do
    # ...directly, or through a name it Provides (libspdlog1.10 provides libspdlog1.10-fmt9)
    for name in $p $(dpkg-query -W -f='${Provides}' "$p" 2>/dev/null | tr ',' '\n' | sed -E 's/^ *([^ ]+).*/\1/'); do
      [[ $depends == *" $name "* ]] && found=1
    done
  done
  [ "$found" = 1 ] || fail "Depends ($(field Depends)) names none of the packages shipping $soname: $owners"
done

step "the .deb holds exactly the promised files under /usr"
dpkg-deb -c "$deb" | awk '$1 ~ /^[-l]/ {print $6}' | sed 's|^\./usr/||' | LC_ALL=C sort > "$work/packaged"
diff -u "$work/expected" "$work/packaged" || fail "the package's files differ from the layout (above)"
dpkg-deb -e "$deb" "$work/control"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "the package has no executable $script"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done

step "dpkg -i installs it"
installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -i failed"
}
[ "$(status)" = "ii " ] || fail "after dpkg -i, dpkg says $(status)"

step "the installed binary runs"
out=$(/usr/bin/hostform version) || fail "/usr/bin/hostform version exited $?"
[ "$out" = "$("$build/hostform" version)" ] || fail "/usr/bin/hostform version printed: $out"

step "the installed binary opens its installed modules"
pool="$work/pool.yaml"
printf 'apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: hfpkgpool}\nspec: {type: dir, target: /tmp/hfpkgpool}\n' >"$pool"
out=$(/usr/bin/hostform --state-dir "$work/state" --libvirt-uri test:///default plan -f "$pool" 2>&1) ||
  fail "the installed kvm module: plan exited $?: $out"
[[ $out == *"Plan: 1 to create, 0 to change, 0 to delete."* ]] || fail "the installed kvm module: plan printed: $out"
out=$(/usr/bin/hostform --state-dir "$work/state" suspend 2>&1) || fail "the installed watch module: suspend: $out"
[ -f "$work/state/suspended" ] || fail "the installed watch module: suspend wrote no flag"
/usr/bin/hostform --state-dir "$work/state" resume >/dev/null || fail "the installed watch module: resume failed"

step "the installed examples validate, and their \$schema lines resolve"
examples=/usr/share/hostform/examples
# One host's manifests per directory (a fleet repository: one per hosts/<name>).
for rel in $(cd "$src/examples" && { ls -d */ | grep -v '^fleet/$'; ls -d fleet/hosts/*/; }); do
  out=$(/usr/bin/hostform validate -f "$examples/$rel" 2>&1) || fail "validate -f $examples/$rel: $out"
  [ "$out" = "$("$build/hostform" validate -f "$src/examples/$rel" 2>&1)" ] || fail "validate -f $examples/$rel printed: $out"
done
while IFS= read -r file; do
  ref=$(sed -n 's/^# yaml-language-server: \$schema=//p' "$file" | head -n1)
  [ -n "$ref" ] || continue
  [ -f "$(dirname "$file")/$ref" ] || fail "$file: its \$schema=$ref does not exist"
done < <(find "$examples" -name '*.yaml' -type f)

step "the completion and the units are the repository's"
cmp "$src/packaging/bash-completion/hostform" /usr/share/bash-completion/completions/hostform
[ "$(bash -c 'source /usr/share/bash-completion/completions/hostform && complete -p hostform')" = \
  "complete -F _hostform hostform" ] || fail "the installed completion does not register _hostform"
for unit in "$src"/packaging/systemd/*.service; do
  [ -e "$unit" ] || continue
  cmp "$unit" "/usr/lib/systemd/system/$(basename "$unit")"
done

step "dpkg -r removes it, dpkg --purge forgets it"
dpkg -r hostform >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -r failed"
}
[ ! -e /usr/bin/hostform ] || fail "/usr/bin/hostform is still there after dpkg -r"
[ ! -e /usr/share/hostform ] || fail "/usr/share/hostform is still there after dpkg -r"
[ ! -e "/usr/$libdir/hostform" ] || fail "/usr/$libdir/hostform is still there after dpkg -r"
[ ! -e /usr/share/bash-completion/completions/hostform ] || fail "the completion is still there after dpkg -r"
[ "$(status)" = "rc " ] || fail "after dpkg -r, dpkg says $(status)"
dpkg --purge hostform >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg --purge failed"
}
[ "$(status)" = "not-installed" ] || [ "$(status)" = "un " ] || fail "after dpkg --purge, dpkg says $(status)"
installed=0
echo "package: all checks passed"
