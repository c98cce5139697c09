#include "storage/store.h"

#include <dirent.h>
#include <git2/sys/commit.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include "storage/blob_reader.h"
#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/hex.h"
#include "storage/log.h"
#include "storage/object_buffer.h"
#include "storage/repack.h"
#include "storage/tree_cache.h"

namespace taskfs::storage {
namespace {

constexpr const char* kMtimeCacheFile = "mtimes";
constexpr int kCommitAttempts = 8;

std::string RandomHex(size_t bytes) {
  std::random_device rd;
  std::string random(bytes, '\0');
  for (char& c : random) c = static_cast<char>(rd() & 0xff);
  return Hex(random.data(), random.size());
}

int64_t CommitTime(git_repository* repo, const git_oid& id) {
  git_commit* raw = nullptr;
  if (git_commit_lookup(&raw, repo, &id) != 0) return 0;
  return git_commit_time(CommitPtr(raw).get());
}

std::string ConfigString(git_config* cfg, const char* key) {
  GitBuf buf;
  return git_config_get_string_buf(buf.get(), cfg, key) == 0 ? buf.str() : std::string();
}

// libgit2 leaves objects/tmp_object_git2_* behind when killed mid-write. Files older than a
// minute belong to no live writer and are removed.
void RemoveStaleTempObjects(const std::string& objects_dir) {
  std::error_code ec;
  const auto cutoff = std::filesystem::file_time_type::clock::now() - std::chrono::minutes(1);
  for (auto it = std::filesystem::recursive_directory_iterator(objects_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 1) continue;
    const std::string name = it->path().filename().string();
    if (name.starts_with("tmp_object_git2_") && it->last_write_time(ec) < cutoff) {
      std::filesystem::remove(it->path(), ec);
    }
  }
}

std::string CommitAuthor(git_repository* repo, const std::string& commit) {
  git_oid oid;
  git_commit* raw = nullptr;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0 || git_commit_lookup(&raw, repo, &oid) != 0) {
    return "";
  }
  const CommitPtr c(raw);
  const char* name = git_commit_author(c.get())->name;
  return name ? name : "";
}

// Path -> (blob id, mtime): compact, since a store of a million tasks holds it all while opening.
using MtimeCache = std::unordered_map<std::string, std::pair<ObjectId, int64_t>>;

// Lines of "<blob hex> <mtime> <path>", as SaveMtimes() writes them; a malformed line is skipped.
MtimeCache LoadMtimeCache(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  MtimeCache cache;
  cache.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t eol = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(std::min(eol + 1, rest.size()));
    git_oid id;
    if (line.size() < GIT_OID_HEXSZ + 4 || line[GIT_OID_HEXSZ] != ' ' ||
        git_oid_fromstrn(&id, line.data(), GIT_OID_HEXSZ) != 0) {
      continue;
    }
    const char* mtime_at = line.data() + GIT_OID_HEXSZ + 1;
    int64_t mtime = 0;
    auto [end, ec] = std::from_chars(mtime_at, line.data() + line.size(), mtime);
    if (ec != std::errc() || end == line.data() + line.size() || *end != ' ') continue;
    cache.insert_or_assign(std::string(end + 1, line.data() + line.size()),
                           std::pair{ToObjectId(id), mtime});
  }
  return cache;
}

// What Store::LoadSnapshot's walk of a commit's tree carries from entry to entry.
struct TreeWalk {
  const Snapshot* previous;
  const MtimeCache* cache;
  int64_t commit_time;
  Snapshot::FileMap files;
};

// git_tree_walk's callback: adds a blob's id to the walk's files (its bytes are read when first
// asked for). An entry of `previous` with the same blob is kept as it is; without `previous`, the
// saved mtime of the same blob is taken.
int AddTreeEntry(const char* root, const git_tree_entry* entry, void* payload) {
  auto* st = static_cast<TreeWalk*>(payload);
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return 0;
  std::string path = std::string(root) + git_tree_entry_name(entry);
  const git_oid* id = git_tree_entry_id(entry);
  FileEntry fe;
  fe.blob = ToObjectId(*id);
  fe.mtime = st->commit_time;
  if (st->previous) {
    const FileEntry* old = st->previous->FindFile(path);
    if (old && old->blob == fe.blob) fe = *old;
  } else if (auto it = st->cache->find(path);
             it != st->cache->end() && it->second.first == fe.blob) {
    fe.mtime = it->second.second;
  }
  st->files.emplace_hint(st->files.end(), std::move(path), std::move(fe));
  return 0;
}

// Splits `path` into its folder ("" for the root) and its last component.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  return {slash == std::string::npos ? "" : path.substr(0, slash),
          path.substr(slash == std::string::npos ? 0 : slash + 1)};
}

// Writes the blob of each change into `objects` and sets it in `cache` (or removes the entry of
// a deleted path); its id goes to `blob_ids` (none for a delete). Adds to `touched` every folder
// on the changes' paths.
Status StageChanges(git_repository* repo, ObjectBuffer* objects, TreeCache& cache,
                    const std::vector<Change>& changes, std::vector<ObjectId>* blob_ids,
                    std::set<std::string>* touched) {
  for (const Change& c : changes) {
    const auto [dir, name] = SplitPath(c.path);
    touched->insert("");
    if (!dir.empty()) {
      for (size_t slash = dir.find('/'); slash != std::string::npos;
           slash = dir.find('/', slash + 1)) {
        touched->insert(dir.substr(0, slash));
      }
      touched->insert(dir);
    }
    if (c.content) {
      ObjectId id;
      TASKFS_RETURN_IF_ERROR(objects->Add(GIT_OBJECT_BLOB, *c.content, &id));
      blob_ids->push_back(id);
      TASKFS_RETURN_IF_ERROR(cache.Set(repo, dir, name, ToGitOid(id), GIT_FILEMODE_BLOB));
    } else {
      blob_ids->push_back({});
      TASKFS_RETURN_IF_ERROR(cache.Remove(repo, dir, name));  // absent already: nothing to do
    }
  }
  return Status::OK();
}

// Writes the tree of each `touched` folder into `objects`, deepest first, each result into its
// parent (a folder left empty is removed from it instead); the root tree's id in `root_id`.
Status WriteTouchedTrees(git_repository* repo, ObjectBuffer* objects, TreeCache& cache,
                         const std::set<std::string>& touched, git_oid* root_id) {
  std::vector<std::string> order(touched.begin(), touched.end());
  std::sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
    auto depth = [](const std::string& s) {
      return s.empty() ? 0 : 1 + std::count(s.begin(), s.end(), '/');
    };
    return depth(a) > depth(b);
  });
  for (const std::string& dir : order) {
    auto empty = cache.Empty(repo, dir);
    if (!empty.ok()) return empty.status();
    git_oid tree_id;
    if (!*empty || dir.empty()) TASKFS_RETURN_IF_ERROR(cache.Write(repo, objects, dir, &tree_id));
    if (dir.empty()) {
      *root_id = tree_id;
      break;
    }
    const auto [parent, name] = SplitPath(dir);
    if (*empty) {
      TASKFS_RETURN_IF_ERROR(cache.Remove(repo, parent, name));
      cache.Forget(dir);
    } else {
      TASKFS_RETURN_IF_ERROR(cache.Set(repo, parent, name, tree_id, GIT_FILEMODE_TREE));
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Init(const std::string& path,
                                           const std::string& client_name) {
  EnsureLibgit2();
  if (client_name.empty()) {
    return Status::InvalidArgument("a client name is required (e.g. --name \"Ada laptop\")");
  }
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags =
      GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
  opts.initial_head = "main";
  git_repository* raw = nullptr;
  int rc = git_repository_init_ext(&raw, path.c_str(), &opts);
  if (rc == GIT_EEXISTS) {
    return Status::AlreadyExists("a store already exists at " + path);
  }
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "creating store " + path));
  RepoPtr repo(raw);
  git_config* cfg_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_config(&cfg_raw, raw), "reading config"));
  ConfigPtr cfg(cfg_raw);
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_config_set_string(cfg_raw, "user.name", client_name.c_str()), "config"));
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_config_set_string(cfg_raw, "taskfs.clientid", RandomHex(8).c_str()), "config"));
  return Open(path);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, Access access, Load load) {
  EnsureLibgit2();
  std::unique_ptr<Store> store(new Store());
  TASKFS_RETURN_IF_ERROR(store->OpenRepository(path, access));
  if (load == Load::kNow) {
    std::lock_guard lock(store->mu_);
    if (auto current = store->CurrentLocked(); !current.ok()) return current.status();
  }
  return store;
}

void Store::RepoDeleter::operator()(git_repository* repo) const { git_repository_free(repo); }

Store::~Store() = default;

Status Store::OpenRepository(const std::string& path, Access access) {
  access_ = access;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("no store at " + path +
                            " (create one with `taskfs init --name NAME`, or pass --store DIR)");
  }
  git_repository* opened = nullptr;
  int rc = git_repository_open_ext(&opened, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  repo_.reset(opened);
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound(path + " is not a taskfs store (not a git repository)");
  }
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "opening store " + path));
  git_dir_ = git_repository_path(repo_.get());
  local_dir_ = git_dir_ + "taskfs";
  const bool writer = access == Access::kReadWrite;
  if (writer) {
    std::error_code ec;
    std::filesystem::create_directories(local_dir_, ec);
    if (ec) return Status::FromErrno(ec.value(), "creating " + local_dir_);
  }

  git_config* cfg_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_config(&cfg_raw, repo_.get()), "reading config"));
  ConfigPtr cfg(cfg_raw);
  client_name_ = ConfigString(cfg_raw, "user.name");
  if (client_name_.empty()) client_name_ = "taskfs";
  client_id_ = ConfigString(cfg_raw, "taskfs.clientid");
  if (client_id_.empty() && writer) {
    client_id_ = RandomHex(8);
    git_config_set_string(cfg_raw, "taskfs.clientid", client_id_.c_str());
  }

  // The branch: HEAD's target when HEAD names a branch (git init may say master), else main.
  git_reference* head_raw = nullptr;
  if (git_reference_lookup(&head_raw, repo_.get(), "HEAD") == 0) {
    RefPtr head(head_raw);
    if (git_reference_type(head_raw) == GIT_REFERENCE_SYMBOLIC) {
      branch_ref_ = git_reference_symbolic_target(head_raw);
    }
  }

  merger_ = std::make_shared<LineTaskMerger>();
  clock_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
  const std::string objects_dir = git_dir_ + "objects";
  auto blobs = BlobReader::Open(objects_dir);
  if (!blobs.ok()) return blobs.status();
  blobs_ = std::move(blobs.value());
  const std::vector<std::string> packs = ListPackNames(git_dir_);
  known_packs_.insert(packs.begin(), packs.end());
  if (!writer) return Status::OK();
  RemoveStaleTempObjects(objects_dir);
  RemoveStaleTempFiles(objects_dir + "/pack");  // of a commit's pack a crash cut short
  RemoveStaleTempFiles(local_dir_);
  return AttachObjectBufferLocked();
}

Status Store::AttachObjectBufferLocked() const {
  auto objects = ObjectBuffer::Attach(repo_.get());
  if (!objects.ok()) return objects.status();
  objects_ = *objects;
  return Status::OK();
}

Result<std::string> Store::ReadBranch() const {
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, repo_.get(), branch_ref_.c_str());
  if (rc == GIT_ENOTFOUND) return std::string();
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "reading " + branch_ref_));
  return OidToHex(oid);
}

Result<SnapshotPtr> Store::LoadSnapshot(const std::string& commit_hex,
                                        const Snapshot* previous) const {
  if (commit_hex.empty()) {
    return SnapshotPtr(std::make_shared<const Snapshot>("", 0, Snapshot::FileMap{}, blobs_));
  }
  git_oid oid;
  git_oid_fromstr(&oid, commit_hex.c_str());
  git_commit* commit_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_commit_lookup(&commit_raw, repo_.get(), &oid), "reading commit " + commit_hex));
  CommitPtr commit(commit_raw);
  git_tree* tree_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&tree_raw, commit_raw), "reading tree"));
  TreePtr tree(tree_raw);
  const int64_t commit_time = git_commit_time(commit_raw);

  MtimeCache cache;
  if (!previous) cache = LoadMtimeCache(local_dir_ + "/" + kMtimeCacheFile);

  TreeWalk state{previous, &cache, commit_time, {}};
  TASKFS_RETURN_IF_ERROR(GitStatus(git_tree_walk(tree_raw, GIT_TREEWALK_PRE, AddTreeEntry, &state),
                                   "reading tree of " + commit_hex));
  if (!previous) {
    cache = {};
    ::malloc_trim(0);  // hand the cache's memory back: a long-lived mount keeps only the snapshot
  }
  return SnapshotPtr(
      std::make_shared<const Snapshot>(commit_hex, commit_time, std::move(state.files), blobs_));
}

SnapshotPtr Store::snapshot() const {
  {
    std::lock_guard lock(snapshot_mu_);
    if (snapshot_) return snapshot_;
  }
  std::lock_guard lock(mu_);
  auto current = CurrentLocked();
  if (!current.ok()) {
    // Only a store opened Load::kOnFirstUse gets here, and its callers Refresh() first.
    LogError("cannot read the store's tasks: " + current.status().message());
    std::abort();
  }
  return *current;
}

Result<SnapshotPtr> Store::CurrentLocked() const {
  {
    std::lock_guard lock(snapshot_mu_);
    if (snapshot_) return snapshot_;
  }
  auto head = ReadBranch();
  if (!head.ok()) return head.status();
  auto loaded = LoadSnapshot(*head, nullptr);
  if (!loaded.ok()) return loaded.status();
  std::lock_guard lock(snapshot_mu_);
  snapshot_ = *loaded;
  return snapshot_;
}

bool Store::tree_loaded() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_ != nullptr;
}

Result<std::string> Store::Head() const {
  std::lock_guard lock(mu_);
  return ReadBranch();
}

void Store::Publish(SnapshotPtr snap) {
  std::lock_guard lock(snapshot_mu_);
  snapshot_ = std::move(snap);
}

void Store::SetClockForTesting(std::function<int64_t()> clock) {
  std::lock_guard lock(mu_);
  clock_ = std::move(clock);
}

size_t Store::TreeCacheBytesForTesting() const {
  std::lock_guard lock(mu_);
  return tree_cache_ ? tree_cache_->footprint() : 0;
}

void Store::SetMerger(std::shared_ptr<const TaskMerger> merger) {
  std::lock_guard lock(mu_);
  merger_ = std::move(merger);
}

Result<std::string> Store::WriteCommit(const Snapshot& base, const std::vector<Change>& changes,
                                       const std::string& message, std::vector<ObjectId>* blob_ids,
                                       const std::string& merge_parent) {
  if (access_ == Access::kReadWrite && !objects_.attached()) {
    TASKFS_RETURN_IF_ERROR(AttachObjectBufferLocked());  // ReopenObjectDatabases could not
  }
  if (!tree_cache_ || tree_cache_->commit_id() != base.commit_id()) {
    git_oid tree_id{};
    if (!base.commit_id().empty()) {
      git_oid commit_oid;
      git_oid_fromstr(&commit_oid, base.commit_id().c_str());
      git_commit* raw = nullptr;
      TASKFS_RETURN_IF_ERROR(
          GitStatus(git_commit_lookup(&raw, repo_.get(), &commit_oid), "commit"));
      git_oid_cpy(&tree_id, git_commit_tree_id(CommitPtr(raw).get()));
    }
    tree_cache_ = std::make_unique<TreeCache>(base.commit_id(), tree_id);
  }
  // Any failure below leaves the cached folders half-changed, and buffered objects nothing will
  // refer to: drop both.
  auto result = WriteCommitWithCache(base, changes, message, blob_ids, merge_parent);
  if (!result.ok()) {
    tree_cache_.reset();
    objects_.Discard();
  }
  return result;
}

Result<std::string> Store::WriteCommitWithCache(const Snapshot& base,
                                                const std::vector<Change>& changes,
                                                const std::string& message,
                                                std::vector<ObjectId>* blob_ids,
                                                const std::string& merge_parent) {
  TreeCache& cache = *tree_cache_;
  std::set<std::string> touched = {""};  // folders whose trees must be rewritten
  TASKFS_RETURN_IF_ERROR(StageChanges(repo_.get(), &objects_, cache, changes, blob_ids, &touched));
  git_oid root_id{};
  TASKFS_RETURN_IF_ERROR(WriteTouchedTrees(repo_.get(), &objects_, cache, touched, &root_id));
  if (!base.commit_id().empty() && merge_parent.empty() &&
      git_oid_equal(&root_id, &cache.tree_id())) {
    return base.commit_id();  // nothing changed
  }
  return CommitTree(base, root_id, message, merge_parent);
}

Result<std::string> Store::CommitTree(const Snapshot& base, const git_oid& root_id,
                                      const std::string& message, const std::string& merge_parent) {
  TreeCache& cache = *tree_cache_;
  git_oid parent_oid, merge_oid;
  const git_oid* parents[2] = {&parent_oid, &merge_oid};
  size_t parent_count = 0;
  if (!base.commit_id().empty()) {
    git_oid_fromstr(&parent_oid, base.commit_id().c_str());
    parent_count = 1;
  }
  std::string author = client_name_, email = client_id_ + "@taskfs";
  int64_t time = clock_();
  if (!merge_parent.empty()) {
    // A merge commit depends only on its parents and tree: two clients that merge the same two
    // heads (each the other's, through a folder remote) write the same commit and so converge,
    // instead of merging each other's merges forever.
    git_oid_fromstr(&merge_oid, merge_parent.c_str());
    parents[parent_count++] = &merge_oid;
    if (git_oid_cmp(&merge_oid, &parent_oid) < 0) std::swap(parents[0], parents[1]);
    author = "taskfs";
    email = "merge@taskfs";
    time = std::max(CommitTime(repo_.get(), parent_oid), CommitTime(repo_.get(), merge_oid));
  }
  git_signature* sig_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_signature_new(&sig_raw, author.c_str(), email.c_str(), time, 0), "signature"));
  SignaturePtr sig(sig_raw);
  git_oid commit_oid;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_commit_create_from_ids(&commit_oid, repo_.get(), nullptr, sig_raw, sig_raw, nullptr,
                                 message.c_str(), &root_id, parent_count, parents),
      "writing commit"));

  // The commit's objects reach the disk (one pack) before the branch names them.
  auto pack = objects_.Flush();
  if (!pack.ok()) return pack.status();
  if (!pack->empty()) known_packs_.insert(*pack);  // so that ReopenObjectDatabases sees it go
  TASKFS_RETURN_IF_ERROR(MoveBranch(repo_.get(), branch_ref_, commit_oid,
                                    base.commit_id().empty() ? nullptr : &parent_oid,
                                    "taskfs: " + message));
  cache.Advance(OidToHex(commit_oid), root_id);
  return cache.commit_id();
}

Result<std::vector<Change>> Store::MergeOnto(const Snapshot& ours_base, const Snapshot& theirs,
                                             const std::vector<Change>& changes) {
  std::vector<Change> merged;
  for (const Change& c : changes) {
    const FileEntry* base = ours_base.FindFile(c.path);
    const FileEntry* their = theirs.FindFile(c.path);
    if ((!base && !their) || (base && their && base->blob == their->blob)) {
      merged.push_back(c);
      continue;
    }
    auto base_bytes = ours_base.ContentAt(c.path);
    if (!base_bytes.ok()) return base_bytes.status();
    auto their_bytes = theirs.ContentAt(c.path);
    if (!their_bytes.ok()) return their_bytes.status();
    // Bases the write path makes hold bytes only (no blob id): compare those.
    if (base && their && **base_bytes == **their_bytes) {
      merged.push_back(c);
      continue;
    }
    TaskMergeInput in;
    in.path = c.path;
    if (base) in.base = **base_bytes;
    in.ours = {c.content, clock_(), client_name_};
    if (their) in.theirs.content = **their_bytes;
    in.theirs.time = theirs.commit_time();
    in.theirs.author = CommitAuthor(repo_.get(), theirs.commit_id());
    for (Change& m : merger_->Merge(in)) merged.push_back(std::move(m));
  }
  return merged;
}

Result<CommitOutcome> Store::Commit(const std::vector<Change>& changes, const std::string& message,
                                    const SnapshotPtr& based_on) {
  std::lock_guard lock(mu_);
  if (access_ != Access::kReadWrite) {
    return Status::PermissionDenied("store opened read-only; cannot commit '" + message + "'");
  }
  CommitOutcome outcome;
  std::vector<Change> pending = changes;
  auto current = CurrentLocked();
  if (!current.ok()) return current.status();
  SnapshotPtr base = *current;
  if (based_on && based_on->commit_id() != base->commit_id()) {
    auto merged = MergeOnto(*based_on, *base, pending);
    if (!merged.ok()) return merged.status();
    // Merged with what changed since `based_on`: what is committed is not what the caller wrote.
    if (*merged != pending) outcome.merged_with_others = true;
    pending = std::move(merged.value());
  }
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    std::vector<ObjectId> blob_ids;
    auto commit = WriteCommit(*base, pending, message, &blob_ids);
    if (commit.ok()) {
      if (*commit == base->commit_id()) {
        outcome.snapshot = base;
      } else {
        outcome.snapshot = Apply(base, *commit, pending, blob_ids);
      }
      Publish(outcome.snapshot);
      return outcome;
    }
    if (commit.status().code() != Status::Code::kConflict) return commit.status();
    // The branch moved: load theirs, merge our change onto it, try again.
    auto head = ReadBranch();
    if (!head.ok()) return head.status();
    auto theirs = LoadSnapshot(*head, base.get());
    if (!theirs.ok()) return theirs.status();
    auto remerged = MergeOnto(*base, **theirs, pending);
    if (!remerged.ok()) return remerged.status();
    pending = std::move(remerged.value());
    base = *theirs;
    Publish(base);
    outcome.merged_with_others = true;
  }
  return Status::Busy("the branch kept moving while committing '" + message +
                      "'; another process is committing without pause");
}

SnapshotPtr Store::Apply(const SnapshotPtr& base, const std::string& commit,
                         const std::vector<Change>& changes,
                         const std::vector<ObjectId>& blob_ids) {
  const int64_t now = clock_();
  Snapshot::ChangeMap applied;
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    if (!c.content) {
      applied[c.path] = std::nullopt;
      continue;
    }
    const FileEntry* old = base->FindFile(c.path);
    if (old && old->blob == blob_ids[i]) continue;
    // The entry keeps its blob id only, its bytes read back from the pack just written when next
    // opened, like every entry loaded: a long-running mount would otherwise come to hold the
    // bytes of every task ever saved.
    applied[c.path] = FileEntry{blob_ids[i], nullptr, now};
  }
  return Snapshot::Derive(base, commit, now, applied);
}

Result<SnapshotPtr> Store::Refresh() {
  std::lock_guard lock(mu_);
  auto current = CurrentLocked();
  if (!current.ok()) return current.status();
  auto head = ReadBranch();
  if (!head.ok()) return head.status();
  if (*head == (*current)->commit_id()) return *current;
  auto snap = LoadSnapshot(*head, current->get());
  if (!snap.ok()) return snap.status();
  Publish(*snap);
  return snapshot_;
}

Status Store::SaveMtimes() const {
  SnapshotPtr snap = snapshot();
  std::ostringstream out;
  snap->ForEachFile([&](const std::string& path, const FileEntry& fe) {
    out << OidToHex(ToGitOid(fe.blob)) << ' ' << fe.mtime << ' ' << path << '\n';
  });
  return WriteFileAtomically(local_dir_ + "/" + kMtimeCacheFile, out.str());
}

}  // namespace taskfs::storage
