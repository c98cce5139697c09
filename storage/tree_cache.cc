#include "storage/tree_cache.h"

#include <cstdio>
#include <cstring>

#include "storage/git_handles.h"
#include "storage/task_limits.h"

namespace taskfs::storage {
namespace {

std::string SortKey(const std::string& name, uint32_t mode) {
  return mode == GIT_FILEMODE_TREE ? name + "/" : name;
}

void AppendMode(std::string* out, uint32_t mode) {
  switch (mode) {
    case GIT_FILEMODE_BLOB:
      out->append("100644 ");
      return;
    case GIT_FILEMODE_TREE:
      out->append("40000 ");
      return;
    default:
      char octal[16];
      out->append(octal, std::snprintf(octal, sizeof octal, "%o ", mode));
  }
}

}  // namespace

Result<TreeCache::Folder*> TreeCache::Load(git_repository* repo, const std::string& dir) {
  if (auto it = folders_.find(dir); it != folders_.end()) return it->second.get();
  auto folder = std::make_unique<Folder>();
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
    const size_t count = git_tree_entrycount(source.get());
    for (size_t i = 0; i < count; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(source.get(), i);
      Entry entry{git_tree_entry_name(e), *git_tree_entry_id(e),
                  static_cast<uint32_t>(git_tree_entry_filemode_raw(e))};
      // A tree lists its entries in this order already: each goes in at the end.
      folder->emplace_hint(folder->end(), SortKey(entry.name, entry.mode), std::move(entry));
    }
  }
  Folder* raw = folder.get();
  folders_[dir] = std::move(folder);
  return raw;
}

Status TreeCache::Set(git_repository* repo, const std::string& dir, const std::string& name,
                      const git_oid& id, uint32_t mode) {
  if (Status st = CheckEntryName(name); !st.ok()) {
    return Status::InvalidArgument("cannot store '" + EscapeForDisplay(name) + "': " +
                                   st.message());
  }
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  // A name is a file or a folder, never both.
  (*folder)->erase(SortKey(name, mode == GIT_FILEMODE_TREE ? GIT_FILEMODE_BLOB : GIT_FILEMODE_TREE));
  (*folder)->insert_or_assign(SortKey(name, mode), Entry{name, id, mode});
  return Status::OK();
}

Status TreeCache::Remove(git_repository* repo, const std::string& dir, const std::string& name) {
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  (*folder)->erase(name);
  (*folder)->erase(name + "/");
  return Status::OK();
}

Result<bool> TreeCache::Empty(git_repository* repo, const std::string& dir) {
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  return (*folder)->empty();
}

Status TreeCache::Write(git_repository* repo, ObjectBuffer* objects, const std::string& dir,
                        git_oid* out) {
  auto folder = Load(repo, dir);
  if (!folder.ok()) return folder.status();
  // gitformat-tree: for each entry, its mode in octal, a space, its name, a NUL, its raw id.
  std::string tree;
  tree.reserve((*folder)->size() * 64);
  for (const auto& [key, e] : **folder) {
    AppendMode(&tree, e.mode);
    tree.append(e.name);
    tree.push_back('\0');
    tree.append(reinterpret_cast<const char*>(e.id.id), GIT_OID_RAWSZ);
  }
  ObjectId id;
  TASKFS_RETURN_IF_ERROR(objects->Add(GIT_OBJECT_TREE, std::move(tree), &id));
  std::memcpy(out->id, id.data(), id.size());
  return Status::OK();
}

}  // namespace taskfs::storage
