#include "reconciler/watch/git_source.h"

#include "reconciler/limits.h"

#include <git2.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>

namespace hostform::watch {
namespace fs = std::filesystem;
namespace {

using CommitPtr = Handle<git_commit, git_commit_free>;
using TreePtr = Handle<git_tree, git_tree_free>;
using TreeEntryPtr = Handle<git_tree_entry, git_tree_entry_free>;
using BlobPtr = Handle<git_blob, git_blob_free>;
using ReferencePtr = Handle<git_reference, git_reference_free>;

/// libgit2 is initialised once per process and never shut down: the watcher
/// uses it until exit. Its caches are kept small, so a watcher's memory does
/// not grow with the repository's history.
void initLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, static_cast<ssize_t>(4 << 20));
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, static_cast<size_t>(32 << 20));
  });
}

std::string lastGitError() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

std::string hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

std::optional<git_oid> parseOid(const CommitId& id) {
  git_oid oid;
  if (id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, id.c_str()) != 0) return std::nullopt;
  return oid;
}

bool isManifestName(std::string_view name) { return name.ends_with(".yaml") || name.ends_with(".yml"); }

/// Where the user-info of a URL with a scheme is: [begin, end) of "user:pass".
std::optional<std::pair<std::size_t, std::size_t>> userInfo(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  const std::size_t begin = scheme + 3;
  const std::size_t authorityEnd = std::min(url.find('/', begin), url.size());
  const std::size_t at = url.substr(0, authorityEnd).rfind('@');
  if (at == std::string_view::npos || at < begin) return std::nullopt;
  return std::pair{begin, at};
}

std::string urlPassword(std::string_view url) {
  const auto info = userInfo(url);
  if (!info) return {};
  const std::string_view userPass = url.substr(info->first, info->second - info->first);
  const std::size_t colon = userPass.find(':');
  return colon == std::string_view::npos ? std::string() : std::string(userPass.substr(colon + 1));
}

void replaceAll(std::string& text, const std::string& what, const std::string& with) {
  if (what.empty()) return;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + with.size()))
    text.replace(pos, what.size(), with);
}

/// What the libgit2 callbacks of one fetch share.
struct FetchContext {
  const GitCredentials* credentials;
  const std::function<bool()>* cancelled;
  bool triedKeyFile = false, triedAgent = false, triedToken = false;
  std::string authProblem;  ///< why no (more) credentials could be offered
};

bool isCancelled(const FetchContext& ctx) { return *ctx.cancelled && (*ctx.cancelled)(); }

/// libgit2 asks again after every rejected credential; each source is offered
/// once, then the fetch fails with what was tried.
int acquireCredentials(git_credential** out, const char* /*url*/, const char* usernameFromUrl, unsigned int allowed,
                       void* payload) {
  auto& ctx = *static_cast<FetchContext*>(payload);
  const std::string user = usernameFromUrl && *usernameFromUrl ? usernameFromUrl : "";
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.empty() ? "git" : user.c_str());
  if (allowed & GIT_CREDENTIAL_SSH_KEY) {
    const std::string sshUser = user.empty() ? "git" : user;
    if (!ctx.credentials->sshKey.empty() && !ctx.triedKeyFile) {
      ctx.triedKeyFile = true;
      const std::string key = ctx.credentials->sshKey.string();
      const std::string pub = key + ".pub";
      std::error_code ec;
      return git_credential_ssh_key_new(out, sshUser.c_str(), fs::exists(pub, ec) ? pub.c_str() : nullptr, key.c_str(),
                                        nullptr);
    }
    if (ctx.credentials->sshKey.empty() && !ctx.triedAgent && std::getenv("SSH_AUTH_SOCK")) {
      ctx.triedAgent = true;
      return git_credential_ssh_key_from_agent(out, sshUser.c_str());
    }
    ctx.authProblem = !ctx.credentials->sshKey.empty()
                          ? "the SSH server refused the key file given with --ssh-key"
                      : ctx.triedAgent ? "the SSH server refused every key ssh-agent offered"
                                       : "no SSH key to offer: pass --ssh-key FILE or run ssh-agent (SSH_AUTH_SOCK)";
  } else if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    if (!ctx.credentials->token.empty() && !ctx.triedToken) {
      ctx.triedToken = true;
      // Git hosts accept an access token as the password with any user name;
      // one given in the URL (https://oauth2@host/…) is kept.
      return git_credential_userpass_plaintext_new(out, user.empty() ? "x-access-token" : user.c_str(),
                                                   ctx.credentials->token.c_str());
    }
    ctx.authProblem = ctx.triedToken ? "the server refused the token"
                                     : "the server asks for credentials: pass --token-env VAR or --token-file FILE";
  } else {
    ctx.authProblem = "the server asks for a kind of credentials hostform does not support";
  }
  git_error_set_str(GIT_ERROR_NET, ("authentication failed: " + ctx.authProblem).c_str());
  return GIT_EAUTH;
}

int transferProgress(const git_indexer_progress* /*stats*/, void* payload) {
  return isCancelled(*static_cast<FetchContext*>(payload)) ? GIT_EUSER : 0;
}

int sidebandProgress(const char* /*text*/, int /*length*/, void* payload) {
  return isCancelled(*static_cast<FetchContext*>(payload)) ? GIT_EUSER : 0;
}

/// Collects the manifest blobs of a tree walk.
struct WalkContext {
  std::string prefix;  ///< the repository path of the walked tree, with a trailing '/' (or empty)
  std::vector<std::pair<std::string, git_oid>> blobs;
  std::vector<std::string>* skipped;
};

int collectBlob(const char* root, const git_tree_entry* entry, void* payload) {
  auto& ctx = *static_cast<WalkContext*>(payload);
  const std::string name = git_tree_entry_name(entry);
  const std::string path = ctx.prefix + root + name;
  switch (git_tree_entry_filemode(entry)) {
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
      if (isManifestName(name)) ctx.blobs.emplace_back(path, *git_tree_entry_id(entry));
      break;
    case GIT_FILEMODE_LINK:
    case GIT_FILEMODE_COMMIT:
      if (isManifestName(name) || git_tree_entry_filemode(entry) == GIT_FILEMODE_COMMIT) ctx.skipped->push_back(path);
      break;
    default: break;
  }
  return 0;
}

}  // namespace

std::string redactUrl(std::string_view url) {
  std::string out(url);
  const auto info = userInfo(url);
  if (!info) return out;
  const std::size_t colon = out.find(':', info->first);
  if (colon != std::string::npos && colon < info->second) out.erase(colon, info->second - colon);
  return out;
}

std::string normalizeRepoUrl(std::string_view url) {
  const std::string text(url);
  if (text.find("://") != std::string::npos) return text;
  const std::size_t colon = text.find(':');
  const std::size_t slash = text.find('/');
  const bool scpLike = colon != std::string::npos && (slash == std::string::npos || colon < slash);
  if (scpLike) return text;
  std::error_code ec;
  const fs::path absolute = fs::absolute(text, ec);
  return ec ? text : absolute.lexically_normal().string();
}

bool isValidBranchName(const std::string& branch) {
  initLibgit2();
  int valid = 0;
  return !branch.empty() && git_reference_name_is_valid(&valid, ("refs/heads/" + branch).c_str()) == 0 && valid;
}


GitSource::GitSource(RepoPtr repo, std::string url, std::string branch,
                     GitCredentials credentials)
    : repo_(std::move(repo)),
      url_(std::move(url)),
      displayUrl_(redactUrl(url_)),
      branch_(std::move(branch)),
      credentials_(std::move(credentials)) {}

GitSource::GitSource(GitSource&&) noexcept = default;
GitSource& GitSource::operator=(GitSource&&) noexcept = default;
GitSource::~GitSource() = default;

Result<GitSource> GitSource::open(fs::path clonePath, std::string url, std::string branch,
                                  GitCredentials credentials) {
  initLibgit2();
  git_repository* raw = nullptr;
  std::error_code ec;
  if (fs::exists(clonePath, ec)) {
    if (git_repository_open_bare(&raw, clonePath.c_str()) != 0)
      return fail("cannot open the clone at " + clonePath.string() + ": " + lastGitError() +
                  "; delete it and the watcher clones the repository again.");
  } else if (git_repository_init(&raw, clonePath.c_str(), /*is_bare=*/1) != 0) {
    return fail("cannot create the clone at " + clonePath.string() + ": " + lastGitError() + ".");
  }
  RepoPtr repo(raw);
  return GitSource(std::move(repo), std::move(url), std::move(branch), std::move(credentials));
}

std::string GitSource::scrub(std::string message) const {
  replaceAll(message, url_, displayUrl_);
  replaceAll(message, urlPassword(url_), "***");
  replaceAll(message, credentials_.token, "***");
  return message;
}


Result<CommitId> GitSource::fetch(const std::function<bool()>& cancelled) {
  if (!remote_) {
    git_remote* rawRemote = nullptr;
    // Anonymous: the URL, which may carry a token, is never written to the clone's config.
    if (git_remote_create_anonymous(&rawRemote, repo_.get(), url_.c_str()) != 0)
      return fail(scrub("cannot use the repository URL " + displayUrl_ + ": " + lastGitError() + "."));
    remote_.reset(rawRemote);
  }
  git_remote* remote = remote_.get();

  FetchContext ctx{&credentials_, &cancelled};
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.callbacks.credentials = acquireCredentials;
  options.callbacks.transfer_progress = transferProgress;
  options.callbacks.sideband_progress = sidebandProgress;
  options.callbacks.payload = &ctx;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  options.update_fetchhead = 0;
  // '+': a force-pushed branch replaces the old tip; the branch tip is what counts.
  std::string refspec = "+refs/heads/" + branch_ + ":" + trackingRef();
  char* specs[] = {refspec.data()};
  const git_strarray refspecs{specs, 1};
  if (git_remote_fetch(remote, &refspecs, &options, "hostform watch: fetch") != 0) {
    if (isCancelled(ctx)) return fail("the fetch from " + displayUrl_ + " was cancelled.");
    return fail(scrub("cannot fetch " + displayUrl_ + ": " + lastGitError() + "."));
  }

  // The advertisement, not the tracking ref, says what the branch is now: a
  // branch deleted on the remote must not leave a stale tip in force.
  const git_remote_head** heads = nullptr;
  std::size_t count = 0;
  if (git_remote_ls(&heads, &count, remote) != 0)
    return fail(scrub("cannot list the branches of " + displayUrl_ + ": " + lastGitError() + "."));
  const std::string wanted = "refs/heads/" + branch_;
  for (std::size_t i = 0; i < count; ++i) {
    if (wanted != heads[i]->name) continue;
    const git_oid tip = heads[i]->oid;
    git_reference* rawRef = nullptr;
    if (git_reference_create(&rawRef, repo_.get(), trackingRef().c_str(), &tip, /*force=*/1,
                             "hostform watch: fetch") != 0)
      return fail("cannot record the fetched tip in the clone: " + lastGitError() + ".");
    ReferencePtr ref(rawRef);
    return hex(tip);
  }
  return fail("the branch \"" + branch_ + "\" does not exist in " + displayUrl_ + ".");
}

std::optional<CommitId> GitSource::lastFetched() const {
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo_.get(), trackingRef().c_str()) != 0) return std::nullopt;
  return hex(oid);
}

bool GitSource::hasCommit(const CommitId& commit) const {
  const auto oid = parseOid(commit);
  git_commit* raw = nullptr;
  if (!oid || git_commit_lookup(&raw, repo_.get(), &*oid) != 0) return false;
  CommitPtr owned(raw);
  return true;
}

bool GitSource::descends(const CommitId& descendant, const CommitId& ancestor) const {
  const auto d = parseOid(descendant), a = parseOid(ancestor);
  if (!d || !a) return false;
  return git_graph_descendant_of(repo_.get(), &*d, &*a) == 1;
}

std::string GitSource::subject(const CommitId& commit) const {
  const auto oid = parseOid(commit);
  git_commit* raw = nullptr;
  if (!oid || git_commit_lookup(&raw, repo_.get(), &*oid) != 0) return {};
  CommitPtr owned(raw);
  const char* summary = git_commit_summary(raw);
  return summary ? summary : "";
}

Result<std::optional<CommitSignature>> GitSource::signature(const CommitId& commit) const {
  auto oid = parseOid(commit);
  // libgit2 says GIT_ENOTFOUND both for an unsigned commit and a missing one.
  if (!oid || !hasCommit(commit)) return fail("commit " + commit + " is not in the clone.");
  git_buf signature = GIT_BUF_INIT, payload = GIT_BUF_INIT;
  const int rc = git_commit_extract_signature(&signature, &payload, repo_.get(), &*oid, "gpgsig");
  const auto release = [&] {
    git_buf_dispose(&signature);
    git_buf_dispose(&payload);
  };
  if (rc == GIT_ENOTFOUND) {
    release();
    return std::optional<CommitSignature>();
  }
  if (rc != 0) {
    release();
    return fail("cannot read the signature of commit " + commit + ": " + lastGitError() + ".");
  }
  CommitSignature out{std::string(signature.ptr, signature.size), std::string(payload.ptr, payload.size)};
  release();
  return std::optional<CommitSignature>(std::move(out));
}

Result<std::vector<ManifestText>> GitSource::readManifests(const CommitId& commit, const std::string& dir,
                                                           std::vector<std::string>& skipped) const {
  const auto oid = parseOid(commit);
  git_commit* rawCommit = nullptr;
  if (!oid || git_commit_lookup(&rawCommit, repo_.get(), &*oid) != 0)
    return fail("commit " + commit + " is not in the clone: " + lastGitError() + ".");
  CommitPtr owned(rawCommit);
  git_tree* rawTree = nullptr;
  if (git_commit_tree(&rawTree, rawCommit) != 0)
    return fail("cannot read the tree of commit " + commit + ": " + lastGitError() + ".");
  TreePtr root(rawTree);

  WalkContext walk{"", {}, &skipped};
  TreePtr subtree;
  const git_tree* tree = root.get();
  if (!dir.empty() && dir != ".") {
    git_tree_entry* rawEntry = nullptr;
    if (git_tree_entry_bypath(&rawEntry, root.get(), dir.c_str()) != 0)
      return fail("--path " + dir + " does not exist in commit " + commit + ".");
    TreeEntryPtr entry(rawEntry);
    if (git_tree_entry_type(rawEntry) == GIT_OBJECT_BLOB && isManifestName(dir)) {
      walk.blobs.emplace_back(dir, *git_tree_entry_id(rawEntry));
      tree = nullptr;
    } else if (git_tree_entry_type(rawEntry) == GIT_OBJECT_TREE) {
      if (git_tree_lookup(&rawTree, repo_.get(), git_tree_entry_id(rawEntry)) != 0)
        return fail("cannot read " + dir + " in commit " + commit + ": " + lastGitError() + ".");
      subtree.reset(rawTree);
      tree = rawTree;
      walk.prefix = dir + "/";
    } else {
      return fail("--path " + dir + " in commit " + commit + " is neither a directory nor a *.yaml / *.yml file.");
    }
  }
  if (tree && git_tree_walk(tree, GIT_TREEWALK_PRE, collectBlob, &walk) != 0)
    return fail("cannot walk the tree of commit " + commit + ": " + lastGitError() + ".");

  // The order loadManifests() gives a directory: by path, component by component.
  std::sort(walk.blobs.begin(), walk.blobs.end(),
            [](const auto& a, const auto& b) { return fs::path(a.first) < fs::path(b.first); });
  std::vector<ManifestText> files;
  files.reserve(walk.blobs.size());
  git_object_size_t total = 0;  // the same bound as -f: limits::kManifestBytes for all files together
  for (const auto& [path, blobId] : walk.blobs) {
    git_blob* rawBlob = nullptr;
    if (git_blob_lookup(&rawBlob, repo_.get(), &blobId) != 0)
      return fail("cannot read " + path + " in commit " + commit + ": " + lastGitError() + ".");
    BlobPtr blob(rawBlob);
    const git_object_size_t size = git_blob_rawsize(rawBlob);
    total += size;
    if (total > limits::kManifestBytes)
      return fail(limits::manifestsTooLarge((dir.empty() ? std::string(".") : dir) + " in commit " + commit) + ".");
    files.push_back({path, std::string(static_cast<const char*>(git_blob_rawcontent(rawBlob)), size)});
  }
  return files;
}

}  // namespace hostform::watch
