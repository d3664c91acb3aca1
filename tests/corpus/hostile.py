#!/usr/bin/python3
"""The hostile corpus: manifests built to crash, hang or exhaust a parser.

  hostile.py write DIR                      write every case to DIR (the fuzzer seeds from them)
  hostile.py check HOSTFORM [--factor N]    run `HOSTFORM validate -f CASE` on every case

Each case is one file, made here rather than committed, because many are
large (a 100,000-character value, 40,000 levels of nesting, 65 MiB). `check`
runs the binary once per case and asserts, for every one:
  - exit code 1, and nothing on stdout;
  - every error line is `FILE:LINE:COL: error: ...` (only a file over the
    size bound, which is refused before it is parsed, has no position);
  - the error says what the case expects (a fragment of the message);
  - the run took at most its time bound and its peak RSS stayed under its
    memory bound (both multiplied by --factor: sanitizer builds are slower
    and larger).
The cases cover all six kinds: control characters, long values, deep
nesting, alias bombs, recursive aliases, tags, sizes no backend takes, paths
that leave where they say, bad UTF-8, and the bounds on bytes and documents.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

KIB, MIB = 1024, 1024 * 1024

# One valid document per kind, with the field each family of cases attacks.
BASE = {
    "Bridge": ("metadata: {name: br0}\nspec:\n  mtu: 1500\n  ports: [eth1]\n  addresses: [10.0.0.1/24]\n",
               {"string": "ports", "list": "ports", "int": "mtu", "path": None, "size": None}),
    "VolumeGroup": ("metadata: {name: vg0}\nspec:\n  physicalVolumes: [/dev/vdb]\n  extentSize: 4MiB\n",
                    {"string": "physicalVolumes", "list": "physicalVolumes", "int": None,
                     "path": "physicalVolumes", "size": "extentSize"}),
    "LogicalVolume": ("metadata: {name: data}\nspec:\n  volumeGroup: vg0\n  size: 10GiB\n",
                      {"string": "volumeGroup", "list": None, "int": None, "path": None, "size": "size"}),
    "StoragePool": ("metadata: {name: images}\nspec:\n  type: dir\n  target: /srv/images\n",
                    {"string": "target", "list": None, "int": None, "path": "target", "size": None}),
    "Volume": ("metadata: {name: disk.qcow2}\nspec:\n  pool: images\n  capacity: 20GiB\n",
               {"string": "pool", "list": None, "int": None, "path": None, "size": "capacity"}),
    "VirtualMachine": ("metadata: {name: web1}\nspec:\n  vcpus: 2\n  memory: 2GiB\n  boot: [hd]\n"
                       "  disks: [{path: /srv/web1.img}]\n",
                       {"string": "disks", "list": "boot", "int": "vcpus", "path": "disks", "size": "memory"}),
}

HEAD = "apiVersion: hostform/v1\nkind: {kind}\n"


def document(kind, spec_line=None, field=None, extra=""):
    """The base document of `kind`, with `field`'s line replaced by `spec_line`."""
    body = BASE[kind][0]
    if field is not None:
        body = re.sub(r"^  " + field + r":.*$", lambda _: "  " + spec_line, body, count=1, flags=re.M)
    return (HEAD.format(kind=kind) + body + extra).encode()


def bomb(levels=8, width=9):
    lines = ["b0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append("b%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * width)))
    return "\n".join(lines) + "\n"


def cases():
    """(name, bytes, expected fragment, seconds, MiB) for every case."""
    out = []

    def add(name, data, expect, seconds=1.0, mib=64):
        out.append((name, data, expect, seconds, mib))

    for kind, (_, fields) in BASE.items():
        k = kind.lower()
        s, lst, num, path, size = (fields[f] for f in ("string", "list", "int", "path", "size"))
        # Control characters in a value: NUL, ESC, DEL and C1 CSI, escaped in YAML.
        for label, escape in (("nul", "\\0"), ("esc", "\\e[31m"), ("del", "\\x7f"), ("csi", "\\u009b2J")):
            value = '"/x' + escape + '/y"' if s in ("target", "physicalVolumes", "disks") else '"a' + escape + 'b"'
            line = {"ports": "ports: [%s]", "physicalVolumes": "physicalVolumes: [%s]",
                    "disks": "disks: [{path: %s}]"}.get(s, s + ": %s") % value
            add("%s-control-%s" % (k, label), document(kind, line, s), "control character U+00")
        # Control characters and bad UTF-8 in the raw text (libyaml's reader).
        add(k + "-raw-control", document(kind) + b"# \x01\n", "control characters are not allowed")
        add(k + "-raw-nul", document(kind) + b"# \x00\n", "control characters are not allowed")
        add(k + "-bad-utf8", document(kind) + b"# \xc3\x28\n", "invalid")
        add(k + "-truncated-utf8", document(kind) + b"# \xe2\x82\n", "invalid")
        # A value past 64 KiB, and one under it that the schema refuses.
        add(k + "-long-value", document(kind, s + ": " + "a" * 100_000, s), "hostform reads values of at most 64 KiB")
        add(k + "-long-name", HEAD.format(kind=kind).encode() + b"metadata: {name: " + b"n" * 70_000 + b"}\nspec: {}\n",
            "hostform reads values of at most 64 KiB")
        add(k + "-long-label", HEAD.format(kind=kind).encode() + b"metadata: {name: x, labels: {a: " + b"v" * 60_000 +
            b"}}\nspec: {}\n", "expected at most 63 characters")
        # Nesting far past 64 levels, in a list and in a mapping.
        add(k + "-deep-list", document(kind, extra="x: " + "[" * 40_000 + "\n"), "nested more than 64 levels deep")
        add(k + "-deep-map", document(kind, extra="x: " + "{a: " * 40_000 + "\n"), "nested more than 64 levels deep")
        add(k + "-deep-block", document(kind) + "".join("  " * i + "k%d:\n" % i for i in range(200)).encode(),
            "nested more than 64 levels deep")
        # Aliases: a billion laughs, a recursive one, an unknown one.
        add(k + "-alias-bomb", document(kind, extra=bomb()), "aliases expand this document beyond")
        add(k + "-alias-wide", document(kind, extra=bomb(levels=4, width=40)), "aliases expand this document beyond")
        add(k + "-alias-recursive", document(kind, extra="loop: &l [*l]\n"), "refers to a node that contains it")
        add(k + "-alias-unknown", document(kind, extra="x: *nowhere\n"), "unknown alias")
        # Tags hostform does not read.
        for tag in ("!!binary", "!!set", "!!omap", "!!int", "!custom", "!<tag:example.com,2026:x>"):
            name = re.sub(r"[^a-z]", "", tag) or "verbatim"
            add("%s-tag-%s" % (k, name), HEAD.format(kind=kind).encode() + b"metadata: {name: " + tag.encode() +
                b" YWJj}\nspec: {}\n", "is not supported")
        # Sizes no backend takes, where the kind has one.
        if size:
            for label, value in (("u64max", '"18446744073709551615"'), ("8eib", "8388608TiB"),
                                 ("overflow", "99999999999999999999999"), ("digits", '"' + "9" * 60_000 + '"')):
                add("%s-size-%s" % (k, label), document(kind, size + ": " + value, size), "too large")
        # Paths that leave where they say.
        if path == "physicalVolumes":
            add(k + "-path-dotdot", document(kind, "physicalVolumes: [/dev/../etc/passwd]", path), '".." components')
            add(k + "-path-dotdot-deep", document(kind, "physicalVolumes: [/dev/disk/../../etc/shadow]", path),
                '".." components')
        elif path == "target":
            add(k + "-path-dotdot", document(kind, "target: /srv/../etc", path), '".." components')
            add(k + "-path-long", document(kind, "target: /" + "d/" * 3000, path), "expected at most 4095 characters")
        elif path == "disks":
            add(k + "-path-dotdot", document(kind, "disks: [{path: /dev/../etc/shadow}]", path), '".." components')
            add(k + "-path-dotdot-file", document(kind, "disks: [{path: /srv/../etc/passwd}]", path),
                '".." components')
        # A number-like value of 60,000 digits where an integer belongs.
        if num:
            add(k + "-long-number", document(kind, num + ": 1." + "1" * 60_000, num), "expected an integer")
            add(k + "-huge-integer", document(kind, num + ": " + "9" * 60_000, num), "expected an integer from")
        # A list of 100,000 items where a handful belongs.
        if lst:
            add(k + "-long-list", document(kind, lst + ": [" + ", ".join(["x"] * 100_000) + "]", lst),
                "aliases expand this document beyond", seconds=2.0)
    # Bounds on the whole run.
    add("run-65mib", b"# " + b" " * (65 * MIB) + b"\n", "larger than 64 MiB together", seconds=5.0, mib=256)
    add("run-documents", b"---\n" * 200_001, "more than 200000 documents", seconds=5.0, mib=128)
    add("run-many-bad-documents", (HEAD.format(kind="Bridge") + "metadata: {name: 'a b'}\nspec: {}\n---\n").encode()
        * 20_000, "more not shown", seconds=5.0, mib=256)
    add("run-one-line", b"x: [" + b"1, " * (4 * MIB) + b"1]\n", "aliases expand this document beyond",
        seconds=5.0, mib=256)
    return out


def write(directory):
    os.makedirs(directory, exist_ok=True)
    for name, data, _, _, _ in cases():
        with open(os.path.join(directory, name + ".yaml"), "wb") as f:
            f.write(data)


POSITION = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (error|warning): ")


def check(hostform, factor):
    failures = []
    all_cases = cases()
    kinds = {name.split("-")[0] for name, *_ in all_cases}
    with tempfile.TemporaryDirectory() as directory:
        for name, data, expect, seconds, mib in all_cases:
            path = os.path.join(directory, name + ".yaml")
            with open(path, "wb") as f:
                f.write(data)
            # GNU time reports the child's own peak RSS (a fork of this Python
            # process would start with Python's).
            started = time.monotonic()
            child = subprocess.run(["/usr/bin/time", "-f", "HOSTILE-RSS-KIB %M", hostform, "validate", "-f", path],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60 * factor)
            elapsed = time.monotonic() - started
            os.remove(path)
            text = child.stderr.decode("utf-8", "replace")
            peak = int(re.search(r"HOSTILE-RSS-KIB (\d+)", text).group(1)) / 1024
            text = text[:text.rfind("HOSTILE-RSS-KIB")]
            code = child.returncode
            problems = []
            if code != 1:
                problems.append("exit %d (expected 1)" % code)
            if child.stdout:
                problems.append("stdout not empty")
            lines = [l for l in text.splitlines() if ": error: " in l or ": warning: " in l]
            if not lines:
                problems.append("no error line")
            for line in lines:
                if not line.startswith(path + ":"):
                    problems.append("error not about the file: " + line[:200])
                elif not POSITION.match(line) and name != "run-65mib":
                    problems.append("error without LINE:COL: " + line[:200])
            if expect and expect not in text:
                problems.append("expected %r in: %s" % (expect, text[:300]))
            if len(text) > 512 * KIB:
                problems.append("stderr of %d bytes" % len(text))
            if elapsed > seconds * factor:
                problems.append("took %.2f s (bound %.1f s)" % (elapsed, seconds * factor))
            if peak > mib * factor:
                problems.append("peak RSS %.0f MiB (bound %.0f MiB)" % (peak, mib * factor))
            failures.extend("%s: %s" % (name, p) for p in problems)
            print("%-34s exit %d  %6.3f s  %5.1f MiB" % (name, code, elapsed, peak))
    print("%d hostile cases across %s" % (len(all_cases), ", ".join(sorted(kinds))))
    if len(all_cases) < 150:
        failures.append("only %d cases; the corpus promises at least 150" % len(all_cases))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "write":
        write(sys.argv[2])
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        factor = 1.0
        if "--factor" in sys.argv:
            factor = float(sys.argv[sys.argv.index("--factor") + 1])
        return check(sys.argv[2], factor)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
