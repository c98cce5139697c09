#include "storage/tree_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "storage/git_handles.h"
#include "storage/task_limits.h"

namespace taskfs::storage {
namespace {

std::string SortKey(const std::string& name, uint32_t mode) {
  return mode == GIT_FILEMODE_TREE ? name + "/" : name;
}

// gitformat-tree: an entry is its mode in octal, a space, its name, a NUL, its raw id.
void AppendEntry(std::string* out, const std::string& name, const git_oid& id, uint32_t mode) {
  switch (mode) {
    case GIT_FILEMODE_BLOB:
      out->append("100644 ");
      break;
    case GIT_FILEMODE_TREE:
      out->append("40000 ");
      break;
    default:
      char octal[16];
      out->append(octal, std::snprintf(octal, sizeof octal, "%o ", mode));
  }
  out->append(name);
  out->push_back('\0');
  out->append(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
}

// The name of the entry at `start` in a folder's tree bytes, and whether it is a folder.
std::pair<std::string_view, bool> NameAt(const std::string& bytes, uint32_t start) {
  const char* entry = bytes.data() + start;
  const char* space = static_cast<const char*>(std::memchr(entry, ' ', bytes.size() - start));
  const char* nul =
      static_cast<const char*>(std::memchr(space, '\0', bytes.data() + bytes.size() - space));
  const bool is_tree = space - entry == 5 && std::memcmp(entry, "40000", 5) == 0;
  return {std::string_view(space + 1, nul - space - 1), is_tree};
}

// <0, 0 or >0 as the sort key of entry `name` (followed by '/' if a folder) compares with `key`,
// byte by byte as unsigned chars (git's order).
int CompareSortKey(std::string_view name, bool is_tree, std::string_view key) {
  const size_t common = std::min(name.size(), key.size());
  if (int c = name.substr(0, common).compare(key.substr(0, common)); c != 0) return c;
  if (name.size() > common) return 1;  // `key` is a prefix of the name
  const std::string_view key_rest = key.substr(common);
  if (!is_tree) return key_rest.empty() ? 0 : -1;
  if (key_rest.empty()) return 1;  // the name + '/' is longer than `key`
  if (key_rest[0] != '/') return static_cast<unsigned char>(key_rest[0]) > '/' ? -1 : 1;
  return key_rest.size() == 1 ? 0 : -1;
}

}  // namespace

size_t TreeCache::Folder::LowerBound(std::string_view key) const {
  size_t lo = 0, hi = starts.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const auto [name, is_tree] = NameAt(bytes, starts[mid]);
    if (CompareSortKey(name, is_tree, key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool TreeCache::Folder::HasKeyAt(size_t i, std::string_view key) const {
  if (i >= starts.size()) return false;
  const auto [name, is_tree] = NameAt(bytes, starts[i]);
  return CompareSortKey(name, is_tree, key) == 0;
}

void TreeCache::Folder::Insert(size_t i, const std::string& entry) {
  const uint32_t at = i < starts.size() ? starts[i] : static_cast<uint32_t>(bytes.size());
  bytes.insert(at, entry);
  starts.insert(starts.begin() + static_cast<ptrdiff_t>(i), at);
  for (size_t j = i + 1; j < starts.size(); ++j) starts[j] += static_cast<uint32_t>(entry.size());
}

void TreeCache::Folder::Erase(size_t i) {
  const uint32_t at = starts[i];
  const auto size = static_cast<uint32_t>(End(i) - at);
  bytes.erase(at, size);
  starts.erase(starts.begin() + static_cast<ptrdiff_t>(i));
  for (size_t j = i; j < starts.size(); ++j) starts[j] -= size;
}

void TreeCache::Folder::EraseKey(std::string_view key) {
  if (const size_t i = LowerBound(key); HasKeyAt(i, key)) Erase(i);
}

Result<TreeCache::Folder*> TreeCache::Load(git_repository* repo, const std::string& dir) {
  if (auto it = folders_.find(dir); it != folders_.end()) {
    it->second->last_use = ++uses_;
    return it->second.get();
  }
  auto folder = std::make_unique<Folder>();
  folder->last_use = ++uses_;
  TreePtr source;
  if (!commit_id_.empty()) {
    git_tree* root = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_tree_lookup(&root, repo, &tree_id_), "reading tree"));
    TreePtr root_ptr(root);
    if (dir.empty()) {
      source = std::move(root_ptr);
    } else {
      git_tree_entry* entry = nullptr;
      if (git_tree_entry_bypath(&entry, root, dir.c_str()) == 0) {
        TreeEntryPtr entry_ptr(entry);
        git_tree* sub = nullptr;
        if (git_tree_entry_type(entry) == GIT_OBJECT_TREE &&
            git_tree_lookup(&sub, repo, git_tree_entry_id(entry)) == 0) {
          source.reset(sub);
        }
      }
    }
  }
  if (source) {
    // A tree lists its entries in git's order already: each goes at the end.
    const size_t count = git_tree_entrycount(source.get());
    folder->starts.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(source.get(), i);
      folder->starts.push_back(static_cast<uint32_t>(folder->bytes.size()));
      AppendEntry(&folder->bytes, git_tree_entry_name(e), *git_tree_entry_id(e),
                  static_cast<uint32_t>(git_tree_entry_filemode_raw(e)));
    }
  }
  Folder* raw = folder.get();
  folders_[dir] = std::move(folder);
  return raw;
}

void TreeCache::Advance(std::string commit_id, const git_oid& tree_id) {
  commit_id_ = std::move(commit_id);
  tree_id_ = tree_id;
  DropLeastRecentlyUsed();
}

void TreeCache::DropLeastRecentlyUsed() {
  size_t kept = 0;
  std::vector<std::pair<uint64_t, std::string>> by_use;
  for (const auto& [dir, folder] : folders_) {
    if (dir.empty()) continue;  // the root: on every commit's path
    kept += folder->footprint();
    by_use.emplace_back(folder->last_use, dir);
  }
  if (kept <= kFolderBudget) return;
  std::sort(by_use.begin(), by_use.end());
  for (const auto& [use, dir] : by_use) {
    if (kept <= kFolderBudget) break;
    auto it = folders_.find(dir);
    kept -= it->second->footprint();
    folders_.erase(it);
  }
}

size_t TreeCache::footprint() const {
  size_t total = 0;
  for (const auto& [dir, folder] : folders_) total += folder->footprint();
  return total;
}

Status TreeCache::Set(git_repository* repo, const std::string& dir, const std::string& name,
                      const git_oid& id, uint32_t mode) {
  if (Status st = CheckEntryName(name); !st.ok()) {
    return Status::InvalidArgument("cannot store '" + EscapeForDisplay(name) + "': " +
                                   st.message());
  }
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  Folder& f = **folder;
  // A name is a file or a folder, never both.
  f.EraseKey(SortKey(name, mode == GIT_FILEMODE_TREE ? GIT_FILEMODE_BLOB : GIT_FILEMODE_TREE));
  const std::string key = SortKey(name, mode);
  std::string entry;
  AppendEntry(&entry, name, id, mode);
  const size_t i = f.LowerBound(key);
  if (!f.HasKeyAt(i, key)) {
    f.Insert(i, entry);
    return Status::OK();
  }
  if (f.End(i) - f.starts[i] == entry.size()) {
    f.bytes.replace(f.starts[i], entry.size(), entry);  // a new id (the mode's length unchanged)
  } else {
    f.Erase(i);
    f.Insert(i, entry);
  }
  return Status::OK();
}

Status TreeCache::Remove(git_repository* repo, const std::string& dir, const std::string& name) {
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  (*folder)->EraseKey(name);
  (*folder)->EraseKey(name + "/");
  return Status::OK();
}

Result<bool> TreeCache::Empty(git_repository* repo, const std::string& dir) {
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  return (*folder)->starts.empty();
}

Status TreeCache::Write(git_repository* repo, ObjectBuffer* objects, const std::string& dir,
                        git_oid* out) {
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  std::string tree = (*folder)->bytes;
  ObjectId id;
  TASKFS_RETURN_IF_ERROR(objects->Add(GIT_OBJECT_TREE, std::move(tree), &id));
  std::memcpy(out->id, id.data(), id.size());
  return Status::OK();
}

}  // namespace taskfs::storage
