#!/usr/bin/env bash
# docs/reference.md is generated from schemas/, and schemas/manifest.schema.json
# from the registered kinds (tools/reference_doc.cpp):
#   1. the committed copies equal what the build generated;
#   2. the generator refuses a schema it cannot document fully, instead of
#      leaving a rule out of the page.
#
# usage: reference_test.sh SOURCE_DIR GENERATED_REFERENCE GENERATOR GENERATED_MANIFEST_SCHEMA
set -uo pipefail
src=$1 generated=$2 generator=$3 manifest=$4
failures=0
fail() {
  echo "FAIL: $*"
  ((failures++))
}

if ! diff -u "$src/docs/reference.md" "$generated"; then
  fail "docs/reference.md is out of date with schemas/ (diff above: - committed, + generated)." \
    "Run: cmake --build build --target update-reference, and commit docs/reference.md"
fi

if ! diff -u "$src/schemas/manifest.schema.json" "$manifest"; then
  fail "schemas/manifest.schema.json does not dispatch to exactly the registered kinds (diff above)." \
    "Run: cmake --build build --target update-reference, and commit schemas/manifest.schema.json"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# refuses SED_EXPRESSION FILE MESSAGE: after editing a copy of the schemas, the
# generator exits 1 and says MESSAGE.
refuses() {
  rm -rf "$work/schemas" && cp -r "$src/schemas" "$work/schemas"
  sed -i -e "$1" "$work/schemas/$2"
  local out code
  out=$("$generator" "$work/schemas" "$work/out.md" 2>&1)
  code=$?
  [ "$code" = 1 ] || fail "after '$1' on $2: expected exit 1, got $code"
  [[ $out == *"$3"* ]] || fail "after '$1' on $2: expected the message [$3], got [$out]"
}
refuses 's/"uniqueItems": true,/"uniqueItems": true, "maxItems": 8,/' bridge.schema.json \
  'keyword "maxItems" is not documented by tools/reference_doc.cpp; teach it first'
refuses 's/"description": "Administrative state of the device.",//' bridge.schema.json \
  'bridge.schema.json#/properties/spec/state: a field without a description'
refuses 's/"x-expected": "a disk target name such as vda, sdb or hdc"/"description": "x"/' virtual-machine.schema.json \
  'a string pattern without x-expected to say it in words'

"$generator" "$src/schemas" "$work/again.md" && cmp -s "$work/again.md" "$generated" ||
  fail "two runs of the generator on the same schemas differ"

echo "reference: $((5 - failures)) passed, $failures failed"
((failures == 0))
