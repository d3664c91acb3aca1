// The schema validator: every message it writes, where it points, and the YAML
// typing rules it applies. Positions are 1-based line:column in "x.yaml".

#include "reconciler/schema.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hostform::schema {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

std::vector<std::string> printed(const Diagnostics& d) {
  std::vector<std::string> out;
  for (const Diagnostic& item : d.items()) out.push_back(item.str());
  return out;
}

/// The first document of `text` (empty when there is none).
yaml::Document parse(const std::string& text) {
  yaml::StreamParser parser(text);
  auto doc = parser.next();
  return doc ? std::move(*doc) : yaml::Document();
}

/// Diagnostics of one manifest document.
std::vector<std::string> check(const std::string& yaml) {
  Diagnostics d;
  const yaml::Document doc = parse(yaml);
  validateDocument(doc.root(), Locator{"x.yaml"}, d);
  return printed(d);
}

/// Diagnostics of one value against an inline schema.
std::vector<std::string> checkValue(const std::string& yaml, const std::string& schema) {
  Diagnostics d;
  const yaml::Document doc = parse(yaml);
  validateValue(doc.root(), schema, Locator{"x.yaml"}, d);
  return printed(d);
}

/// A Bridge document whose spec is `spec` (indented by the caller); spec starts on line 5.
std::string bridge(const std::string& spec) {
  return "apiVersion: hostform/v1\nkind: Bridge\nmetadata: {name: br0}\nspec:\n" + spec;
}

std::string vm(const std::string& spec) {
  return "apiVersion: hostform/v1\nkind: VirtualMachine\nmetadata: {name: web1}\nspec:\n  memory: 1GiB\n" + spec;
}

// ---- the embedded schemas ----------------------------------------------------

TEST(EmbeddedSchemas, AllLoadWithOnlySupportedKeywords) {
  EXPECT_THAT(embeddedSchemaProblems(), IsEmpty());
  std::vector<std::string> names;
  for (const EmbeddedSchema& s : embeddedSchemas()) names.emplace_back(s.fileName);
  EXPECT_THAT(names, ElementsAre("bond.schema.json", "bridge.schema.json", "common.schema.json",
                                 "logical-volume.schema.json", "manifest.schema.json", "snapshot.schema.json",
                                 "storage-pool.schema.json", "virtual-machine.schema.json", "vlan-interface.schema.json",
                                 "volume-group.schema.json", "volume.schema.json", "vxlan-interface.schema.json"));
}

TEST(EmbeddedSchemas, MinimalDocumentOfEveryKindIsValid) {
  EXPECT_THAT(check(bridge("  {}\n")), IsEmpty());
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: vg0}\n"
                    "spec: {physicalVolumes: [/dev/vdb]}\n"),
              IsEmpty());
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv0}\n"
                    "spec: {volumeGroup: vg0, size: 1GiB}\n"),
              IsEmpty());
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\n"
                    "spec: {type: dir, target: /srv}\n"),
              IsEmpty());
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: v}\n"
                    "spec: {pool: p, capacity: 1048576}\n"),
              IsEmpty());
  EXPECT_THAT(check(vm("")), IsEmpty());
}

TEST(EmbeddedSchemas, UnsupportedKeywordIsAnInternalError) {
  EXPECT_THAT(checkValue("a: 1", R"({"type": "object", "patternProperties": {"^a$": {"type": "integer"}}})"),
              ElementsAre("x.yaml:1:1: error: internal error: the schemas are unusable: inline.schema.json#/"
                          "patternProperties: keyword \"patternProperties\" is not supported by hostform's validator"));
}

TEST(EmbeddedSchemas, DanglingRefAndCheckBesideRefAreInternalErrors) {
  EXPECT_THAT(checkValue("1", R"({"$ref": "common.schema.json#/definitions/nothing"})"),
              ElementsAre("x.yaml:1:1: error: internal error: the schemas are unusable: inline.schema.json#/$ref: "
                          "$ref \"common.schema.json#/definitions/nothing\" points at nothing"));
  EXPECT_THAT(checkValue("1", R"({"$ref": "common.schema.json#/definitions/size", "minimum": 5})"),
              ElementsAre("x.yaml:1:1: error: internal error: the schemas are unusable: inline.schema.json#/minimum: "
                          "only annotations may stand beside $ref"));
}

TEST(EmbeddedSchemas, PatternThatDoesNotCompileIsAnInternalError) {
  // Patterns are compiled on first use in a run; a schema given whole (and
  // embeddedSchemaProblems()) still has every pattern compiled when it loads.
  EXPECT_THAT(checkValue("a", R"({"type": "string", "pattern": "(a"})"),
              ElementsAre("x.yaml:1:1: error: internal error: the schemas are unusable: inline.schema.json#/pattern: "
                          "pattern does not compile: missing ): (a"));
}

TEST(EmbeddedSchemas, RefsIntoCommonDefinitionsResolve) {
  EXPECT_THAT(checkValue("20GiB", R"({"$ref": "common.schema.json#/definitions/size"})"), IsEmpty());
  EXPECT_THAT(checkValue("{-x: y}", R"({"$ref": "common.schema.json#/definitions/labels"})"),
              ElementsAre("x.yaml:1:2: error: -x: expected a label key: 1 to 63 letters, digits, '_', '.', '/' or '-', "
                          "starting and ending with a letter or digit, found \"-x\""));
}

// ---- YAML typing (YAML 1.2 core schema) -----------------------------------------

struct Typing {
  const char* yaml;
  const char* found;  // how a type error describes the value: its type and text
};

class YamlTyping : public testing::TestWithParam<Typing> {};

TEST_P(YamlTyping, ScalarHasTheCoreSchemaType) {
  EXPECT_THAT(checkValue(GetParam().yaml, R"({"type": "array"})"),
              ElementsAre(std::string("x.yaml:1:1: error: expected a list, found ") + GetParam().found))
      << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(Scalars, YamlTyping,
                         testing::Values(Typing{"abc", "a string \"abc\""}, Typing{"\"42\"", "a string \"42\""},
                                         Typing{"'true'", "a string \"true\""}, Typing{"!!str 5", "a string \"5\""},
                                         Typing{"|\n  7\n", "a string \"7\\n\""}, Typing{"yes", "a string \"yes\""},
                                         Typing{"no", "a string \"no\""}, Typing{"on", "a string \"on\""},
                                         Typing{"1_000", "a string \"1_000\""}, Typing{"12:30", "a string \"12:30\""},
                                         Typing{"true", "a boolean true"}, Typing{"False", "a boolean False"},
                                         Typing{"TRUE", "a boolean TRUE"}, Typing{"42", "an integer 42"},
                                         Typing{"-7", "an integer -7"}, Typing{"+3", "an integer +3"},
                                         Typing{"0x1F", "an integer 0x1F"}, Typing{"0o17", "an integer 0o17"},
                                         Typing{"012", "an integer 012"}, Typing{"1.5", "a number 1.5"},
                                         Typing{"-2e3", "a number -2e3"}, Typing{".inf", "a number .inf"},
                                         Typing{".NaN", "a number .NaN"}, Typing{"null", "null"}, Typing{"~", "null"},
                                         Typing{"{a: 1}", "a mapping"}));

TEST(YamlTypingMessages, IntegersMustBePlainDecimal) {
  EXPECT_THAT(checkValue("[42, -7, +3, 0]", R"({"type": "array", "items": {"type": "integer"}})"), IsEmpty());
  EXPECT_THAT(checkValue("012", R"({"type": "integer"})"),
              ElementsAre("x.yaml:1:1: error: expected a decimal integer without leading zeros, found 012 (YAML 1.1 "
                          "reads it as octal); write 12"));
  EXPECT_THAT(checkValue("0x1F", R"({"type": "integer"})"),
              ElementsAre("x.yaml:1:1: error: expected a decimal integer, found 0x1F; write 31"));
  EXPECT_THAT(checkValue("0o17", R"({"type": "number"})"),
              ElementsAre("x.yaml:1:1: error: expected a decimal integer, found 0o17; write 15"));
}

TEST(YamlTypingMessages, HintsAtTheTwoCommonYamlSurprises) {
  // The value would be fine as a string: say how to write one.
  EXPECT_THAT(checkValue("true", R"({"type": "string"})"),
              ElementsAre("x.yaml:1:1: error: expected a string, found a boolean true; write \"true\" in quotes to "
                          "make it a string"));
  // Not when quoting would not help either.
  EXPECT_THAT(checkValue("15", R"({"type": "string", "pattern": "s$"})"),
              ElementsAre("x.yaml:1:1: error: expected a string, found an integer 15"));
  EXPECT_THAT(checkValue("On", R"({"type": "boolean"})"),
              ElementsAre("x.yaml:1:1: error: expected a boolean (true or false), found a string \"On\"; in YAML 1.2 "
                          "only true and false are booleans"));
}

TEST(YamlTypingMessages, FoundValueIsShownWithItsType) {
  EXPECT_THAT(checkValue("'5'", R"({"type": "integer"})"),
              ElementsAre("x.yaml:1:1: error: expected an integer, found a string \"5\""));
  EXPECT_THAT(checkValue("true", R"({"type": ["string", "integer"], "pattern": "^[0-9]+$"})"),
              ElementsAre("x.yaml:1:1: error: expected a string or an integer, found a boolean true"));
  EXPECT_THAT(checkValue("1.5", R"({"type": "integer"})"),
              ElementsAre("x.yaml:1:1: error: expected an integer, found a number 1.5"));
  EXPECT_THAT(checkValue("[a]", R"({"type": "object"})"),
              ElementsAre("x.yaml:1:1: error: expected a mapping, found a list"));
  EXPECT_THAT(checkValue("{a: 1}", R"({"type": "array"})"),
              ElementsAre("x.yaml:1:1: error: expected a list, found a mapping"));
  EXPECT_THAT(checkValue("x", R"({"type": ["string", "integer", "null"]})"), IsEmpty());
}

// ---- apiVersion and kind ----------------------------------------------------------

TEST(Envelope, WrongApiVersion) {
  EXPECT_THAT(check("apiVersion: hostform/v2\nkind: Bridge\nmetadata: {name: br0}\nspec: {}\n"),
              ElementsAre("x.yaml:1:13: error: apiVersion: expected \"hostform/v1\", found \"hostform/v2\""));
}

TEST(Envelope, UnknownKindSuggestsTheNearestOne) {
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: Bridg\nmetadata: {name: br0}\nspec: {}\n"),
              ElementsAre("x.yaml:2:7: error: kind: unknown kind \"Bridg\"; expected one of Bond, VlanInterface, "
                          "VxlanInterface, Bridge, VolumeGroup, LogicalVolume, StoragePool, Volume, VirtualMachine, Snapshot (did you mean \"Bridge\"?)"));
}

TEST(Envelope, UnknownKindStillChecksApiVersion) {
  EXPECT_THAT(check("apiVersion: v1\nkind: Deployment\n"),
              ElementsAre("x.yaml:1:13: error: apiVersion: expected \"hostform/v1\", found \"v1\"",
                          "x.yaml:2:7: error: kind: unknown kind \"Deployment\"; expected one of Bond, VlanInterface, "
                          "VxlanInterface, Bridge, VolumeGroup, LogicalVolume, StoragePool, Volume, VirtualMachine, Snapshot"));
  EXPECT_THAT(check("kind: [Bridge]\n"), ElementsAre("x.yaml:1:1: error: missing required field \"apiVersion\"",
                                                     "x.yaml:1:7: error: kind: expected a string, found a list"));
}

TEST(Envelope, DocumentMustBeAMapping) {
  EXPECT_THAT(check("just text"),
              ElementsAre("x.yaml:1:1: error: expected a mapping with apiVersion, kind, metadata and spec, found a "
                          "string \"just text\""));
}

TEST(Envelope, PositionsAreThoseOfTheWholeStream) {
  // A later document of a stream keeps its lines in the file.
  yaml::StreamParser parser("apiVersion: hostform/v1\nkind: Bridge\n---\napiVersion: hostform/v1\nkind: Bridg\n");
  auto first = parser.next();
  auto second = parser.next();
  ASSERT_TRUE(first && second);
  Diagnostics d;
  validateDocument(second->root(), Locator{"x.yaml"}, d);
  EXPECT_THAT(printed(d), ElementsAre(testing::StartsWith("x.yaml:5:7: error: kind: unknown kind \"Bridg\"")));
}

// ---- one message per keyword, exactly ------------------------------------------------

TEST(Messages, Required) {
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv0}\nspec:\n  volumeGroup: vg0\n"),
              ElementsAre("x.yaml:5:3: error: spec: missing required field \"size\""));
}

TEST(Messages, RequiredInsideIfThenNamesTheCondition) {
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\nspec:\n  type: dir\n"),
              ElementsAre("x.yaml:5:3: error: spec: missing required field \"target\" (required when type is dir)"));
}

TEST(Messages, UnknownFieldPointsAtTheKeyAndSuggests) {
  EXPECT_THAT(check(bridge("  mtuu: 9000\n")),
              ElementsAre("x.yaml:5:3: error: spec.mtuu: unknown field \"mtuu\"; expected one of state, mtu, "
                          "macAddress, stp, vlanFiltering, defaultPvid, ports, addresses, fdb (did you mean \"mtu\"?)"));
  EXPECT_THAT(check(bridge("  MacAddress: 52:54:00:00:00:01\n")),
              ElementsAre(testing::EndsWith("(did you mean \"macAddress\"?)")));
  EXPECT_THAT(check(bridge("  colour: blue\n")),
              ElementsAre("x.yaml:5:3: error: spec.colour: unknown field \"colour\"; expected one of state, mtu, "
                          "macAddress, stp, vlanFiltering, defaultPvid, ports, addresses, fdb"));
}

TEST(Messages, Enum) {
  EXPECT_THAT(
      check(bridge("  state: UP\n")),
      ElementsAre("x.yaml:5:10: error: spec.state: expected one of up, down, found \"UP\" (did you mean \"up\"?)"));
  EXPECT_THAT(check(vm("  graphics: spice\n")),
              ElementsAre("x.yaml:6:13: error: spec.graphics: expected one of none, vnc, found \"spice\""));
}

TEST(Messages, ConstInsideIfThen) {
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: v}\nspec:\n  pool: p\n"
                    "  capacity: 1GiB\n  format: raw\n  backingVolume: {pool: p, name: base}\n"),
              ElementsAre("x.yaml:7:11: error: spec.format: expected \"qcow2\", found \"raw\" "
                          "(required when backingVolume is set)"));
}

TEST(Messages, PatternUsesTheHumanDescription) {
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: Bridge\nmetadata:\n  name: br/0\nspec: {}\n"),
              ElementsAre("x.yaml:4:9: error: metadata.name: expected an interface name: 1 to 15 letters, digits, "
                          "'_', '.' or '-', starting with a letter or digit, found \"br/0\""));
}

TEST(Messages, PatternWithoutDescriptionShowsTheRegex) {
  EXPECT_THAT(checkValue("abc", R"({"type": "string", "pattern": "^[0-9]+$"})"),
              ElementsAre("x.yaml:1:1: error: expected a string matching ^[0-9]+$, found \"abc\""));
}

TEST(Messages, RangeWithBothBounds) {
  EXPECT_THAT(check(bridge("  mtu: 70000\n")),
              ElementsAre("x.yaml:5:8: error: spec.mtu: expected an integer from 68 to 65535, found 70000"));
}

TEST(Messages, RangeWithOneBound) {
  EXPECT_THAT(checkValue("0", R"({"type": "integer", "minimum": 1})"),
              ElementsAre("x.yaml:1:1: error: expected at least 1, found 0"));
  EXPECT_THAT(checkValue("5000", R"({"type": "integer", "maximum": 4096})"),
              ElementsAre("x.yaml:1:1: error: expected at most 4096, found 5000"));
  EXPECT_THAT(checkValue("99999999999999999999999", R"({"type": "integer", "maximum": 4096})"),
              ElementsAre("x.yaml:1:1: error: expected at most 4096, found 99999999999999999999999"));
}

TEST(Messages, Lengths) {
  EXPECT_THAT(checkValue("abcdefghijklmnopq", R"({"type": "string", "maxLength": 15})"),
              ElementsAre("x.yaml:1:1: error: expected at most 15 characters, found 17 in \"abcdefghijklmnopq\""));
  EXPECT_THAT(checkValue("a", R"({"type": "string", "minLength": 2})"),
              ElementsAre("x.yaml:1:1: error: expected at least 2 characters, found 1 in \"a\""));
  // Characters, not bytes: "é" is one character in two bytes.
  EXPECT_THAT(checkValue("é", R"({"type": "string", "maxLength": 1})"), IsEmpty());
}

TEST(Messages, ItemCounts) {
  EXPECT_THAT(check(vm("  boot: []\n")),
              ElementsAre("x.yaml:6:9: error: spec.boot: expected at least 1 item, found 0"));
  EXPECT_THAT(checkValue("[1, 2, 3]", R"({"type": "array", "maxItems": 2})"),
              ElementsAre("x.yaml:1:1: error: expected at most 2 items, found 3"));
}

TEST(Messages, DuplicateItemPointsAtTheDuplicate) {
  EXPECT_THAT(check(bridge("  ports:\n    - eth1\n    - eth2\n    - eth1\n")),
              ElementsAre("x.yaml:8:7: error: spec.ports[2]: duplicate item \"eth1\" (also at item 0)"));
  EXPECT_THAT(checkValue("[{a: 1}, {a: 1}]", R"({"type": "array", "uniqueItems": true})"),
              ElementsAre("x.yaml:1:10: error: [1]: duplicate item (also at item 0)"));
}

TEST(Messages, FalseSchema) {
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv0}\nspec:\n"
                    "  volumeGroup: vg0\n  size: 1GiB\n  thinPool: pool\n"),
              ElementsAre("x.yaml:7:3: error: spec.thinPool: field \"thinPool\" is not allowed when type is linear"));
  EXPECT_THAT(checkValue("{a: 1}", R"({"properties": {"a": false}})"),
              ElementsAre("x.yaml:1:2: error: a: field \"a\" is not allowed here"));
}

TEST(Messages, ConditionUsesTheValueWritten) {
  EXPECT_THAT(
      check("apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv0}\nspec:\n"
            "  volumeGroup: vg0\n  type: thin-pool\n  size: 1GiB\n  thinPool: pool\n"),
      ElementsAre("x.yaml:8:3: error: spec.thinPool: field \"thinPool\" is not allowed when type is thin-pool"));
}

TEST(Messages, ExactlyOneOfSeveralFields) {
  EXPECT_THAT(check(vm("  disks:\n    - target: vda\n")),
              ElementsAre("x.yaml:7:7: error: spec.disks[0]: expected exactly one of volume, logicalVolume, path; "
                          "found none"));
  EXPECT_THAT(check(vm("  disks:\n    - path: /a\n      volume: {pool: p, name: v}\n"
                       "      logicalVolume: {volumeGroup: vg, name: lv}\n")),
              ElementsAre("x.yaml:7:7: error: spec.disks[0]: expected exactly one of volume, logicalVolume, path; "
                          "found volume, logicalVolume and path"));
}

TEST(Messages, GenericOneOfAndAnyOf) {
  const std::string twoForms =
      R"({"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}]})";
  EXPECT_THAT(checkValue("cat", twoForms),
              ElementsAre("x.yaml:1:1: error: found a string \"cat\", which does not match any allowed form"));
  EXPECT_THAT(checkValue("ab", R"({"oneOf": [{"type": "string"}, {"pattern": "^a"}]})"),
              ElementsAre("x.yaml:1:1: error: found a string \"ab\", which matches more than one allowed form; "
                          "expected exactly one"));
  // Only one branch takes integers: its own message is the useful one.
  EXPECT_THAT(checkValue("0", R"({"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 1}]})"),
              ElementsAre("x.yaml:1:1: error: expected at least 1, found 0"));
  EXPECT_THAT(checkValue("x", R"({"anyOf": [{"type": "string"}, {"type": "integer"}]})"), IsEmpty());
}

TEST(Messages, Sizes) {
  const std::string lv =
      "apiVersion: hostform/v1\nkind: LogicalVolume\nmetadata: {name: lv0}\nspec:\n"
      "  volumeGroup: vg0\n  size: ";
  EXPECT_THAT(check(lv + "20GB\n"),
              ElementsAre("x.yaml:6:9: error: spec.size: unit \"GB\" in \"20GB\" is not accepted: sizes use binary "
                          "units (KiB, MiB, GiB, TiB); did you mean 20GiB?"));
  EXPECT_THAT(check(lv + "-1GiB\n"),
              ElementsAre("x.yaml:6:9: error: spec.size: a size cannot be negative, found \"-1GiB\""));
  EXPECT_THAT(check(lv + "-1\n"), ElementsAre("x.yaml:6:9: error: spec.size: a size cannot be negative, found \"-1\""));
  EXPECT_THAT(check(lv + "true\n"),
              ElementsAre("x.yaml:6:9: error: spec.size: expected a size such as 512MiB or 20GiB, or a number of "
                          "bytes, found a boolean true"));
  EXPECT_THAT(check(lv + "1073741824\n"), IsEmpty());
}

TEST(Messages, Durations) {
  EXPECT_THAT(check(bridge("  stp:\n    forwardDelay: 15\n    helloTime: 1m30\n    maxAge: 20s\n")),
              ElementsAre("x.yaml:6:19: error: spec.stp.forwardDelay: expected a duration such as 500ms, 30s, 5m or "
                          "1m30s, found an integer 15",
                          "x.yaml:7:16: error: spec.stp.helloTime: missing unit in duration \"1m30\"; expected ms, s, "
                          "m or h"));
}

TEST(Messages, MacAddresses) {
  EXPECT_THAT(check(bridge("  macAddress: 52:54:00:12:34\n")),
              ElementsAre("x.yaml:5:15: error: spec.macAddress: expected a MAC address like 52:54:00:12:34:56, found "
                          "\"52:54:00:12:34\""));
  EXPECT_THAT(check(bridge("  macAddress: 03:00:00:00:00:01\n")),
              ElementsAre("x.yaml:5:15: error: spec.macAddress: \"03:00:00:00:00:01\" is a multicast MAC address; "
                          "expected a unicast one like 52:54:00:12:34:56"));
  EXPECT_THAT(check(bridge("  macAddress: \"00:00:00:00:00:00\"\n")),
              ElementsAre("x.yaml:5:15: error: spec.macAddress: \"00:00:00:00:00:00\" is the all-zero MAC address; "
                          "expected a usable one like 52:54:00:12:34:56"));
  EXPECT_THAT(check(bridge("  macAddress: 52:54:00:AB:cd:EF\n")), IsEmpty());
}

TEST(Messages, Cidrs) {
  EXPECT_THAT(check(bridge("  addresses: [10.0.0.300/24, 10.0.0.1/33, 10.0.0.1, fd00::1/64, \"fd00:::1/64\"]\n")),
              ElementsAre("x.yaml:5:15: error: spec.addresses[0]: \"10.0.0.300/24\" is not a valid IPv4 or IPv6 "
                          "address with prefix length; expected one like 192.168.1.10/24 or fd00::1/64",
                          "x.yaml:5:30: error: spec.addresses[1]: prefix length 33 in \"10.0.0.1/33\" is out of range "
                          "for IPv4 (0 to 32)",
                          "x.yaml:5:43: error: spec.addresses[2]: \"10.0.0.1\" has no prefix length; expected an "
                          "address like 192.168.1.10/24 or fd00::1/64",
                          "x.yaml:5:65: error: spec.addresses[4]: \"fd00:::1/64\" is not a valid IPv4 or IPv6 address "
                          "with prefix length; expected one like 192.168.1.10/24 or fd00::1/64"));
}

TEST(Messages, DuplicateKey) {
  EXPECT_THAT(check(bridge("  mtu: 1500\n  mtu: 9000\n")),
              ElementsAre("x.yaml:6:3: error: spec.mtu: duplicate field \"mtu\" (also at line 5)"));
}

TEST(Messages, EmptyValuePointsAtItsKey) {
  EXPECT_THAT(check(bridge("  mtu:\n  state: up\n")),
              ElementsAre("x.yaml:5:3: error: spec.mtu: expected an integer, found null"));
}

TEST(Messages, LabelValuesAreStrings) {
  EXPECT_THAT(
      check("apiVersion: hostform/v1\nkind: Bridge\nmetadata:\n  name: br0\n  labels:\n    tier: 1\n"
            "    ok: \"1\"\nspec: {}\n"),
      ElementsAre("x.yaml:6:11: error: metadata.labels.tier: expected a string, found an integer 1; write \"1\" "
                  "in quotes to make it a string"));
}

// ---- reporting as a whole ---------------------------------------------------------------

TEST(Reporting, EveryErrorOfTheDocumentInDocumentOrder) {
  EXPECT_THAT(
      check("apiVersion: hostform/v1\n"
            "kind: VirtualMachine\n"
            "metadata:\n"
            "  name: web1\n"
            "  labels: {tier: 1}\n"
            "spec:\n"
            "  vcpus: 0\n"
            "  memory: 2GB\n"
            "  disks:\n"
            "    - path: relative.img\n"
            "      buss: virtio\n"
            "  interfaces:\n"
            "    - {model: virtio}\n"
            "  boot: [hd, cdrom, hd]\n"
            "  restartPolicy: always\n"),
      ElementsAre(
          "x.yaml:5:18: error: metadata.labels.tier: expected a string, found an integer 1; write \"1\" in quotes to "
          "make it a string",
          "x.yaml:7:10: error: spec.vcpus: expected an integer from 1 to 4096, found 0",
          "x.yaml:8:11: error: spec.memory: unit \"GB\" in \"2GB\" is not accepted: sizes use binary "
          "units (KiB, MiB, GiB, TiB); did you mean 2GiB?",
          "x.yaml:10:13: error: spec.disks[0].path: expected an absolute path starting with /, found "
          "\"relative.img\"",
          "x.yaml:11:7: error: spec.disks[0].buss: unknown field \"buss\"; expected one of volume, "
          "logicalVolume, path, device, target, bus, readOnly (did you mean \"bus\"?)",
          "x.yaml:13:7: error: spec.interfaces[0]: missing required field \"bridge\"",
          "x.yaml:14:21: error: spec.boot[2]: duplicate item \"hd\" (also at item 0)",
          "x.yaml:15:18: error: spec.restartPolicy: expected one of never, auto, found \"always\""));
}

TEST(Reporting, NoCascadeFromAWrongType) {
  // A spec that is a list gets one message, not one per missing field.
  EXPECT_THAT(check("apiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\nspec: [dir]\n"),
              ElementsAre("x.yaml:4:7: error: spec: expected a mapping, found a list"));
}

TEST(Reporting, NeverThrows) {
  Diagnostics d;
  EXPECT_NO_THROW(validateDocument(yaml::Node(), Locator{"x.yaml"}, d));
  const yaml::Document complexKey = parse("? [a, b]\n: c\nkind: Bridge\n");
  EXPECT_NO_THROW(validateDocument(complexKey.root(), Locator{"x.yaml"}, d));
  const yaml::Document one = parse("1");
  EXPECT_NO_THROW(validateValue(one.root(), "not json", Locator{"x.yaml"}, d));
  EXPECT_TRUE(d.hasErrors());
}

TEST(Reporting, SafeFromSeveralThreads) {
  const std::string doc = bridge("  mtu: 1\n  state: sideways\n");
  const auto expected = check(doc);
  ASSERT_EQ(expected.size(), 2u);
  std::vector<std::vector<std::string>> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&r, &doc] { r = check(doc); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

TEST(Reporting, PatternsFirstUsedFromSeveralThreadsAtOnce) {
  // Each pattern is compiled by the first value that needs it, which may be on
  // any of the loader's threads: these threads start together, and the VXLAN
  // and VLAN-range patterns are used by no other test of this file.
  const std::string doc = "apiVersion: hostform/v1\nkind: VxlanInterface\nmetadata: {name: vx0}\n"
                          "spec: {vni: 10, remote: 10.0.0.x, local: 10.0.0.1}\n---\n" +
                          bridge("  vlanFiltering: true\n  ports: [{name: p0, vlans: [{range: 20to30}]}]\n");
  std::vector<std::vector<std::string>> results(8);
  {
    std::vector<std::jthread> threads;
    for (auto& r : results)
      threads.emplace_back([&r, &doc] {
        yaml::StreamParser parser(doc);
        while (auto d = parser.next()) {
          Diagnostics out;
          validateDocument(d->root(), Locator{"x.yaml"}, out);
          for (const std::string& line : printed(out)) r.push_back(line);
        }
      });
  }
  for (const auto& r : results)
    EXPECT_THAT(r, ElementsAre("x.yaml:4:25: error: spec.remote: expected an IPv4 or IPv6 address without prefix length, "
                               "like 10.0.0.1 or fd00::1, found \"10.0.0.x\"",
                               "x.yaml:11:38: error: spec.ports[0].vlans[0].range: expected a range of VLAN ids such as "
                               "20-30, found \"20to30\""));
}

}  // namespace
}  // namespace hostform::schema
