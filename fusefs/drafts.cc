#include "fusefs/drafts.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "storage/file_util.h"
#include "storage/task_name.h"
#include "storage/task_validate.h"

namespace taskfs::fusefs {

namespace fs = std::filesystem;

std::string DraftReason(const std::string& content) {
  if (content.empty()) return "empty file";
  Status st = storage::ValidateTask(content);
  return st.ok() ? "not committed yet" : st.message();
}

Status Drafts::Load() {
  drafts_.clear();
  std::error_code ec;
  if (!fs::exists(root_, ec)) return Status::OK();
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), root_).string();
    // Only tasks are drafts: a temp file a crashed save left (x.yaml.tmp-PID) is not one.
    if (!it->is_regular_file() || !storage::IsTaskPath(rel)) continue;
    auto content = storage::ReadWholeFile(it->path().string());
    if (!content) continue;
    Draft d;
    d.content = std::make_shared<const std::string>(std::move(*content));
    d.reason = DraftReason(*d.content);
    d.mtime = std::chrono::duration_cast<std::chrono::seconds>(
                  it->last_write_time().time_since_epoch() -
                  fs::file_time_type::clock::now().time_since_epoch() +
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    drafts_[rel] = std::move(d);
  }
  if (ec) return Status::FromErrno(ec.value(), "reading drafts in " + root_);
  return Status::OK();
}

const Draft* Drafts::Find(const std::string& path) const {
  auto it = drafts_.find(path);
  return it == drafts_.end() ? nullptr : &it->second;
}

Status Drafts::Put(const std::string& path, const std::string& content, const std::string& reason) {
  const fs::path file = fs::path(root_) / path;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return Status::FromErrno(ec.value(), "saving draft " + path);
  TASKFS_RETURN_IF_ERROR(storage::WriteFileAtomically(file.string(), content, 0600));
  drafts_[path] = Draft{std::make_shared<const std::string>(content), reason, std::time(nullptr)};
  return Status::OK();
}

Status Drafts::Remove(const std::string& path) {
  if (drafts_.erase(path) == 0) return Status::OK();
  fs::path file = fs::path(root_) / path;
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "removing draft " + path);
  }
  // Remove folders left empty, up to the root.
  std::error_code ec;
  for (fs::path dir = file.parent_path(); dir != fs::path(root_) && fs::is_empty(dir, ec);
       dir = dir.parent_path()) {
    fs::remove(dir, ec);
  }
  return Status::OK();
}

std::vector<std::string> Drafts::ListDir(const std::string& dir) const {
  std::vector<std::string> names;
  const std::string prefix = dir.empty() ? "" : dir + "/";
  for (auto it = drafts_.lower_bound(prefix); it != drafts_.end() && it->first.starts_with(prefix);
       ++it) {
    std::string rest = it->first.substr(prefix.size());
    names.push_back(rest.substr(0, rest.find('/')));
  }
  return names;
}

bool Drafts::HoldsFolder(const std::string& dir) const {
  auto it = drafts_.lower_bound(dir + "/");
  return it != drafts_.end() && it->first.starts_with(dir + "/");
}

}  // namespace taskfs::fusefs
