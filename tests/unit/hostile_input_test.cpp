// Hostile input through the loader, in process: every bound of
// reconciler/limits.h ends in one error naming it, at the right place, without
// recursing, expanding or reading past it. (tests/corpus/hostile_test.sh runs
// the same kinds of file through the binary, with its time and memory bounded.)

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "reconciler/limits.h"
#include "reconciler/loader.h"
#include "reconciler/text.h"
#include "reconciler/yaml_tree.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using testing::loadYaml;
using testing::messages;
using Strings = std::vector<std::string>;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kBridgeHead = "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\n";

TEST(HostileInput, ALongValueIsRefusedByItsSizeNotByARecursion) {
  // 100,000 characters used to overflow the stack in the pattern check (SIGSEGV).
  LoadResult r = loadYaml("apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\nspec: {type: dir, target: /" +
                          repeat("a", 100'000) + "}\n");
  EXPECT_EQ(messages(r), (Strings{"test.yaml:4:27: error: a value of 100001 bytes; hostform reads values of at most "
                                  "64 KiB"}));
  // Under the bound, the pattern runs in linear time and the path's length limit speaks.
  LoadResult under = loadYaml("apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\nspec: {type: dir, "
                              "target: /" + repeat("a", 60'000) + "}\n");
  ASSERT_EQ(messages(under).size(), 1u);
  EXPECT_TRUE(messages(under)[0].starts_with("test.yaml:4:27: error: spec.target: expected at most 4095 characters, "
                                             "found 60001 in \"/aaaa"))
      << messages(under)[0];
  EXPECT_TRUE(messages(under)[0].ends_with("…\" (60001 bytes)")) << messages(under)[0];
}

TEST(HostileInput, ALongNumberIsTypedByHandAndShownCut) {
  // "1." and 60,000 ones: a float, which an mtu is not; the message shows 64 of them.
  LoadResult r = loadYaml(kBridgeHead + "spec: {mtu: 1." + repeat("1", 60'000) + "}\n");
  ASSERT_EQ(messages(r).size(), 1u);
  EXPECT_TRUE(messages(r)[0].starts_with("test.yaml:4:13: error: spec.mtu: expected an integer, found a number \"1.11"))
      << messages(r)[0];
  EXPECT_LT(messages(r)[0].size(), 200u);
}

TEST(HostileInput, DeepNestingStopsAtTheDepthBound) {
  // 40,000 levels inside a unique-items list used to recurse without end.
  for (const std::string& spec : {"{ports: " + repeat("[", 40'000) + "}", "{ports: " + repeat("{a: ", 40'000) + "}"}) {
    LoadResult r = loadYaml(kBridgeHead + "spec: " + spec + "\n");
    ASSERT_EQ(messages(r).size(), 1u) << spec.substr(0, 20);
    EXPECT_TRUE(messages(r)[0].ends_with("error: mappings and lists nested more than 64 levels deep; hostform reads "
                                         "at most that depth"))
        << messages(r)[0];
  }
  // 63 levels below the document (64 with it) are read.
  LoadResult ok = loadYaml(kBridgeHead + "spec: {ports: [eth0]}\nx: " + repeat("[", 62) + repeat("]", 62) + "\n");
  EXPECT_TRUE(messages(ok)[0].ends_with("error: x: unknown field \"x\"; expected one of apiVersion, kind, metadata, "
                                        "spec"))
      << messages(ok)[0];
}

TEST(HostileInput, AliasesAreCountedExpandedAndNeverCopied) {
  // 8 levels of 9 references each: 9^8 = 43 million nodes once expanded. It
  // used to take seconds and 100 MB; it stops at the alias crossing the bound.
  std::string bomb = kBridgeHead + "x0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    bomb += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  bomb += "spec: {ports: *a8}\n";
  LoadResult r = loadYaml(bomb);
  ASSERT_EQ(messages(r).size(), 1u);
  EXPECT_TRUE(messages(r)[0].ends_with("error: aliases expand this document beyond 100000 nodes or 64 MiB of text; "
                                       "hostform reads documents up to that size"))
      << messages(r)[0];
  // Aliases within the bound are read, and uniqueItems sees through them
  // without copying: the same list twice is a duplicate.
  LoadResult dup = loadYaml(kBridgeHead + "spec:\n  addresses: &a [10.0.0.1/24]\n  ports: [eth0, eth0]\n");
  EXPECT_EQ(messages(dup), (Strings{"test.yaml:6:17: error: spec.ports[1]: duplicate item \"eth0\" (also at item 0)"}));
  // An alias to the node that contains it would be a cycle.
  LoadResult cycle = loadYaml(kBridgeHead + "spec: &s {ports: [*s]}\n");
  EXPECT_EQ(messages(cycle), (Strings{"test.yaml:4:19: error: the alias *s refers to a node that contains it; "
                                      "hostform reads no recursive aliases"}));
}

TEST(HostileInput, TagsOtherThanStrAreRefusedNotReadAsText) {
  LoadResult r = loadYaml("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: !!binary YnIw}\nspec: {}\n");
  EXPECT_EQ(messages(r), (Strings{"test.yaml:3:18: error: the tag !!binary is not supported; hostform reads plain "
                                  "YAML values (and !!str)"}));
  LoadResult custom = loadYaml(kBridgeHead + "spec: !mine {}\n");
  EXPECT_EQ(messages(custom), (Strings{"test.yaml:4:7: error: the tag !mine is not supported; hostform reads plain "
                                       "YAML values (and !!str)"}));
  LoadResult str = loadYaml("apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: !!str 123}\nspec: {}\n");
  EXPECT_TRUE(str.diagnostics.items().empty()) << messages(str)[0];
}

TEST(HostileInput, ControlCharactersNeverReachACApi) {
  // A NUL would cut the path short for every C API it reaches.
  LoadResult nul = loadYaml("apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: vg0}\n"
                            "spec: {physicalVolumes: [\"/dev/vdb\\0/etc/passwd\"]}\n");
  EXPECT_EQ(messages(nul), (Strings{"test.yaml:4:26: error: spec.physicalVolumes[0]: control character U+0000 in "
                                    "\"/dev/vdb\\u0000/etc/passwd\"; values must not contain control characters"}));
  LoadResult esc = loadYaml("apiVersion: hostform/v1\nkind: Bridge\nmetadata:\n  name: br0\n  labels: {team: \"a\\e[31mb\"}\n"
                            "spec: {}\n");
  EXPECT_EQ(messages(esc), (Strings{"test.yaml:5:18: error: metadata.labels.team: control character U+001B in "
                                    "\"a\\u001b[31mb\"; values must not contain control characters"}));
  // libyaml refuses them in the raw text, at their real position (not 1:1).
  LoadResult raw = loadYaml(kBridgeHead + "spec: {}\n# a \x01 here\n");
  EXPECT_EQ(messages(raw), (Strings{"test.yaml:5:5: error: invalid YAML: control characters are not allowed (#x1)"}));
}

TEST(HostileInput, DevicePathsStayUnderDev) {
  LoadResult r = loadYaml("apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: vg0}\n"
                          "spec: {physicalVolumes: [/dev/../etc/passwd]}\n");
  EXPECT_EQ(messages(r), (Strings{"test.yaml:4:26: error: spec.physicalVolumes[0]: expected a path without \"..\" "
                                  "components, found \"/dev/../etc/passwd\" (/etc/passwd)"}));
  LoadResult disk = loadYaml("apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: vm}\n"
                             "spec: {memory: 64MiB, disks: [{path: /dev/../etc/shadow}]}\n");
  EXPECT_EQ(messages(disk), (Strings{"test.yaml:4:38: error: spec.disks[0].path: expected a path without \"..\" "
                                     "components, found \"/dev/../etc/shadow\" (/etc/shadow)"}));
}

TEST(HostileInput, SizesNoBackendTakesAreRefusedWhereTheyAreRead) {
  LoadResult lv = loadYaml("apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv}\n"
                           "spec: {volumeGroup: vg0, size: \"18446744073709551615\"}\n");
  EXPECT_EQ(messages(lv), (Strings{"test.yaml:4:32: error: spec.size: the size \"18446744073709551615\" is too large; "
                                   "sizes are at most 8EiB - 1 byte"}));
  LoadResult qcow = loadYaml("apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: v}\n"
                             "spec: {pool: p, capacity: 4194304TiB}\n");
  EXPECT_EQ(messages(qcow), (Strings{"test.yaml:4:27: error: spec.capacity: expected at most 2PiB for a qcow2 volume "
                                     "(QEMU's limit), found 4194304TiB"}));
  LoadResult extent = loadYaml("apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: vg0}\n"
                               "spec: {physicalVolumes: [/dev/vdb], extentSize: 2048GiB}\n");
  EXPECT_EQ(messages(extent), (Strings{"test.yaml:4:49: error: spec.extentSize: expected a power of two from 1KiB to "
                                       "1TiB (such as 4MiB), found 2048GiB"}));
}

TEST(HostileInput, TheDocumentBoundCountsEmptyDocumentsToo) {
  LoadResult r = loadYaml(repeat("---\n", limits::kDocuments + 1));
  ASSERT_EQ(messages(r).size(), 1u);
  EXPECT_TRUE(messages(r)[0].ends_with("error: more than 200000 documents; hostform reads at most that many in one "
                                       "run"))
      << messages(r)[0];
}

TEST(HostileInput, ManifestsOverTheByteBoundAreNotRead) {
  // /dev/zero has no size to ask: reading stops one byte past the bound.
  LoadResult r = loadManifests({"/dev/zero"});
  EXPECT_EQ(messages(r), (Strings{"/dev/zero: error: the manifests under /dev/zero are larger than 64 MiB together; "
                                  "hostform reads at most 64 MiB of manifests in one run"}));
}

TEST(HostileText, AFloodOfErrorsPrintsAPage) {
  // 1,500 bad documents: the first 1,000 errors, then how many more.
  LoadResult r = loadYaml(repeat("---\napiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: \"a b\"}\nspec: {}\n", 1500));
  ASSERT_EQ(r.diagnostics.errorCount(), 1500u);
  std::ostringstream out;
  r.diagnostics.print(out, Severity::Error);
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1001);
  EXPECT_TRUE(text.ends_with("\n... 500 more not shown\n")) << text.substr(text.size() - 200);
}

TEST(HostileText, ALongKeyInAPathIsCutInTheDiagnostic) {
  // Found by the fuzzer: a 5,000-character label name made a 10 KB line.
  // (An explicit "? " key: YAML caps implicit keys at 1,024 characters.)
  LoadResult r = loadYaml("apiVersion: hostform/v1\nkind: Bridge\nmetadata:\n  name: br0\n  labels:\n    ? " +
                          repeat("v", 5000) + "\n    : x\nspec: {}\n");
  ASSERT_EQ(r.diagnostics.items().size(), 1u);
  const std::string line = r.diagnostics.items()[0].str();
  EXPECT_LT(line.size(), 700u) << line.size();
  EXPECT_TRUE(line.starts_with("test.yaml:6:7: error: metadata.labels.vvvv")) << line.substr(0, 80);
  EXPECT_NE(line.find("… (5016 bytes): "), std::string::npos) << line;
}

TEST(HostileText, ValuesInMessagesAreQuotedCutAndEscaped) {
  EXPECT_EQ(quoteValue("br0"), "\"br0\"");
  EXPECT_EQ(quoteValue("a\x1b[2Jb"), "\"a\\u001b[2Jb\"");
  const std::string shown = quoteValue(repeat("x", 50'000'000));
  EXPECT_EQ(shown, "\"" + repeat("x", 64) + "…\" (50000000 bytes)");
  EXPECT_EQ(controlCharacter("ok"), std::nullopt);
  EXPECT_EQ(controlCharacter("a\tb"), "U+0009");
  EXPECT_EQ(controlCharacter("a\xc2\x9b" "b"), "U+009B");  // C1 CSI, in UTF-8
  EXPECT_EQ(escapeControl("fix\x1b]0;pwned\x07 it\n"), "fix\\x1B]0;pwned\\x07 it\\x0A");
}

TEST(HostileText, PlainScalarsResolveByHand) {
  using yaml::PlainType;
  for (const char* f : {"1.", ".5", "1e5", "-1.5E-3", ".inf", "-.Inf", ".nan", "+2."})
    EXPECT_EQ(yaml::resolvePlain(f), PlainType::Float) << f;
  for (const char* i : {"0", "-12", "+7", "0x1F", "0o17"}) EXPECT_EQ(yaml::resolvePlain(i), PlainType::Integer) << i;
  for (const char* s : {".", "1.2.3", "e5", "0x", "-.nan", "1e", "1e+", "v1.0", "1_000"})
    EXPECT_EQ(yaml::resolvePlain(s), PlainType::String) << s;
  EXPECT_EQ(yaml::resolvePlain(repeat("1", 100'000) + "x"), PlainType::String);
}

}  // namespace
}  // namespace hostform
