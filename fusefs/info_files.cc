// The read-only folder .taskfs/ at the mount's root (see task_filesystem.h).
#include <fcntl.h>

#include <cerrno>
#include <ctime>

#include "fusefs/task_filesystem.h"
#include "storage/task_limits.h"

namespace taskfs::fusefs {

bool IsInfoPath(const std::string& path) {
  return path == kInfoDir || path.starts_with(std::string(kInfoDir) + "/");
}

void TaskFilesystem::SetStatusText(std::function<std::string()> fn) {
  std::lock_guard lock(mu_);
  status_text_ = std::move(fn);
}

int TaskFilesystem::InfoGetAttr(const std::string& path, struct stat* st) {
  if (path == kInfoDir) {
    *st = {};
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_uid = uid_;
    st->st_gid = gid_;
    st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = std::time(nullptr);
    return 0;
  }
  if (path != kStatusFile) return -ENOENT;
  // The size is that of the text now; reads use direct I/O, so a text that grows by the time it
  // is opened is still read whole.
  std::unique_ptr<Handle> h;
  if (int rc = OpenInfo(path, O_RDONLY, &h); rc != 0) return rc;
  FillTaskStat(st, "", h->content->size(), h->mtime, /*read_only=*/true);
  return 0;
}

int TaskFilesystem::OpenInfo(const std::string& path, int flags, std::unique_ptr<Handle>* out) {
  if (path == kInfoDir) return -EISDIR;
  if (path != kStatusFile) return -ENOENT;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return -EROFS;
  std::function<std::string()> text;
  std::string unsaved, drafts;
  {
    std::lock_guard lock(mu_);
    text = status_text_;
    // Saves the journal could not take (a full disk): held in memory and retried.
    size_t held = 0;
    for (const auto& [p, node] : nodes_) held += node->dirty && node->failed;
    if (held) {
      unsaved =
          "unsaved:  " + std::to_string(held) +
          " save(s) held in memory, retried every 5 s: " + storage::EscapeForDisplay(last_error_) +
          "\n";
    }
    drafts = "drafts:   " + std::to_string(drafts_.all().size()) +
             (drafts_.all().empty() ? "\n" : " (saved but not committed; fix or delete them)\n");
    for (const auto& [p, d] : drafts_.all()) {
      drafts +=
          "  " + storage::EscapeForDisplay(p) + ": " + storage::EscapeForDisplay(d.reason) + "\n";
    }
  }
  const storage::Committer::Stats commits = CommitStats();
  std::string journal = "journal:  " + std::to_string(commits.pending) +
                        " save(s) acknowledged and not committed yet\n";
  if (!commits.last_failure.empty()) {
    journal +=
        "  last commit failure (retrying): " + storage::EscapeForDisplay(commits.last_failure) +
        "\n";
  }
  auto h = std::make_unique<Handle>();
  h->kind = Handle::Kind::kTreeFile;
  h->generated = true;
  h->content = std::make_shared<const std::string>((text ? text() : "sync:     not available\n") +
                                                   journal + unsaved + drafts);
  h->mtime = std::time(nullptr);
  *out = std::move(h);
  return 0;
}

}  // namespace taskfs::fusefs
