#include "storage/store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unordered_map>

#include "storage/git_handles.h"

namespace taskfs::storage {
namespace {

constexpr const char* kMtimeCacheFile = "mtimes";
constexpr int kCommitAttempts = 8;
// zlib level for objects this store writes. Trees of large flat folders are rewritten on every
// save; level 1 compresses them several times faster than the default at a small cost in size.
constexpr int kLooseCompressionLevel = 1;

ObjectId ToObjectId(const git_oid& oid) {
  ObjectId id;
  std::memcpy(id.data(), oid.id, id.size());
  return id;
}

git_oid ToGitOid(const ObjectId& id) {
  git_oid oid;
  std::memcpy(oid.id, id.data(), id.size());
  return oid;
}

std::string RandomHex(size_t bytes) {
  std::random_device rd;
  std::string out;
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 0xf];
  }
  return out;
}

std::string ConfigString(git_config* cfg, const char* key) {
  git_buf buf = GIT_BUF_INIT;
  std::string value;
  if (git_config_get_string_buf(&buf, cfg, key) == 0) value.assign(buf.ptr, buf.size);
  git_buf_dispose(&buf);
  return value;
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

using MtimeCache = std::unordered_map<std::string, std::pair<std::string, int64_t>>;

MtimeCache LoadMtimeCache(const std::string& file) {
  MtimeCache cache;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string hex;
    int64_t mtime;
    if (!(fields >> hex >> mtime)) continue;
    fields.get();
    std::string path;
    std::getline(fields, path);
    cache[path] = {hex, mtime};
  }
  return cache;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Init(const std::string& path,
                                           const std::string& client_name) {
  EnsureLibgit2();
  if (client_name.empty()) {
    return Status::InvalidArgument("a client name is required (e.g. --name \"Ada laptop\")");
  }
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
               GIT_REPOSITORY_INIT_NO_REINIT;
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
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_config_set_string(cfg_raw, "taskfs.clientid", RandomHex(8).c_str()), "config"));
  return Open(path);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  EnsureLibgit2();
  std::unique_ptr<Store> store(new Store());
  TASKFS_RETURN_IF_ERROR(store->OpenRepository(path));
  auto head = store->ReadBranch();
  if (!head.ok()) return head.status();
  auto snap = store->LoadSnapshot(*head, nullptr);
  if (!snap.ok()) return snap.status();
  store->snapshot_ = std::move(snap.value());
  return store;
}

Store::~Store() {
  if (repo_) {
    SaveMtimes();
    git_repository_free(repo_);
  }
}

Status Store::OpenRepository(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("no store at " + path +
                            " (create one with `taskfs init --name NAME`, or pass --store DIR)");
  }
  int rc = git_repository_open_ext(&repo_, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound(path + " is not a taskfs store (not a git repository)");
  }
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "opening store " + path));
  git_dir_ = git_repository_path(repo_);
  local_dir_ = git_dir_ + "taskfs";
  std::error_code ec;
  std::filesystem::create_directories(local_dir_, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + local_dir_);

  git_config* cfg_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_config(&cfg_raw, repo_), "reading config"));
  ConfigPtr cfg(cfg_raw);
  client_name_ = ConfigString(cfg_raw, "user.name");
  if (client_name_.empty()) client_name_ = "taskfs";
  client_id_ = ConfigString(cfg_raw, "taskfs.clientid");
  if (client_id_.empty()) {
    client_id_ = RandomHex(8);
    git_config_set_string(cfg_raw, "taskfs.clientid", client_id_.c_str());
  }

  // The branch: HEAD's target when HEAD names a branch (git init may say master), else main.
  git_reference* head_raw = nullptr;
  if (git_reference_lookup(&head_raw, repo_, "HEAD") == 0) {
    RefPtr head(head_raw);
    if (git_reference_type(head_raw) == GIT_REFERENCE_SYMBOLIC) {
      branch_ref_ = git_reference_symbolic_target(head_raw);
    }
  }

  const std::string objects_dir = git_dir_ + "objects";
  RemoveStaleTempObjects(objects_dir);
  git_odb* odb_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_odb(&odb_raw, repo_), "opening object db"));
  OdbPtr odb(odb_raw);
  git_odb_backend* fast_loose = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_odb_backend_loose(&fast_loose, objects_dir.c_str(), kLooseCompressionLevel, 1, 0, 0),
      "opening object db"));
  // Higher priority than libgit2's own loose backend (1) and packs (2): new objects go here.
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_odb_add_backend(odb_raw, fast_loose, 10), "opening object db"));
  merger_ = std::make_shared<LineTaskMerger>();
  return Status::OK();
}

Result<std::string> Store::ReadBranch() const {
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, repo_, branch_ref_.c_str());
  if (rc == GIT_ENOTFOUND) return std::string();
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "reading " + branch_ref_));
  return OidToHex(oid);
}

Result<SnapshotPtr> Store::LoadSnapshot(const std::string& commit_hex, const Snapshot* previous) {
  if (commit_hex.empty()) {
    return SnapshotPtr(std::make_shared<const Snapshot>("", 0, Snapshot::FileMap{}));
  }
  git_oid oid;
  git_oid_fromstr(&oid, commit_hex.c_str());
  git_commit* commit_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_commit_lookup(&commit_raw, repo_, &oid), "reading commit " + commit_hex));
  CommitPtr commit(commit_raw);
  git_tree* tree_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&tree_raw, commit_raw), "reading tree"));
  TreePtr tree(tree_raw);
  const int64_t commit_time = git_commit_time(commit_raw);

  MtimeCache cache;
  if (!previous) cache = LoadMtimeCache(local_dir_ + "/" + kMtimeCacheFile);

  struct WalkState {
    Store* store;
    const Snapshot* previous;
    const MtimeCache* cache;
    int64_t commit_time;
    Snapshot::FileMap files;
    Status status;
  } state{this, previous, &cache, commit_time, {}, Status::OK()};

  auto visit = [](const char* root, const git_tree_entry* entry, void* payload) -> int {
    auto* st = static_cast<WalkState*>(payload);
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return 0;
    std::string path = std::string(root) + git_tree_entry_name(entry);
    const git_oid* id = git_tree_entry_id(entry);
    FileEntry fe;
    fe.blob = ToObjectId(*id);
    fe.mtime = st->commit_time;
    if (st->previous) {
      const FileEntry* old = st->previous->FindFile(path);
      if (old && old->blob == fe.blob) {
        st->files.emplace(std::move(path), *old);
        return 0;
      }
    } else if (auto it = st->cache->find(path);
               it != st->cache->end() && it->second.first == OidToHex(*id)) {
      fe.mtime = it->second.second;
    }
    git_blob* blob_raw = nullptr;
    st->status = GitStatus(git_blob_lookup(&blob_raw, st->store->repo_, id), "reading " + path);
    if (!st->status.ok()) return -1;
    BlobPtr blob(blob_raw);
    fe.content = std::make_shared<const std::string>(
        static_cast<const char*>(git_blob_rawcontent(blob_raw)), git_blob_rawsize(blob_raw));
    st->files.emplace(std::move(path), std::move(fe));
    return 0;
  };
  int rc = git_tree_walk(tree_raw, GIT_TREEWALK_PRE, visit, &state);
  if (!state.status.ok()) return state.status;
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "reading tree of " + commit_hex));
  return SnapshotPtr(
      std::make_shared<const Snapshot>(commit_hex, commit_time, std::move(state.files)));
}

SnapshotPtr Store::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void Store::SetMerger(std::shared_ptr<const TaskMerger> merger) {
  std::lock_guard lock(mu_);
  merger_ = std::move(merger);
}

Result<std::string> Store::WriteCommit(const Snapshot& base, const std::vector<Change>& changes,
                                       const std::string& message,
                                       std::vector<ObjectId>* blob_ids) {
  std::vector<git_tree_update> updates;
  updates.reserve(changes.size());
  for (const Change& c : changes) {
    git_tree_update u{};
    u.path = c.path.c_str();
    if (c.content) {
      u.action = GIT_TREE_UPDATE_UPSERT;
      u.filemode = GIT_FILEMODE_BLOB;
      TASKFS_RETURN_IF_ERROR(GitStatus(
          git_blob_create_from_buffer(&u.id, repo_, c.content->data(), c.content->size()),
          "writing " + c.path));
      blob_ids->push_back(ToObjectId(u.id));
    } else {
      blob_ids->push_back({});
      if (!base.FindFile(c.path)) continue;
      u.action = GIT_TREE_UPDATE_REMOVE;
    }
    updates.push_back(u);
  }
  TreePtr base_tree;
  std::vector<CommitPtr> parents;
  if (!base.commit_id().empty()) {
    git_oid parent_oid;
    git_oid_fromstr(&parent_oid, base.commit_id().c_str());
    git_commit* parent = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_lookup(&parent, repo_, &parent_oid), "commit"));
    parents.emplace_back(parent);
    git_tree* t = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&t, parent), "reading tree"));
    base_tree.reset(t);
  }
  git_oid tree_oid;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_tree_create_updated(&tree_oid, repo_, base_tree.get(), updates.size(), updates.data()),
      "writing tree"));
  if (base_tree && git_oid_equal(&tree_oid, git_tree_id(base_tree.get()))) {
    return base.commit_id();  // nothing changed
  }
  git_tree* tree_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_tree_lookup(&tree_raw, repo_, &tree_oid), "tree"));
  TreePtr tree(tree_raw);
  git_signature* sig_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_signature_now(&sig_raw, client_name_.c_str(), (client_id_ + "@taskfs").c_str()),
      "signature"));
  SignaturePtr sig(sig_raw);
  const git_commit* parent_ptrs[1] = {parents.empty() ? nullptr : parents[0].get()};
  git_oid commit_oid;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_commit_create(&commit_oid, repo_, nullptr, sig_raw, sig_raw, nullptr, message.c_str(),
                        tree_raw, parents.size(), parent_ptrs),
      "writing commit"));

  git_reference* ref = nullptr;
  int rc;
  const std::string log = "taskfs: " + message;
  if (base.commit_id().empty()) {
    rc = git_reference_create(&ref, repo_, branch_ref_.c_str(), &commit_oid, 0, log.c_str());
    if (rc == GIT_EEXISTS) rc = GIT_EMODIFIED;
  } else {
    git_oid expected;
    git_oid_fromstr(&expected, base.commit_id().c_str());
    rc = git_reference_create_matching(&ref, repo_, branch_ref_.c_str(), &commit_oid, 1,
                                       &expected, log.c_str());
  }
  git_reference_free(ref);
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "moving " + branch_ref_));
  return OidToHex(commit_oid);
}

Result<std::vector<Change>> Store::MergeOnto(const Snapshot& ours_base, const Snapshot& theirs,
                                             const std::vector<Change>& changes) {
  std::vector<Change> merged;
  for (const Change& c : changes) {
    const FileEntry* base = ours_base.FindFile(c.path);
    const FileEntry* their = theirs.FindFile(c.path);
    const bool untouched = (!base && !their) || (base && their && base->blob == their->blob);
    if (untouched) {
      merged.push_back(c);
      continue;
    }
    TaskMergeInput in;
    in.path = c.path;
    if (base) in.base = *base->content;
    in.ours = {c.content, std::time(nullptr), client_name_};
    if (their) in.theirs.content = *their->content;
    in.theirs.time = theirs.commit_time();
    for (Change& m : merger_->Merge(in)) merged.push_back(std::move(m));
  }
  return merged;
}

Result<CommitOutcome> Store::Commit(const std::vector<Change>& changes,
                                    const std::string& message, const SnapshotPtr& based_on) {
  std::lock_guard lock(mu_);
  CommitOutcome outcome;
  std::vector<Change> pending = changes;
  SnapshotPtr base = snapshot_;
  if (based_on && based_on->commit_id() != base->commit_id()) {
    auto merged = MergeOnto(*based_on, *base, pending);
    if (!merged.ok()) return merged.status();
    pending = std::move(merged.value());
  }
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    std::vector<ObjectId> blob_ids;
    auto commit = WriteCommit(*base, pending, message, &blob_ids);
    if (commit.ok()) {
      if (*commit == base->commit_id()) {
        outcome.snapshot = base;
      } else {
        const int64_t now = std::time(nullptr);
        Snapshot::ChangeMap applied;
        for (size_t i = 0; i < pending.size(); ++i) {
          const Change& c = pending[i];
          if (!c.content) {
            applied[c.path] = std::nullopt;
            continue;
          }
          const FileEntry* old = base->FindFile(c.path);
          if (old && old->blob == blob_ids[i]) continue;
          applied[c.path] =
              FileEntry{blob_ids[i], std::make_shared<const std::string>(*c.content), now};
        }
        outcome.snapshot = Snapshot::Derive(base, *commit, now, applied);
      }
      snapshot_ = outcome.snapshot;
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
    snapshot_ = base;
    outcome.merged_with_others = true;
  }
  return Status::Busy("the branch kept moving while committing '" + message +
                      "'; another process is committing without pause");
}

Result<SnapshotPtr> Store::Refresh() {
  std::lock_guard lock(mu_);
  auto head = ReadBranch();
  if (!head.ok()) return head.status();
  if (*head == snapshot_->commit_id()) return snapshot_;
  auto snap = LoadSnapshot(*head, snapshot_.get());
  if (!snap.ok()) return snap.status();
  snapshot_ = *snap;
  return snapshot_;
}

Status Store::SaveMtimes() const {
  SnapshotPtr snap = snapshot();
  const std::string file = local_dir_ + "/" + kMtimeCacheFile;
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    snap->ForEachFile([&](const std::string& path, const FileEntry& fe) {
      out << OidToHex(ToGitOid(fe.blob)) << ' ' << fe.mtime << ' ' << path << '\n';
    });
    if (!out) return Status::IOError("writing " + tmp);
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0) {
    return Status::FromErrno(errno, "renaming " + tmp);
  }
  return Status::OK();
}

}  // namespace taskfs::storage
