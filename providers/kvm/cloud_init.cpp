#include "providers/kvm/cloud_init.h"

// struct burn_source comes from libburn.h unless libisofs defines it itself.
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace hostform::kvm {

std::string seedVolumeName(std::string_view vm) { return std::string(vm) + "-cidata.iso"; }

namespace {

/// Length-prefixed, so no choice of contents makes two inputs run together.
void addPart(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += '\0';
  out += std::to_string(value.size());
  out += '\0';
  out += value;
}

}  // namespace

std::string seedDigest(const SeedFiles& files) {
  std::string all;
  addPart(all, "user-data", files.userData);
  addPart(all, "meta-data", files.metaData);
  addPart(all, "network-config", files.networkConfig);
  return sha256Hex(all);
}

Seed seedFor(std::string_view vm, const CloudInitSpec& spec) {
  Seed seed;
  seed.files.userData = spec.userData.value_or("#cloud-config\n");
  nlohmann::json meta = spec.metaData ? nlohmann::json::parse(*spec.metaData) : nlohmann::json::object();
  nlohmann::json declared = meta;
  declared.erase("instance-id");
  std::string identity;
  addPart(identity, "user-data", spec.userData.value_or(""));
  addPart(identity, "meta-data", declared.dump());
  addPart(identity, "network-config", spec.networkConfig.value_or(""));
  if (meta.contains("instance-id") && meta["instance-id"].is_string()) {
    seed.instanceId = meta["instance-id"].get<std::string>();
    seed.instanceIdDeclared = true;
  } else {
    seed.instanceId = std::string(vm) + "-" + sha256Hex(identity).substr(0, 8);
    meta["instance-id"] = seed.instanceId;
  }
  if (!meta.contains("local-hostname")) meta["local-hostname"] = std::string(vm);
  seed.files.metaData = meta.dump() + "\n";
  if (spec.networkConfig) seed.files.networkConfig = *spec.networkConfig + "\n";
  seed.digest = seedDigest(seed.files);
  return seed;
}

namespace {

/// libisofs is initialised once per process, quietly: its messages reach
/// hostform as error codes, not on stderr.
int initIsofs() {
  static int result = [] {
    int rc = iso_init();
    if (rc >= 0) {
      char never[] = "NEVER", prefix[] = "libisofs";
      iso_set_msgs_severities(never, never, prefix);
    }
    return rc;
  }();
  return result;
}

std::string isoError(int code) {
  const char* msg = iso_error_to_msg(code);
  return msg ? msg : "error " + std::to_string(code);
}

struct ImageFree {
  void operator()(IsoImage* i) const { iso_image_unref(i); }
};
struct OptsFree {
  void operator()(IsoWriteOpts* o) const { iso_write_opts_free(o); }
};
struct SourceFree {
  void operator()(burn_source* s) const {
    s->free_data(s);
    std::free(s);
  }
};

Result<void> addFile(IsoImage* image, const char* name, const std::string& content) {
  // The stream owns its buffer and frees it with free().
  auto* buf = static_cast<unsigned char*>(std::malloc(content.size() ? content.size() : 1));
  if (!buf) return fail("out of memory for the cloud-init seed");
  std::memcpy(buf, content.data(), content.size());
  IsoStream* stream = nullptr;
  if (int rc = iso_memory_stream_new(buf, content.size(), &stream); rc < 0) {
    std::free(buf);
    return fail("cannot build the cloud-init seed: " + isoError(rc));
  }
  IsoFile* file = nullptr;
  if (int rc = iso_image_add_new_file(image, iso_image_get_root(image), name, stream, &file); rc < 0) {
    iso_stream_unref(stream);
    return fail(std::string("cannot add ") + name + " to the cloud-init seed: " + isoError(rc));
  }
  iso_node_set_permissions(reinterpret_cast<IsoNode*>(file), 0444);
  return {};
}

}  // namespace

Result<void> writeSeedIso(const SeedFiles& files, const std::filesystem::path& out) {
  if (int rc = initIsofs(); rc < 0) return fail("cannot initialise libisofs: " + isoError(rc));
  IsoImage* rawImage = nullptr;
  if (int rc = iso_image_new("cidata", &rawImage); rc < 0)
    return fail("cannot build the cloud-init seed: " + isoError(rc));
  std::unique_ptr<IsoImage, ImageFree> image(rawImage);
  iso_image_set_volume_id(image.get(), "cidata");
  if (auto ok = addFile(image.get(), "user-data", files.userData); !ok) return ok;
  if (auto ok = addFile(image.get(), "meta-data", files.metaData); !ok) return ok;
  if (!files.networkConfig.empty())
    if (auto ok = addFile(image.get(), "network-config", files.networkConfig); !ok) return ok;

  IsoWriteOpts* rawOpts = nullptr;
  if (int rc = iso_write_opts_new(&rawOpts, 0); rc < 0) return fail("cannot build the cloud-init seed: " + isoError(rc));
  std::unique_ptr<IsoWriteOpts, OptsFree> opts(rawOpts);
  iso_write_opts_set_rockridge(opts.get(), 1);
  iso_write_opts_set_joliet(opts.get(), 1);
  // Fixed timestamps would make the image reproducible; the digest covers the
  // files, not the image, so the image's own times do not matter.
  burn_source* rawSource = nullptr;
  if (int rc = iso_image_create_burn_source(image.get(), opts.get(), &rawSource); rc < 0)
    return fail("cannot build the cloud-init seed: " + isoError(rc));
  std::unique_ptr<burn_source, SourceFree> source(rawSource);

  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!file) return fail("cannot write the cloud-init seed to " + out.string() + ": " + std::strerror(errno));
  unsigned char block[2048];
  for (;;) {
    const int n = source->read_xt(source.get(), block, sizeof block);
    if (n < 0) {
      source->cancel(source.get());
      return fail("cannot build the cloud-init seed: libisofs stopped writing the image");
    }
    if (n == 0) break;
    file.write(reinterpret_cast<const char*>(block), n);
  }
  file.close();
  if (!file) return fail("cannot write the cloud-init seed to " + out.string() + ": " + std::strerror(errno));
  return {};
}

namespace {

/// An image held in memory, as libisofs reads images: 2048-byte blocks.
struct MemorySource {
  std::string_view image;
};

int memoryOpen(IsoDataSource*) { return 1; }
int memoryClose(IsoDataSource*) { return 1; }
int memoryRead(IsoDataSource* src, uint32_t lba, uint8_t* buffer) {
  const auto* m = static_cast<const MemorySource*>(src->data);
  const std::size_t at = std::size_t{lba} * 2048;
  if (at >= m->image.size()) return ISO_DATA_SOURCE_FAILURE;
  const std::size_t n = std::min<std::size_t>(2048, m->image.size() - at);
  std::memcpy(buffer, m->image.data() + at, n);
  std::memset(buffer + n, 0, 2048 - n);
  return 1;
}
void memoryFree(IsoDataSource* src) { delete static_cast<MemorySource*>(src->data); }

struct SourceUnref {
  void operator()(IsoDataSource* s) const { iso_data_source_unref(s); }
};
struct ReadOptsFree {
  void operator()(IsoReadOpts* o) const { iso_read_opts_free(o); }
};

/// The content of file `name` in the image's root; empty when there is none.
Result<std::string> fileContent(IsoImage* image, const char* name) {
  IsoNode* node = nullptr;
  if (iso_tree_path_to_node(image, name, &node) != 1 || !node || iso_node_get_type(node) != LIBISO_FILE)
    return std::string();
  IsoStream* stream = iso_file_get_stream(reinterpret_cast<IsoFile*>(node));
  if (int rc = iso_stream_open(stream); rc < 0) return fail(std::string("cannot read ") + name + ": " + isoError(rc));
  std::string out;
  char buf[4096];
  int n = 0;
  while ((n = iso_stream_read(stream, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  iso_stream_close(stream);
  if (n < 0) return fail(std::string("cannot read ") + name + ": " + isoError(n));
  return out;
}

}  // namespace

Result<SeedFiles> readSeedIso(std::string_view bytes) {
  if (int rc = initIsofs(); rc < 0) return fail("cannot initialise libisofs: " + isoError(rc));
  auto* raw = static_cast<IsoDataSource*>(std::calloc(1, sizeof(IsoDataSource)));  // libisofs frees it with free()
  if (!raw) return fail("out of memory reading a cloud-init seed");
  raw->refcount = 1;
  raw->open = memoryOpen;
  raw->close = memoryClose;
  raw->read_block = memoryRead;
  raw->free_data = memoryFree;
  raw->data = new MemorySource{bytes};
  std::unique_ptr<IsoDataSource, SourceUnref> source(raw);

  IsoImage* rawImage = nullptr;
  if (int rc = iso_image_new("cidata", &rawImage); rc < 0) return fail("cannot read the cloud-init seed: " + isoError(rc));
  std::unique_ptr<IsoImage, ImageFree> image(rawImage);
  IsoReadOpts* rawOpts = nullptr;
  if (int rc = iso_read_opts_new(&rawOpts, 0); rc < 0) return fail("cannot read the cloud-init seed: " + isoError(rc));
  std::unique_ptr<IsoReadOpts, ReadOptsFree> opts(rawOpts);
  if (int rc = iso_image_import(image.get(), source.get(), opts.get(), nullptr); rc < 0)
    return fail("the cloud-init seed is not an ISO image libisofs reads: " + isoError(rc));
  SeedFiles files;
  for (auto [name, out] : {std::pair{"/user-data", &files.userData}, std::pair{"/meta-data", &files.metaData},
                           std::pair{"/network-config", &files.networkConfig}}) {
    auto content = fileContent(image.get(), name);
    if (!content) return hostform::unexpected(content.error());
    *out = std::move(*content);
  }
  return files;
}

}  // namespace hostform::kvm
