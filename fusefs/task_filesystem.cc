// TaskFilesystem: construction, classification of paths, attributes, listings, refresh and the
// background thread. File I/O is in file_io.cc, namespace changes in namespace_ops.cc.
#include "fusefs/task_filesystem.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <set>

#include "fusefs/errno_map.h"
#include "storage/deferred_deletes.h"
#include "storage/idle_memory.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/task_name.h"
#include "storage/task_validate.h"
#include "storage/thread_name.h"

namespace taskfs::fusefs {

using storage::IsTaskPath;
using storage::Snapshot;

namespace {
constexpr auto kRetryInterval = std::chrono::seconds(5);
}  // namespace

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

size_t LongestNameIn(std::string_view path) {
  size_t longest = 0;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    longest = std::max(longest, std::min(slash, path.size()));
    path = slash == std::string_view::npos ? "" : path.substr(slash + 1);
  }
  return longest;
}

bool IsHiddenUnlinked(std::string_view name) { return name.starts_with(".fuse_hidden"); }

int CheckNewName(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  if (name.size() > storage::kMaxNameBytes) return -ENAMETOOLONG;
  if (!storage::CheckComponent(name).ok()) return -EINVAL;
  if (name.ends_with(storage::kTaskSuffix) && name.front() != '.' && !storage::IsValidUtf8(name)) {
    return -EINVAL;  // looks like a task but can't be one: task names are UTF-8
  }
  return 0;
}

TaskFilesystem::TaskFilesystem(storage::Store* store,
                               std::chrono::milliseconds pending_delete_delay)
    : store_(store),
      pending_delete_delay_(pending_delete_delay),
      scratch_(storage::LocalState(*store).scratch()),
      last_error_file_(storage::LocalState(*store).last_error()),
      deferred_delete_dir_(storage::LocalState(store->local_dir()).deferred_deletes()),
      drafts_(storage::LocalState(*store).drafts()),
      attrs_(storage::LocalState(*store).attributes()),
      uid_(::getuid()),
      gid_(::getgid()) {
  shown_ = store_->snapshot();
  error_recorded_ = ::access(last_error_file_.c_str(), F_OK) == 0;
}

TaskFilesystem::~TaskFilesystem() { Shutdown(); }

Status TaskFilesystem::Start() {
  TASKFS_RETURN_IF_ERROR(scratch_.Open());
  auto journal = storage::Journal::Open(storage::LocalState(store_->local_dir()).journal());
  if (!journal.ok()) return journal.status();
  {
    std::lock_guard lock(mu_);
    TASKFS_RETURN_IF_ERROR(drafts_.Load());
    // Saves an earlier run acknowledged show at once; they are committed first.
    for (const storage::JournalEntry& e : (*journal)->recovered()) {
      for (const storage::Change& c : e.changes) {
        PendingSave& p = pending_[c.path];
        p.content = c.content ? std::make_shared<const std::string>(*c.content) : nullptr;
        p.seq = e.seq;
        p.mtime = static_cast<int64_t>(std::time(nullptr));
      }
    }
    auto snap = store_->snapshot();
    TASKFS_RETURN_IF_ERROR(
        attrs_.Load([&](const std::string& path) { return Classify(path, *snap) != Kind::kNone; }));
  }
  storage::RemoveBranchLockOfCrashedWriter(*store_);
  storage::Committer::Callbacks callbacks;
  callbacks.committed = [this](uint64_t seq, const storage::CommitOutcome& outcome) {
    OnCommitted(seq, outcome);
  };
  callbacks.failed = [this](const Status& st) {
    std::lock_guard lock(mu_);
    RecordError("could not commit (kept in the journal, retrying): " + st.ToString());
  };
  committer_ = std::make_unique<storage::Committer>(store_, std::move(journal.value()), callbacks);
  if (Status st = committer_->CommitRecovered(); !st.ok()) {
    LogError("saves from the last run are not committed yet, retrying: " + st.ToString());
  }
  {
    // Deletes of the last run that could not be committed yet: retried like any other.
    std::lock_guard lock(mu_);
    for (const std::string& path : storage::DeferredDeletes(deferred_delete_dir_)) {
      pending_deletes_[path] = {std::chrono::steady_clock::now()};
    }
  }
  committer_->Start();
  background_ = std::thread([this] {
    storage::NameThisThread("taskfs-deletes");
    BackgroundLoop();
  });
  history_warmer_ = std::make_unique<storage::HistoryWarmer>(store_);
  return Status::OK();
}

void TaskFilesystem::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  history_warmer_.reset();  // stops between two commits, what it indexed kept
  if (background_.joinable()) background_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& [path, node] : nodes_) {
      if (node->dirty) SaveNode(*node);
    }
    CommitDuePendingDeletes(/*all=*/true);
  }
  if (committer_) {
    if (Status st = committer_->Stop(); !st.ok()) LogError(st.ToString());
  }
  if (Status st = store_->SaveMtimes(); !st.ok()) LogWarning(st.ToString());
}

bool TaskFilesystem::CommitEverything(std::chrono::milliseconds timeout) {
  uint64_t last;
  {
    std::lock_guard lock(mu_);
    if (!committer_) return true;
    CommitDuePendingDeletes(/*all=*/true);
    last = committer_->last_seq();
  }
  return committer_->WaitCommitted(last, timeout);
}

bool TaskFilesystem::WaitForCommits(std::chrono::milliseconds timeout) {
  return !committer_ || committer_->WaitCommitted(committer_->last_seq(), timeout);
}

storage::Committer::Stats TaskFilesystem::CommitStats() const {
  return committer_ ? committer_->stats() : storage::Committer::Stats{};
}

void TaskFilesystem::OnCommitted(uint64_t seq, const storage::CommitOutcome& outcome) {
  {
    std::lock_guard lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      it = it->second.seq <= seq ? pending_.erase(it) : std::next(it);
    }
    if (!outcome.merged_with_others && outcome.snapshot) shown_ = outcome.snapshot;
    if (error_recorded_) {  // a commit worked again: the last error is over
      std::remove(last_error_file_.c_str());
      error_recorded_ = false;
    }
  }
  // Merged with another process's changes: the background thread shows them.
  if (outcome.merged_with_others) cv_.notify_all();
}

void TaskFilesystem::SetInvalidator(std::function<void(const std::vector<std::string>&)> fn) {
  std::lock_guard lock(mu_);
  invalidate_ = std::move(fn);
}

Result<std::shared_ptr<const std::string>> TaskFilesystem::SavedContent(
    const std::string& path, const Snapshot& snap) const {
  if (auto it = pending_.find(path); it != pending_.end()) return it->second.content;
  return snap.ContentAt(path);
}

int TaskFilesystem::ReadFailed(const Status& st) const {
  LogError(st.ToString());
  return -ToErrno(st);
}

bool TaskFilesystem::HasSaved(const std::string& path, const Snapshot& snap) const {
  if (auto it = pending_.find(path); it != pending_.end()) return it->second.content != nullptr;
  return snap.FindFile(path) != nullptr;
}

bool TaskFilesystem::HeldInMemory(const std::string& path) const {
  return nodes_.count(path) || drafts_.Find(path) || pending_.count(path);
}

int64_t TaskFilesystem::TaskMtime(const std::string& path, const Snapshot& snap) const {
  if (auto it = nodes_.find(path); it != nodes_.end()) return it->second->mtime;
  if (const Draft* d = drafts_.Find(path)) return d->mtime;
  if (auto p = pending_.find(path); p != pending_.end()) return p->second.mtime;
  const storage::FileEntry* fe = snap.FindFile(path);
  return fe ? fe->mtime : 0;
}

bool TaskFilesystem::TaskExists(const std::string& path, const Snapshot& snap) const {
  if (nodes_.count(path) || drafts_.Find(path)) return true;
  return !pending_deletes_.count(path) && HasSaved(path, snap);
}

Result<std::shared_ptr<const std::string>> TaskFilesystem::TaskContent(const std::string& path,
                                                                       const Snapshot& snap) const {
  if (auto it = nodes_.find(path); it != nodes_.end()) {
    return std::make_shared<const std::string>(it->second->content);
  }
  if (const Draft* d = drafts_.Find(path)) return d->content;
  if (pending_deletes_.count(path)) return std::shared_ptr<const std::string>();
  return SavedContent(path, snap);
}

bool TaskFilesystem::IsDir(const std::string& path, const Snapshot& snap) const {
  if (snap.IsDir(path) || drafts_.HoldsFolder(path)) return true;
  // A folder whose first task is saved and not yet committed.
  const std::string prefix = path + "/";
  for (auto it = pending_.lower_bound(prefix);
       it != pending_.end() && it->first.starts_with(prefix); ++it) {
    if (it->second.content) return true;
  }
  struct stat st;
  return scratch_.Lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

TaskFilesystem::Kind TaskFilesystem::Classify(const std::string& path, const Snapshot& snap) const {
  if (path.empty()) return Kind::kDir;
  if (IsTaskPath(path) && TaskExists(path, snap)) return Kind::kTask;
  if (!IsTaskPath(path) && snap.FindFile(path)) return Kind::kTreeFile;
  if (IsDir(path, snap)) return Kind::kDir;
  struct stat st;
  if (scratch_.Lstat(path, &st) == 0) return Kind::kScratch;
  return Kind::kNone;
}

void TaskFilesystem::FillTaskStat(struct stat* st, const std::string& path, size_t size,
                                  int64_t mtime, bool read_only) const {
  *st = {};
  st->st_mode = S_IFREG | kTaskMode;
  st->st_nlink = 1;
  st->st_uid = uid_;
  st->st_gid = gid_;
  st->st_size = static_cast<off_t>(size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = mtime;
  ApplyAttributes(path, st);
  if (read_only) st->st_mode &= ~mode_t{0222};
}

size_t TaskFilesystem::CountSubfolders(const std::string& path, const Snapshot& snap) const {
  std::set<std::string> folders;
  const std::string prefix = path.empty() ? "" : path + "/";
  for (const std::string& name : snap.ListFolders(path)) folders.insert(name);
  for (const std::string& name : drafts_.ListDir(path)) {
    if (drafts_.HoldsFolder(prefix + name)) folders.insert(name);
  }
  // The local folder's own link count says whether it holds folders: most often not, and then
  // one fstatat spares listing it on every lookup (the kernel asks after each change in it).
  struct stat local;
  if (scratch_.Lstat(path, &local) == 0 && S_ISDIR(local.st_mode) && local.st_nlink > 2) {
    for (const ScratchDir::Entry& e : scratch_.List(path)) {
      if (e.is_folder) folders.insert(e.name);
    }
  }
  return folders.size();
}

void TaskFilesystem::FillDirStat(struct stat* st, const std::string& path,
                                 const Snapshot& snap) const {
  *st = {};
  st->st_mode = S_IFDIR | kFolderMode;
  st->st_nlink = 2 + CountSubfolders(path, snap);
  st->st_uid = uid_;
  st->st_gid = gid_;
  st->st_size = 4096;
  st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = snap.commit_time();
  ApplyAttributes(path, st);
}

int TaskFilesystem::GetAttr(const std::string& path, struct stat* st, Handle* h) {
  // Every lookup comes here first: a name no file can have is ENAMETOOLONG, not ENOENT.
  if (!h && LongestNameIn(path) > storage::kMaxNameBytes) return -ENAMETOOLONG;
  if (!h && IsInfoPath(path)) return InfoGetAttr(path, st);
  if (h && h->kind == Handle::Kind::kScratch) return ::fstat(h->fd, st) == 0 ? 0 : -errno;
  std::unique_lock lock(mu_);
  if (h && h->node) {
    FillTaskStat(st, h->node->path, h->node->content.size(), h->node->mtime);
    return 0;
  }
  if (h && h->content) {
    FillTaskStat(st, h->path, h->content->size(), h->mtime, h->kind == Handle::Kind::kTreeFile);
    return 0;
  }
  auto snap = store_->snapshot();
  switch (Classify(path, *snap)) {
    case Kind::kTask:
      if (HeldInMemory(path)) {
        auto content = TaskContent(path, *snap);  // in memory: no I/O
        if (!content.ok() || !*content) return -EIO;
        FillTaskStat(st, path, (*content)->size(), TaskMtime(path, *snap));
        return 0;
      }
      return StatCommitted(lock, path, snap, /*read_only=*/false, st);
    case Kind::kTreeFile:
      return StatCommitted(lock, path, snap, /*read_only=*/true, st);
    case Kind::kDir:
      FillDirStat(st, path, *snap);
      return 0;
    case Kind::kScratch:
      return scratch_.Lstat(path, st);
    case Kind::kNone:
      return -ENOENT;
  }
  return -EIO;
}

int TaskFilesystem::StatCommitted(std::unique_lock<std::mutex>& lock, const std::string& path,
                                  const storage::SnapshotPtr& snap, bool read_only,
                                  struct stat* st) const {
  const storage::FileEntry entry = *snap->FindFile(path);
  lock.unlock();  // the size may come from git (disk I/O): readers must not wait for it
  auto size = snap->Size(path, entry);
  lock.lock();
  if (!size.ok()) return ReadFailed(size.status());
  FillTaskStat(st, path, *size, entry.mtime, read_only);
  return 0;
}

int TaskFilesystem::ReadDir(const std::string& path, std::vector<std::string>* names) {
  if (path == kInfoDir) {
    *names = {"status"};
    return 0;
  }
  if (IsInfoPath(path)) return -ENOENT;
  std::lock_guard lock(mu_);
  int rc = ListLocked(path, *store_->snapshot(), names);
  if (rc == 0 && path.empty() &&
      std::find(names->begin(), names->end(), kInfoDir) == names->end()) {
    names->insert(std::upper_bound(names->begin(), names->end(), kInfoDir), kInfoDir);
  }
  return rc;
}

int TaskFilesystem::ListLocked(const std::string& path, const Snapshot& snap_ref,
                               std::vector<std::string>* names) const {
  const Snapshot* snap = &snap_ref;
  Kind kind = Classify(path, *snap);
  if (kind == Kind::kNone) return -ENOENT;
  if (kind != Kind::kDir) return -ENOTDIR;
  const std::string prefix = path.empty() ? "" : path + "/";
  std::set<std::string> all;
  for (std::string& name : snap->List(path)) {
    const std::string full = prefix + name;
    auto p = pending_.find(full);
    const bool deleted =
        pending_deletes_.count(full) || (p != pending_.end() && !p->second.content);
    if (!deleted || snap->IsDir(full)) all.insert(std::move(name));
  }
  // Saves not yet committed: new tasks, and the first task of a new folder.
  for (auto it = pending_.lower_bound(prefix);
       it != pending_.end() && it->first.starts_with(prefix); ++it) {
    if (!it->second.content || pending_deletes_.count(it->first)) continue;
    const std::string rest = it->first.substr(prefix.size());
    all.insert(rest.substr(0, rest.find('/')));
  }
  for (std::string& name : drafts_.ListDir(path)) all.insert(std::move(name));
  for (const auto& [node_path, node] : nodes_) {
    if (ParentOf(node_path) == path) all.insert(node_path.substr(prefix.size()));
  }
  for (ScratchDir::Entry& e : scratch_.List(path)) {
    if (!IsHiddenUnlinked(e.name)) all.insert(std::move(e.name));
  }
  names->assign(all.begin(), all.end());
  return 0;
}

int TaskFilesystem::StatFs(struct statvfs* st) {
  if (::statvfs(store_->local_dir().c_str(), st) != 0) return -errno;
  st->f_namemax = storage::kMaxNameBytes;
  return 0;
}

std::vector<std::string> TaskFilesystem::Refresh() {
  std::lock_guard lock(mu_);
  auto snap = store_->Refresh();
  if (!snap.ok()) {
    RecordError(snap.status().ToString());
    return {};
  }
  if (*snap == shown_) return {};
  std::set<std::string> paths;
  for (const std::string& p : Snapshot::ChangedPaths(*shown_, **snap)) {
    paths.insert(p);
    for (std::string dir = ParentOf(p);; dir = ParentOf(dir)) {
      paths.insert(dir);
      if (dir.empty()) break;
    }
  }
  shown_ = *snap;
  return {paths.begin(), paths.end()};
}

void TaskFilesystem::RecordError(const std::string& message) {
  LogError(message);
  error_recorded_ = true;
  last_error_ = message;
  std::ofstream out(last_error_file_, std::ios::trunc);
  out << std::time(nullptr) << ' ' << message << '\n';
}

void TaskFilesystem::TrimMemorySoon() {
  // No wake-up: the caller's buffers are freed after it returns; the loop's next tick (at most
  // kRetryInterval away) comes after that.
  std::lock_guard lock(mu_);
  trim_due_ = true;
}

void TaskFilesystem::BackgroundLoop() {
  std::unique_lock lock(mu_);
  auto next_retry = std::chrono::steady_clock::now() + kRetryInterval;
  while (!stopping_) {
    auto wake = next_retry;
    for (const auto& [path, pd] : pending_deletes_) wake = std::min(wake, pd.due);
    cv_.wait_until(lock, wake);
    if (stopping_) break;
    if (trim_due_) {
      trim_due_ = false;
      lock.unlock();
      storage::ReleaseIdleMemory(*store_);  // the packs read since, the heap's free pages
      lock.lock();
    }
    CommitDuePendingDeletes(/*all=*/false);
    if (std::chrono::steady_clock::now() >= next_retry) {
      next_retry = std::chrono::steady_clock::now() + kRetryInterval;
      lock.unlock();
      store_->ReleaseRemovedPacksIfAnyWentAway();  // merged by a sync or git gc: lists a folder
      const std::string commit = store_->snapshot()->commit_id();
      lock.lock();
      if (commit != commit_at_last_trim_check_) {
        commit_at_last_trim_check_ = commit;
        trim_due_ = true;  // at the next tick, when the kernel's caches show the new snapshot
      }
      // Saves that failed to commit (disk full, store locked) are retried here.
      for (auto& [path, node] : nodes_) {
        if (node->dirty && node->failed) SaveNode(*node);
      }
      std::vector<std::pair<std::string, std::string>> retry;
      for (const auto& [path, d] : drafts_.all()) {
        if (!d.content->empty() && storage::ValidateTask(*d.content).ok() && !nodes_.count(path)) {
          retry.emplace_back(path, *d.content);
        }
      }
      for (const auto& [path, content] : retry) {
        auto saved = SavedContent(path, *store_->snapshot());
        if (!saved.ok()) {
          LogWarning("retrying the draft " + path + ": " + saved.status().ToString());
          continue;
        }
        SaveTask(path, content, *saved ? std::optional<std::string>(**saved) : std::nullopt);
      }
    }
    if (shown_ != store_->snapshot() && invalidate_) {
      // Our own commit was merged with another process's: show theirs too.
      auto invalidate = invalidate_;
      lock.unlock();
      auto paths = Refresh();
      if (!paths.empty()) invalidate(paths);
      lock.lock();
    }
  }
}

}  // namespace taskfs::fusefs
