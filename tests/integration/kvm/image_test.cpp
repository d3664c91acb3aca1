// Volume.spec.source against a real libvirtd: images served over HTTP from a
// server on 127.0.0.1 inside this test, file:// URLs and plain paths; each
// test checks the bytes that end up in the volume, the cache and the records
// under --state-dir, and what the plan says.

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/kvm/kvm_box.h"

namespace hostform::kvmtest {
namespace {

namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// Bytes no two images of the tests share: mostly non-zero, so a missing or
/// misplaced chunk shows.
std::string pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::uint32_t x = 2463534242u ^ seed;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

std::string sha256(const std::string& path) {
  Outcome r = testing::runProgram("/usr/bin/sha256sum", {path});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.out.substr(0, 64);
}

Outcome qemuImg(const std::vector<std::string>& args) { return testing::runProgram("/usr/bin/qemu-img", args); }

/// `qemu-img info --output=json`'s "format" and "virtual-size" of a file.
std::pair<std::string, std::uint64_t> imageInfo(const std::string& path) {
  Outcome r = qemuImg({"info", "--output=json", path});
  EXPECT_EQ(r.code, 0) << r.err;
  auto field = [&](const std::string& key) {
    auto at = r.out.find("\"" + key + "\": ");
    if (at == std::string::npos) return std::string();
    at += key.size() + 4;
    auto end = r.out.find_first_of(",\n", at);
    std::string v = r.out.substr(at, end - at);
    if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
    return v;
  };
  const std::string size = field("virtual-size");
  return {field("format"), size.empty() ? 0 : std::stoull(size)};
}

/// An HTTP server on 127.0.0.1 (a free port) serving files from memory. A
/// path marked `cutOnce` is cut off after half its bytes on its first
/// request; every request after that is served whole, or the range asked for
/// (cpp-httplib answers Range requests itself).
class ImageServer {
 public:
  ImageServer() {
    server_.Get("/(.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      const std::string path = req.matches[1];
      ++requests_[path];
      if (req.has_header("Range")) ranges_.push_back(path + " " + req.get_header_value("Range"));
      auto it = files_.find(path);
      if (it == files_.end()) {
        res.status = 404;
        return;
      }
      if (cutOnce_.erase(path) > 0) {
        const std::string data = it->second;
        const std::size_t half = data.size() / 2;
        res.set_content_provider(data.size(), "application/octet-stream",
                                 [data, half](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                   if (offset >= half) return false;  // drops the connection mid-body
                                   sink.write(data.data() + offset, std::min(length, half - offset));
                                   return true;
                                 });
        return;
      }
      res.set_content(it->second, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind an HTTP server on 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ImageServer() {
    server_.stop();
    thread_.join();
  }
  ImageServer(const ImageServer&) = delete;
  ImageServer& operator=(const ImageServer&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + path; }
  void serve(const std::string& path, std::string bytes, bool cutOnce = false) {
    std::lock_guard lock(mutex_);
    files_[path] = std::move(bytes);
    if (cutOnce) cutOnce_.insert(path);
  }
  int requests(const std::string& path) {
    std::lock_guard lock(mutex_);
    return requests_[path];
  }
  std::vector<std::string> ranges() {
    std::lock_guard lock(mutex_);
    return ranges_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::map<std::string, std::string> files_;
  std::set<std::string> cutOnce_;
  std::map<std::string, int> requests_;
  std::vector<std::string> ranges_;
};

constexpr std::size_t kImageSize = 4 << 20;

class Images : public ::testing::Test {
 protected:
  Images() { fs::create_directories(images); }

  /// A raw image of kImageSize bytes of `pattern(seed)`, and that image
  /// converted to `format` (raw: the file itself).
  std::string image(const std::string& name, unsigned seed, const std::string& format = "raw") {
    const std::string raw = images + "/" + name + ".raw";
    writeFile(raw, pattern(kImageSize, seed));
    if (format == "raw") return raw;
    const std::string out = images + "/" + name + "." + format;
    Outcome r = qemuImg({"convert", "-f", "raw", "-O", format, raw, out});
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
  }
  std::string volume(const std::string& name, const std::string& spec) const {
    return box.volumeDoc(pool, name, spec);
  }
  std::string volumePath(const std::string& name) const { return box.dir().path() + "/" + pool + "/" + name; }
  std::string cache() const { return box.dir().path() + "/state/kvm/images"; }
  std::vector<std::string> cacheFiles() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cache(), ec)) out.push_back(e.path().filename().string());
    return out;
  }
  Outcome apply(const std::string& file, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"apply", "-f", file};
    args.insert(args.end(), extra.begin(), extra.end());
    return box.hostform(args);
  }

  KvmBox box;
  std::string pool = box.name("pool");
  std::string images = box.dir().path() + "/img";
  ImageServer http;
};

TEST_F(Images, HttpQcow2IntoARawVolumeHoldsTheImagesBytesAndIsCached) {
  const std::string qcow2 = image("a", 1, "qcow2");
  const std::string sum = sha256(qcow2);
  http.serve("a.qcow2", readFile(qcow2));
  const std::string source = "source: {url: " + http.url("a.qcow2") + ", sha256: " + sum + "}";
  const std::string file = box.manifest(box.poolDoc(pool) + volume("a.raw", "format: raw, " + source));

  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "capacity (none) -> (the image's virtual size)")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "source (none) -> " + http.url("a.qcow2") + " sha256:" + sum.substr(0, 12) +
                                     ", source.size (none) -> (downloaded at apply)"))
      << plan.out;
  EXPECT_EQ(http.requests("a.qcow2"), 0) << "the plan fetched the URL";

  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(readFile(volumePath("a.raw")), pattern(kImageSize, 1));
  EXPECT_EQ(box.volumeCapacity(pool, "a.raw"), kImageSize);
  EXPECT_EQ(imageInfo(volumePath("a.raw")).first, "raw");
  EXPECT_EQ(cacheFiles(), std::vector<std::string>{sum});
  const std::string records = readFile(box.dir().path() + "/state/kvm/sources.json");
  EXPECT_TRUE(contains(records, "\"" + pool + "/a.raw\"")) << records;
  EXPECT_TRUE(contains(records, "\"state\": \"done\"")) << records;
  box.expectConverged(file);

  // A second volume of the same image: the plan knows its size from the
  // cache, and apply does not download it again.
  const std::string two = box.manifest(box.poolDoc(pool) + volume("a.raw", "format: raw, " + source) +
                                       volume("b.qcow2", "capacity: 8MiB, " + source));
  plan = box.hostform({"plan", "-f", two});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, " qcow2 image, virtual size 4MiB (downloaded before)")) << plan.out;
  r = apply(two);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(http.requests("a.qcow2"), 1);
  // qcow2 into qcow2 goes in as it is, then grows to the declared capacity.
  EXPECT_EQ(imageInfo(volumePath("b.qcow2")), std::pair(std::string("qcow2"), std::uint64_t{8 << 20}));
  EXPECT_EQ(qemuImg({"compare", "-f", "qcow2", "-F", "qcow2", qcow2, volumePath("b.qcow2")}).code, 0);
  box.expectConverged(two);

  // Deleting a volume drops its record; the cached image stays for others.
  r = apply(box.manifest(box.poolDoc(pool) + volume("b.qcow2", "capacity: 8MiB, " + source)),
            {"--prune", "--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string left = readFile(box.dir().path() + "/state/kvm/sources.json");
  EXPECT_FALSE(contains(left, "\"" + pool + "/a.raw\"")) << left;
  EXPECT_TRUE(contains(left, "\"" + pool + "/b.qcow2\"")) << left;
  EXPECT_EQ(cacheFiles(), std::vector<std::string>{sum});
}

TEST_F(Images, VolumesOfOneImageInOneApplyShareOneDownload) {
  const std::string qcow2 = image("s", 7, "qcow2");
  http.serve("s.qcow2", readFile(qcow2));
  const std::string source = "source: {url: " + http.url("s.qcow2") + ", sha256: " + sha256(qcow2) + "}";
  std::string docs = box.poolDoc(pool);
  for (const char* name : {"s1.qcow2", "s2.qcow2", "s3.raw"})
    docs += volume(name, std::string(name).ends_with(".raw") ? "format: raw, " + source : source);
  const std::string file = box.manifest(docs);

  // The executor imports the three at once; they wait for one download.
  Outcome r = apply(file, {"-j", "3"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(http.requests("s.qcow2"), 1);
  for (const char* name : {"s1.qcow2", "s2.qcow2"})
    EXPECT_EQ(qemuImg({"compare", "-f", "qcow2", "-F", "qcow2", qcow2, volumePath(name)}).code, 0) << name;
  EXPECT_EQ(readFile(volumePath("s3.raw")), pattern(kImageSize, 7));
  box.expectConverged(file);
}

TEST_F(Images, RawImageIntoAQcow2VolumeIsConvertedAndGrown) {
  const std::string raw = image("r", 2);
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("r.qcow2", "capacity: 8MiB, source: {path: " + raw + ", sha256: " +
                                                              sha256(raw) + "}"));
  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "source.size (none) -> 4MiB raw image, virtual size 4MiB")) << plan.out;

  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(imageInfo(volumePath("r.qcow2")), std::pair(std::string("qcow2"), std::uint64_t{8 << 20}));
  EXPECT_EQ(box.volumeCapacity(pool, "r.qcow2"), 8u << 20);
  // Same content: the 4MiB of the image, then zeros.
  Outcome same = qemuImg({"compare", "-f", "raw", "-F", "qcow2", raw, volumePath("r.qcow2")});
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  // A local image is read in place, not copied into the cache.
  EXPECT_TRUE(cacheFiles().empty());
  box.expectConverged(file);
}

TEST_F(Images, VmdkByFileUrlIntoARawVolumeTakesTheImagesSize) {
  const std::string vmdk = image("v", 3, "vmdk");
  ASSERT_EQ(imageInfo(vmdk).first, "vmdk");
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("v.raw", "format: raw, source: {url: 'file://" + vmdk +
                                                            "', sha256: " + sha256(vmdk) + "}"));
  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(readFile(volumePath("v.raw")), pattern(kImageSize, 3));
  EXPECT_EQ(box.volumeCapacity(pool, "v.raw"), kImageSize);
  // The conversion's temporary file is gone.
  EXPECT_TRUE(cacheFiles().empty()) << cacheFiles()[0];
  box.expectConverged(file);
}

TEST_F(Images, VhdxOverHttpIntoAQcow2VolumeHoldsTheImagesContent) {
  // Hyper-V's format, as VMware's above: qemu-img reads it, hostform converts it.
  const std::string vhdx = image("h", 6, "vhdx");
  ASSERT_EQ(imageInfo(vhdx).first, "vhdx");
  http.serve("h.vhdx", readFile(vhdx));
  const std::string file = box.manifest(
      box.poolDoc(pool) + volume("h.qcow2", "source: {url: " + http.url("h.vhdx") + ", sha256: " + sha256(vhdx) + "}"));
  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "source (none) -> " + http.url("h.vhdx") + " sha256:" + sha256(vhdx).substr(0, 12) +
                                     ", source.size (none) -> (downloaded at apply)"))
      << plan.out;

  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(imageInfo(volumePath("h.qcow2")), std::pair(std::string("qcow2"), kImageSize));
  Outcome same = qemuImg({"compare", "-f", "raw", "-F", "qcow2", images + "/h.raw", volumePath("h.qcow2")});
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  box.expectConverged(file);
}

TEST_F(Images, PlainPathIntoALargerRawVolumeIsGrownWithZeros) {
  const std::string raw = image("p", 4);
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("p.raw", "format: raw, capacity: 6MiB, source: {path: " + raw +
                                                            ", sha256: " + sha256(raw) + "}"));
  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(box.volumeCapacity(pool, "p.raw"), 6u << 20);
  EXPECT_EQ(readFile(volumePath("p.raw")), pattern(kImageSize, 4) + std::string(2 << 20, '\0'));
  box.expectConverged(file);
}

TEST_F(Images, AChecksumMismatchFailsAndLeavesNothing) {
  const std::string raw = image("m", 5);
  http.serve("m.raw", readFile(raw));
  const std::string wrong = sha256(image("other", 6));
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("m.raw", "format: raw, source: {url: " + http.url("m.raw") +
                                                            ", sha256: " + wrong + "}"));
  Outcome r = apply(file);
  EXPECT_EQ(r.code, 4) << r.out << r.err;
  EXPECT_TRUE(contains(r.out + r.err, http.url("m.raw") + " has SHA-256 " + sha256(raw) + ", not " + wrong +
                                          " as declared; the download was deleted and nothing was created."))
      << r.out << r.err;
  EXPECT_EQ(box.volumeCapacity(pool, "m.raw"), 0u);
  EXPECT_FALSE(fs::exists(volumePath("m.raw")));
  EXPECT_TRUE(cacheFiles().empty()) << cacheFiles()[0];
}

TEST_F(Images, AnInterruptedDownloadLeavesNoVolumeAndTheNextApplyResumesIt) {
  const std::string qcow2 = image("i", 7, "qcow2");
  const std::string sum = sha256(qcow2);
  const std::string bytes = readFile(qcow2);
  http.serve("i.qcow2", bytes, /*cutOnce=*/true);
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("i.raw", "format: raw, source: {url: " + http.url("i.qcow2") +
                                                            ", sha256: " + sum + "}"));
  Outcome first = apply(file);
  EXPECT_EQ(first.code, 4) << first.out << first.err;
  EXPECT_TRUE(contains(first.out + first.err, "cannot download " + http.url("i.qcow2"))) << first.out << first.err;
  EXPECT_TRUE(contains(first.out + first.err, "; the next apply resumes from there.")) << first.out << first.err;
  EXPECT_EQ(box.volumeCapacity(pool, "i.raw"), 0u);
  EXPECT_FALSE(fs::exists(volumePath("i.raw")));
  // Half the bytes wait for the next run.
  ASSERT_EQ(cacheFiles(), std::vector<std::string>{sum + ".part"});
  EXPECT_EQ(fs::file_size(cache() + "/" + sum + ".part"), bytes.size() / 2);
  EXPECT_TRUE(http.ranges().empty());

  Outcome second = apply(file);
  ASSERT_EQ(second.code, 0) << second.out << second.err;
  EXPECT_EQ(http.ranges(), std::vector<std::string>{"i.qcow2 bytes=" + std::to_string(bytes.size() / 2) + "-"});
  EXPECT_EQ(readFile(volumePath("i.raw")), pattern(kImageSize, 7));
  EXPECT_EQ(cacheFiles(), std::vector<std::string>{sum});
  box.expectConverged(file);
}

TEST_F(Images, AChangedSourceIsDataLossAndReplacesTheContent) {
  const std::string a = image("ca", 8), b = image("cb", 9);
  auto doc = [&](const std::string& path) {
    return box.manifest(box.poolDoc(pool) + volume("c.raw", "format: raw, source: {path: " + path + ", sha256: " +
                                                                sha256(path) + "}"));
  };
  ASSERT_EQ(apply(doc(a)).code, 0);
  const std::string changed = doc(b);
  Outcome plan = box.hostform({"plan", "-f", changed});
  EXPECT_EQ(plan.code, 3) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "± Volume/" + pool + "/c.raw")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "source " + a + " sha256:" + sha256(a).substr(0, 12) + " -> " + b + " sha256:" +
                                     sha256(b).substr(0, 12)))
      << plan.out;
  EXPECT_TRUE(contains(plan.out, "source.size (none) -> 4MiB raw image, virtual size 4MiB")) << plan.out;

  Outcome refused = apply(changed);
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_EQ(readFile(volumePath("c.raw")), pattern(kImageSize, 8));

  Outcome r = apply(changed, {"--allow-data-loss"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(readFile(volumePath("c.raw")), pattern(kImageSize, 9));
  box.expectConverged(changed);

  // The same bytes from another place: only the record changes, no data loss.
  const std::string copy = images + "/copy-of-cb.raw";
  fs::copy_file(b, copy);
  const std::string moved = doc(copy);
  plan = box.hostform({"plan", "-f", moved});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "~ Volume/" + pool + "/c.raw")) << plan.out;
  ASSERT_EQ(apply(moved).code, 0);
  box.expectConverged(moved);
}

TEST_F(Images, AnImportCutShortIsReplacedWithoutDataLoss) {
  const std::string raw = image("s", 11);
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("s.raw", "format: raw, source: {path: " + raw + ", sha256: " +
                                                            sha256(raw) + "}"));
  ASSERT_EQ(apply(file).code, 0);
  // What a crash between the record and the end of the upload leaves: a
  // volume whose record still says importing, and whatever bytes arrived.
  const std::string records = box.dir().path() + "/state/kvm/sources.json";
  std::string text = readFile(records);
  const auto at = text.find("\"done\"");
  ASSERT_NE(at, std::string::npos) << text;
  writeFile(records, text.replace(at, 6, "\"importing\""));
  writeFile(volumePath("s.raw"), std::string(kImageSize, 'x'));

  Outcome plan = box.hostform({"plan", "-f", file, "--detailed-exitcode"});
  EXPECT_EQ(plan.code, 2) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "± Volume/" + pool + "/s.raw")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "source (import cut short) -> " + raw)) << plan.out;
  EXPECT_FALSE(contains(plan.out, "loses data")) << plan.out;
  EXPECT_FALSE(contains(plan.out, "refused")) << plan.out;
  Outcome r = apply(file);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(readFile(volumePath("s.raw")), pattern(kImageSize, 11));
  EXPECT_TRUE(contains(readFile(records), "\"state\": \"done\"")) << readFile(records);
  box.expectConverged(file);
}

TEST_F(Images, AMissingLocalFileIsAPlanError) {
  const std::string missing = images + "/nothing-here.qcow2";
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("x.qcow2", "source: {path: " + missing + ", sha256: " +
                                                              std::string(64, 'a') + "}"));
  Outcome plan = box.hostform({"plan", "-f", file});
  EXPECT_EQ(plan.code, 1) << plan.out << plan.err;
  // At the path, in the volume's document (after the pool's five lines).
  const std::string column = std::to_string(std::string("spec: {pool: " + pool + ", source: {path: ").size() + 1);
  EXPECT_TRUE(contains(plan.err, file + ":9:" + column + ": error: spec.source.path: " + missing + " does not exist.\n"))
      << plan.err;
}

TEST_F(Images, AnImageCopiedIntoThePoolByHandIsSeen) {
  ASSERT_EQ(apply(box.manifest(box.poolDoc(pool))).code, 0);
  const std::string raw = image("h", 10);
  fs::copy_file(raw, box.dir().path() + "/" + pool + "/h.raw");
  // Declared from the same image: the volume is there, and content hostform
  // did not write is taken as it is.
  const std::string file = box.manifest(box.poolDoc(pool) +
                                        volume("h.raw", "format: raw, source: {path: " + raw + ", sha256: " +
                                                            sha256(raw) + "}"));
  Outcome plan = box.hostform({"plan", "-f", file});
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_FALSE(contains(plan.out, "+ Volume")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "owner (none) -> " + box.owner())) << plan.out;
  ASSERT_EQ(apply(file).code, 0);
  box.expectConverged(file);
  EXPECT_EQ(readFile(volumePath("h.raw")), pattern(kImageSize, 10));
}

}  // namespace
}  // namespace hostform::kvmtest
