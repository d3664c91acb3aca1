#pragma once
/// Manifests in, typed resources out: read files and directories, split YAML
/// documents, validate each against its kind's schema, decode into the model,
/// run the checks a schema cannot express, then the cross-document checks
/// (duplicate identities, references, cycles). Never touches the host.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "reconciler/diagnostics.h"
#include "reconciler/model.h"

namespace hostform {

struct LoadResult {
  std::vector<Resource> resources;  ///< only documents that were fully valid
  Diagnostics diagnostics;
  std::size_t documents = 0;        ///< non-empty documents seen
  std::size_t documentsRead = 0;    ///< every document, empty ones included (limits::kDocuments)
};

/// `paths` are files (read whatever their name) or directories (every *.yaml /
/// *.yml below, sorted by path). Runs every check, including cross-document
/// ones; unresolved references are warnings here, since only the planner can
/// ask the host whether they exist.
/// A manifest file read from somewhere other than the file system (a git
/// commit's tree, a saved plan). `name` is what diagnostics print: the repository path.
struct ManifestText {
  std::string name;
  std::string text;
};

LoadResult loadManifests(const std::vector<std::string>& paths);
/// loadManifests() that also hands back every file's text as it was read, in
/// the order read (`plan -out` saves them, so `apply FILE` reads no file again).
LoadResult loadManifests(const std::vector<std::string>& paths, std::vector<ManifestText>& read);

/// Told, on the loading thread, the kind each document names as soon as it
/// is parsed, before it is validated: `plan` starts reading a kind's backend
/// while the rest is still being checked (planner.h, EarlyReads). A document
/// may still turn out invalid; nothing may be changed on this word.
using KindSeen = std::function<void(Kind)>;
LoadResult loadManifests(const std::vector<std::string>& paths, std::vector<ManifestText>& read,
                         const KindSeen& onKind);

/// loadManifests() for files already read, in the order given (callers sort
/// them as loadManifests() sorts a directory): every check, the same
/// FILE:LINE:COL diagnostics with `name` as FILE.
LoadResult loadManifestTexts(const std::vector<ManifestText>& files);

/// Loads one file's text (e.g. read from a git object) into `into`. `fileName`
/// is what diagnostics print. Cross-document checks are not run.
void loadText(std::string_view text, const std::string& fileName, LoadResult& into, const KindSeen& onKind = {});

/// Duplicate identities, references between the loaded resources (unresolved:
/// warnings), dependency cycles (errors).
void checkCrossReferences(LoadResult& result);

/// Where a field of a loaded resource was written; the document position when
/// the field was not recorded.
SourcePos locate(const Resource& r, std::string_view fieldPath);

}  // namespace hostform
