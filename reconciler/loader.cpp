#include "reconciler/loader.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <condition_variable>
#include <memory>
#include <thread>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <unordered_map>


#include "reconciler/graph.h"
#include "reconciler/kind.h"
#include "reconciler/limits.h"
#include "reconciler/text.h"
#include "reconciler/schema.h"
#include "reconciler/yaml_tree.h"

namespace hostform {
namespace fs = std::filesystem;
namespace {

// ---- files and documents ----------------------------------------------------

bool isManifestFile(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

/// Expands `paths` into the files to read, in order; problems go to `diags`.
std::vector<fs::path> expandPaths(const std::vector<std::string>& paths, Diagnostics& diags) {
  std::vector<fs::path> files;
  for (const std::string& arg : paths) {
    std::error_code ec;
    const fs::path path(arg);
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      diags.error({arg, 0, 0}, "", "no such file or directory");
      continue;
    }
    if (!fs::is_directory(status)) {
      files.push_back(path);
      continue;
    }
    std::vector<fs::path> found;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && isManifestFile(it->path())) found.push_back(it->path());
    }
    if (ec) diags.error({arg, 0, 0}, "", "cannot read the directory: " + ec.message());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

/// Where each field of a spec was written, for diagnostics made later (plan time).
void recordPositions(const yaml::Node& node, const std::string& path, const Locator& where,
                     std::vector<FieldPos>& out) {
  const SourcePos pos = where.at(node);
  out.push_back({path, pos.line, pos.column});
  if (node.isMap()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      recordPositions(node.value(i), path + "." + node.key(i).scalar(), where, out);
  } else if (node.isSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      recordPositions(node[i], path + "[" + std::to_string(i) + "]", where, out);
  }
}

// ---- decoding a validated document into the model ---------------------------

/// Reads one schema-valid document: the generic parts here, the spec by its
/// kind's module (reconciler/kind.h), which also runs the checks a schema
/// cannot express.
std::optional<Resource> decode(const yaml::Node& doc, const Locator& where, Diagnostics& diags) {
  const auto kind = parseKind(doc["kind"].scalar());
  if (!kind) return std::nullopt;  // schema validation reported it
  Resource r;
  r.source = where.at(doc);
  const yaml::Node metadata = doc["metadata"];
  if (const yaml::Node labels = metadata["labels"])
    for (std::size_t i = 0; i < labels.size(); ++i) r.labels[labels.key(i).scalar()] = labels.value(i).scalar();
  const SourcePos namePos = where.at(metadata["name"]);
  r.positions.push_back({"metadata.name", namePos.line, namePos.column});
  recordPositions(doc["spec"], "spec", where, r.positions);  // spec is required by every schema
  SpecReader reader(doc, where, diags);
  r.spec = kind->def().decode(reader);
  if (reader.failed()) return std::nullopt;
  r.id = identityOf(*kind, reader.name(), r.spec);
  return r;
}

}  // namespace

namespace {

/// What checking a run of documents produced, merged into the LoadResult in order.
struct Batch {
  std::vector<yaml::Document> documents;
  std::vector<Resource> resources;
  Diagnostics diagnostics;
};

/// Validates and decodes each document of `batch`; touches nothing shared.
void checkBatch(Batch& batch, const Locator& where) {
  for (const yaml::Document& doc : batch.documents) {
    const yaml::Node root = doc.root();
    const std::size_t before = batch.diagnostics.errorCount();
    schema::validateDocument(root, where, batch.diagnostics);
    if (batch.diagnostics.errorCount() != before) continue;
    if (auto r = decode(root, where, batch.diagnostics)) batch.resources.push_back(std::move(*r));
  }
  batch.documents.clear();  // free the trees as soon as they are read
}

/// Batches waiting to be checked, shared by the parsing thread and the workers.
/// Bounded, so a huge file never has more than a few parsed trees in memory.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

  /// Blocks while the queue is full.
  void push(Batch* batch) {
    std::unique_lock lock(mutex_);
    notFull_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(batch);
    notEmpty_.notify_one();
  }
  /// The next batch; nullptr once closed and drained.
  Batch* pop(bool wait) {
    std::unique_lock lock(mutex_);
    if (wait) notEmpty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return nullptr;
    Batch* b = queue_.front();
    queue_.pop_front();
    notFull_.notify_one();
    return b;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    notEmpty_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable notFull_, notEmpty_;
  std::deque<Batch*> queue_;
  bool closed_ = false;
};

}  // namespace

void loadText(std::string_view text, const std::string& fileName, LoadResult& into, const KindSeen& onKind) {
  // Documents are independent: while this thread parses (libyaml is
  // sequential), workers on the other cores validate and decode batches of
  // them; when parsing is done this thread helps. Batches are merged in file
  // order, so the result never depends on scheduling.
  constexpr std::size_t kBatch = 128;
  const Locator where{fileName};
  std::vector<std::unique_ptr<Batch>> batches;
  const std::size_t workers = std::max(1u, std::thread::hardware_concurrency()) - 1;
  BatchQueue queue(2 * workers + 2);
  std::vector<std::jthread> pool;

  yaml::StreamParser parser(text, limits::kDocuments - std::min(limits::kDocuments, into.documentsRead));
  auto batch = std::make_unique<Batch>();
  while (std::optional<yaml::Document> doc = parser.next()) {
    if (doc->empty()) continue;  // e.g. a trailing "---"
    ++into.documents;
    if (onKind)
      if (auto kind = parseKind(doc->root()["kind"].scalar())) onKind(*kind);
    batch->documents.push_back(std::move(*doc));
    if (batch->documents.size() < kBatch) continue;
    // A small file (the common case) never starts a thread.
    if (pool.empty())
      for (std::size_t i = 0; i < workers; ++i)
        pool.emplace_back([&queue, &where] {
          while (Batch* b = queue.pop(true)) checkBatch(*b, where);
        });
    if (pool.empty()) checkBatch(*batch, where);  // one core: no one to hand it to
    else queue.push(batch.get());
    batches.push_back(std::move(batch));
    batch = std::make_unique<Batch>();
  }
  checkBatch(*batch, where);
  batches.push_back(std::move(batch));
  queue.close();
  while (Batch* b = queue.pop(false)) checkBatch(*b, where);
  pool.clear();  // joins: every batch is checked

  for (auto& b : batches) {
    for (Resource& r : b->resources) into.resources.push_back(std::move(r));
    into.diagnostics.append(b->diagnostics);
  }
  into.documentsRead += parser.documents();
  if (const auto& e = parser.error())
    into.diagnostics.error({fileName, e->mark.line + 1, e->mark.column + 1}, "",
                           e->limit ? e->message : "invalid YAML: " + e->message);
}

void checkCrossReferences(LoadResult& result) {
  auto& resources = result.resources;
  std::unordered_map<ResourceId, std::size_t> index;
  std::vector<bool> duplicate(resources.size(), false);
  for (std::size_t i = 0; i < resources.size(); ++i) {
    auto [it, fresh] = index.emplace(resources[i].id, i);
    if (fresh) continue;
    const SourcePos& first = resources[it->second].source;
    result.diagnostics.error(resources[i].source, "metadata.name",
                             resources[i].id.str() + " is declared twice; first at " + first.file + ":" +
                                 std::to_string(first.line) + ":" + std::to_string(first.column));
    duplicate[i] = true;
  }

  Needs needs(resources.size());
  for (std::size_t i = 0; i < resources.size(); ++i) {
    const Resource& r = resources[i];
    for (const Reference& ref : references(r)) {
      auto it = index.find(ref.target);
      if (it == index.end()) {
        if (ref.soft) continue;
        result.diagnostics.warning(locate(r, ref.field), ref.field,
                                   "references " + ref.target.str() +
                                       ", which these manifests do not declare; plan requires it on the host");
        continue;
      }
      needs[i].push_back(it->second);
      if (ref.expect)
        if (auto wrong = ref.expect(resources[it->second]))
          result.diagnostics.error(locate(r, ref.field), ref.field, std::move(*wrong));
    }
  }
  for (const auto& cycle : findCycles(needs)) {
    std::string walk;
    for (std::size_t i : cycle) walk += resources[i].id.str() + " -> ";
    walk += resources[cycle.front()].id.str();
    // Reported at the field of the first resource that makes the first step.
    const Resource& first = resources[cycle.front()];
    const ResourceId& next = resources[cycle.size() > 1 ? cycle[1] : cycle.front()].id;
    std::string field;
    for (const Reference& ref : references(first))
      if (ref.target == next) {
        field = ref.field;
        break;
      }
    result.diagnostics.error(locate(first, field), field, "dependency cycle: " + walk);
  }
  // Drop second declarations so later stages see one resource per identity.
  std::size_t out = 0;
  for (std::size_t i = 0; i < resources.size(); ++i) {
    if (duplicate[i]) continue;
    if (out != i) resources[out] = std::move(resources[i]);  // never self-move: it empties strings
    ++out;
  }
  resources.resize(out);
}

LoadResult loadManifests(const std::vector<std::string>& paths) {
  std::vector<ManifestText> read;
  return loadManifests(paths, read);
}

LoadResult loadManifests(const std::vector<std::string>& paths, std::vector<ManifestText>& read) {
  return loadManifests(paths, read, {});
}

LoadResult loadManifests(const std::vector<std::string>& paths, std::vector<ManifestText>& read,
                         const KindSeen& onKind) {
  LoadResult result;
  std::size_t budget = limits::kManifestBytes;  // for all files together, as for one commit
  for (const fs::path& file : expandPaths(paths, result.diagnostics)) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      result.diagnostics.error({file.string(), 0, 0}, "", "cannot read the file");
      continue;
    }
    // Read at most what is left of the budget, and one byte more to know it
    // was exceeded: a file's size says nothing for /dev/zero or a pipe.
    std::string text;
    char chunk[1 << 16];
    while (text.size() <= budget && (in.read(chunk, sizeof chunk) || in.gcount() > 0))
      text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > budget) {
      std::string where;
      for (const std::string& p : paths) where += (where.empty() ? "" : ", ") + p;
      result.diagnostics.error({file.string(), 0, 0}, "", limits::manifestsTooLarge(where));
      break;
    }
    budget -= text.size();
    loadText(text, file.string(), result, onKind);
    read.push_back({file.string(), std::move(text)});
  }
  checkCrossReferences(result);
  result.diagnostics.sort();
  return result;
}

LoadResult loadManifestTexts(const std::vector<ManifestText>& files) {
  LoadResult result;
  std::size_t total = 0;
  for (const ManifestText& file : files) total += file.text.size();
  if (total > limits::kManifestBytes) {
    result.diagnostics.error({}, "", limits::manifestsTooLarge("these paths"));
    return result;
  }
  for (const ManifestText& file : files) loadText(file.text, file.name, result);
  checkCrossReferences(result);
  result.diagnostics.sort();
  return result;
}

SourcePos locate(const Resource& r, std::string_view fieldPath) {
  for (const FieldPos& p : r.positions)
    if (p.path == fieldPath) return {r.source.file, p.line, p.column};
  return r.source;
}

}  // namespace hostform
