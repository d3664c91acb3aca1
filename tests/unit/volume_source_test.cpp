// Volume.spec.source as the loader reads it (schemas/volume.schema.json and
// reconciler/kinds/volume.cpp): the forms it accepts, the errors it gives at
// file:line:column, and how export writes it back.

#include <gtest/gtest.h>

#include "reconciler/kinds/volume.h"
#include "reconciler/loader.h"
#include "reconciler/manifest_writer.h"
#include "tests/support/manifests.h"

namespace hostform {
namespace {

using testing::loadYaml;
using testing::messages;
using Strings = std::vector<std::string>;

const std::string kSum = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";

std::string volume(const std::string& spec) {
  return "apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: v}\nspec: " + spec + "\n";
}

/// The pool the volumes refer to, last, so the volumes' line numbers stay put.
const std::string kPool = "---\napiVersion: hostform/v1\nkind: StoragePool\nmetadata: {name: p}\nspec: {type: dir, target: /srv/p}\n";

TEST(VolumeSource, AUrlWithoutCapacityMeansTheImagesSizeAndTheSumIsLowerCase) {
  LoadResult r = loadYaml(volume("{pool: p, format: raw, source: {url: 'https://example.org/d.qcow2', sha256: " +
                                 kSum + "}}") + kPool);
  ASSERT_TRUE(messages(r).empty()) << messages(r)[0];
  const auto& v = r.resources.at(0).as<VolumeSpec>();
  ASSERT_TRUE(v.source);
  EXPECT_EQ(v.capacity, 0u);
  EXPECT_EQ(v.source->url, "https://example.org/d.qcow2");
  EXPECT_EQ(v.source->sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(v.source->local());
  EXPECT_EQ(v.source->shown(), "https://example.org/d.qcow2 sha256:0123456789ab");
  // Export writes no capacity, and the source as declared (sum in lower case).
  r.resources.pop_back();  // the pool
  EXPECT_EQ(writeManifests(r.resources),
            "---\napiVersion: hostform/v1\nkind: Volume\nmetadata:\n  name: v\nspec:\n  pool: p\n  format: raw\n"
            "  source:\n    url: https://example.org/d.qcow2\n"
            "    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
}

TEST(VolumeSource, APathAndAFileUrlAreLocal) {
  LoadResult r = loadYaml(volume("{pool: p, capacity: 2GiB, source: {path: /srv/images/d.raw, sha256: " + kSum +
                                 "}}") +
                          "---\n" +
                          "apiVersion: hostform/v1\nkind: Volume\nmetadata: {name: w}\nspec: {pool: p, source: "
                          "{url: 'file:///srv/images/e.vmdk', sha256: " +
                          kSum + "}}\n" + kPool);
  ASSERT_TRUE(messages(r).empty()) << messages(r)[0];
  const auto& v = r.resources.at(0).as<VolumeSpec>();
  EXPECT_EQ(v.capacity, 2 * GiB);
  EXPECT_EQ(v.source->localPath(), "/srv/images/d.raw");
  EXPECT_EQ(r.resources.at(1).as<VolumeSpec>().source->localPath(), "/srv/images/e.vmdk");
}

TEST(VolumeSource, ASumThatIsNot64HexDigitsIsAnErrorAtIt) {
  LoadResult r = loadYaml(volume("{pool: p, source: {path: /srv/d.raw, sha256: 12ab}}") + "---\n" +
                          volume("{pool: p, source: {path: /srv/d.raw, sha256: " + std::string(63, 'a') + "g}}"));
  EXPECT_EQ(messages(r),
            (Strings{"test.yaml:4:52: error: spec.source.sha256: expected 64 hex digits (the image's SHA-256, as "
                     "sha256sum prints it), found \"12ab\"",
                     "test.yaml:9:52: error: spec.source.sha256: expected 64 hex digits (the image's SHA-256, as "
                     "sha256sum prints it), found \"" + std::string(63, 'a') + "g\""}));
}

TEST(VolumeSource, BadFormsAreErrorsNamingTheField) {
  LoadResult r = loadYaml(
      volume("{pool: p, source: {url: 'ftp://example.org/d.raw', sha256: " + kSum + "}}") + "---\n" +
      volume("{pool: p, source: {url: 'file://host/d.raw', sha256: " + kSum + "}}") + "---\n" +
      volume("{pool: p, source: {path: relative/d.raw, sha256: " + kSum + "}}") + "---\n" +
      volume("{pool: p, source: {path: /srv/../etc/shadow, sha256: " + kSum + "}}") + "---\n" +
      volume("{pool: p, source: {sha256: " + kSum + "}}") + "---\n" +
      volume("{pool: p, format: raw}") + "---\n" +
      volume("{pool: p, source: {path: /srv/d.qcow2, sha256: " + kSum + "}, backingVolume: {pool: p, name: b}}") +
      "---\n" + volume("{pool: p, source: {url: 'file:///srv/../etc/shadow', sha256: " + kSum + "}}"));
  const Strings got = messages(r);
  ASSERT_EQ(got.size(), 8u) << ::testing::PrintToString(got);
  EXPECT_EQ(got, (Strings{
                     "test.yaml:4:31: error: spec.source.url: expected a URL starting with http://, https:// or "
                     "file://, found \"ftp://example.org/d.raw\"",
                     "test.yaml:9:31: error: spec.source.url: expected file:///<absolute path> (a file URL "
                     "without a host), found \"file://host/d.raw\"",
                     "test.yaml:14:32: error: spec.source.path: expected an absolute path starting with /, found "
                     "\"relative/d.raw\"",
                     "test.yaml:19:32: error: spec.source.path: expected a path without \"..\" components, found "
                     "\"/srv/../etc/shadow\" (/etc/shadow)",
                     "test.yaml:24:25: error: spec.source: expected exactly one of url, path; found none",
                     "test.yaml:29:7: error: spec: missing required field \"capacity\"",
                     "test.yaml:34:25: error: spec.source: expected either a source or a backingVolume: an "
                     "overlay's content is its backing volume's",
                     "test.yaml:39:31: error: spec.source.url: expected a path without \"..\" components, found "
                     "\"file:///srv/../etc/shadow\"",
                 }));
}

}  // namespace
}  // namespace hostform
