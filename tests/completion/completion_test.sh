#!/usr/bin/env bash
# The bash completion script, sourced into bash and driven the way bash drives
# it (COMP_WORDS, COMP_CWORD, then the function named by `complete -F`), and
# compared with the binary's own --help so the two cannot drift apart.
#
# usage: completion_test.sh packaging/bash-completion/hostform path/to/hostform
set -uo pipefail
script=$(realpath "$1")
hf=$(realpath "$2")
checks=0
failures=0

# The script asks the binary it completes for its kinds: "hostform" is this one.
PATH=$(dirname "$hf"):$PATH
source "$script"
[[ $(complete -p hostform) == "complete -F _hostform hostform" ]] || {
  echo "FAIL: sourcing $script does not register _hostform for hostform"
  exit 1
}

# Prints what bash would offer for a command line whose last word is the one
# being completed, sorted, on one line.
offered() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _hostform hostform "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd' '
  return 0
}

# expect "WANTED WORDS" WORD...: the completion of the line WORD... is exactly WANTED.
expect() {
  local want=$1
  shift
  local got
  got=$(offered "$@")
  ((checks++))
  if [[ $got != "$want" ]]; then
    echo "FAIL: completing [$*]: expected [$want], got [$got]"
    ((failures++))
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir sub
touch a.yaml b.yml notes.txt

# ---- subcommands and flags
expect "apply boot confirm console export plan restore resume status suspend validate version watch" hostform ""
expect "plan" hostform pl
expect "status" hostform st
expect "json text" hostform status -f a.yaml -o ""
expect "validate version" hostform v
expect "apply" hostform --owner team-a a          # a global flag's value is not the subcommand
expect "apply" hostform --owner = team-a a        # --owner=team-a, as bash splits it
expect "apply" hostform --no-color a              # a switch takes no value
expect "--log-format --log-level" hostform --log-
expect "--detailed-exitcode" hostform plan --d
expect "--dry-run" hostform apply --d
expect "--dry-run" hostform watch --d
expect "--lock-timeout --log-format --log-level" hostform apply --lo   # global flags after the subcommand too
expect "--kind" hostform export --k
expect "" hostform version --x

# ---- values from fixed sets
expect "json text" hostform plan -o ""
expect "json" hostform plan --output j
expect "LogicalVolume" hostform export --kind L
expect "VirtualMachine VlanInterface Volume VolumeGroup VxlanInterface" hostform export --kind V
expect "VolumeGroup" hostform export --kind = VolumeG
expect "Bond Bridge LogicalVolume Snapshot StoragePool VirtualMachine VlanInterface Volume VolumeGroup VxlanInterface" hostform export --kind =
expect "warn" hostform --log-level w
expect "json text" hostform plan --log-format ""
expect "always" hostform plan --color al
expect "qemu:///session qemu:///system" hostform --libvirt-uri qemu

# ---- files and directories
expect "a.yaml b.yml sub" hostform validate -f ""
expect "a.yaml" hostform plan -f a
expect "a.yaml b.yml sub" hostform apply --prune -f a.yaml ""   # -f takes several
expect "a.yaml b.yml sub" hostform apply --filename ""
expect "sub" hostform --state-dir ""
expect "sub" hostform watch --path s
expect "" hostform plan --prune ""                # no positional arguments
expect "" hostform apply -j ""                    # free values: nothing to offer
expect "a.yaml b.yml notes.txt sub" hostform plan -f a.yaml --out ""   # a saved plan: any file
expect "notes.txt" hostform plan -f a.yaml -out n
expect "notes.txt" hostform apply n                 # apply FILE: the saved plan
expect "--auto-approve" hostform apply --au
expect "" hostform --owner ""

# ---- in step with the binary
# Long flags as `--help` lists them (first column only; descriptions mention flags too).
flags_of() { "$hf" "$@" --help | grep -oE '^  (-[A-Za-z],)?--[a-z][a-z-]*' | sed -E 's/^ +(-[A-Za-z],)?//'; }
sorted() { tr ' ' '\n' | grep -v '^$' | LC_ALL=C sort | paste -sd' '; }

globals=$(flags_of | sorted)
expect "$globals" hostform --
binary_commands=$("$hf" --help | sed -n '/^Subcommands:/,$p' | grep -oE '^  [a-z]+' | tr -d ' ' | sorted)
for cmd in $binary_commands; do
  ((checks++))
  if [[ " $_hostform_commands " != *" $cmd "* ]]; then
    echo "FAIL: hostform has the subcommand $cmd; the completion does not offer it"
    ((failures++))
    continue
  fi
  expect "$( (flags_of "$cmd"; echo "$globals") | tr '\n' ' ' | sorted | tr ' ' '\n' | uniq | paste -sd' ')" \
    hostform "$cmd" --
done
# The completion may know `watch` before the binary has it (docs/spec.md §3); nothing else.
for cmd in $_hostform_commands; do
  ((checks++))
  if [[ " $binary_commands " != *" $cmd "* && $cmd != watch ]]; then
    echo "FAIL: the completion offers the subcommand $cmd; hostform has no such subcommand"
    ((failures++))
  fi
done

echo "completion: $((checks - failures)) passed, $failures failed"
((failures == 0))
