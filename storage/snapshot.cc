#include "storage/snapshot.h"

#include <algorithm>
#include <set>

#include "storage/blob_reader.h"

namespace taskfs::storage {
namespace {

// Beyond this many overlaid changes a derived snapshot is flattened into a new base layer.
constexpr size_t kMaxOverlay = 256;

template <class Fn>
void ForEachParentDir(std::string_view path, Fn&& fn) {
  fn(std::string());
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    fn(std::string(path.substr(0, slash)));
  }
}

Status NotLoaded(const std::string& path) {
  return Status::IOError("the bytes of " + path + " are not loaded and no object database is open");
}

}  // namespace

Snapshot::Snapshot(std::string commit_id, int64_t commit_time, FileMap files,
                   std::shared_ptr<const BlobReader> blobs)
    : commit_id_(std::move(commit_id)), commit_time_(commit_time), blobs_(std::move(blobs)) {
  auto layer = std::make_shared<Layer>();
  layer->files = std::move(files);
  for (const auto& [path, entry] : layer->files) {
    ForEachParentDir(path, [&](std::string dir) { ++layer->dir_file_counts[std::move(dir)]; });
  }
  base_ = std::move(layer);
}

SnapshotPtr Snapshot::Derive(const SnapshotPtr& parent, std::string commit_id, int64_t commit_time,
                             const ChangeMap& changes) {
  ChangeMap overlay = parent->overlay_;
  for (const auto& [path, entry] : changes) overlay[path] = entry;
  if (overlay.size() > kMaxOverlay) {
    FileMap files = parent->Materialize();
    for (const auto& [path, entry] : changes) {
      if (entry) {
        files[path] = *entry;
      } else {
        files.erase(path);
      }
    }
    return std::make_shared<const Snapshot>(std::move(commit_id), commit_time, std::move(files),
                                            parent->blobs_);
  }
  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->commit_id_ = std::move(commit_id);
  snap->commit_time_ = commit_time;
  snap->base_ = parent->base_;
  snap->blobs_ = parent->blobs_;
  snap->overlay_ = std::move(overlay);
  for (const auto& [path, entry] : snap->overlay_) {
    const int delta = (entry ? 1 : 0) - (snap->base_->files.count(path) ? 1 : 0);
    if (delta == 0) continue;
    ForEachParentDir(path, [&](std::string dir) { snap->dir_delta_[std::move(dir)] += delta; });
  }
  return snap;
}

const FileEntry* Snapshot::FindFile(std::string_view path) const {
  if (auto it = overlay_.find(path); it != overlay_.end()) {
    return it->second ? &*it->second : nullptr;
  }
  auto it = base_->files.find(path);
  return it == base_->files.end() ? nullptr : &it->second;
}

int Snapshot::DirFileCount(std::string_view dir) const {
  int count = 0;
  if (auto it = base_->dir_file_counts.find(dir); it != base_->dir_file_counts.end()) {
    count += it->second;
  }
  if (auto it = dir_delta_.find(dir); it != dir_delta_.end()) count += it->second;
  return count;
}

bool Snapshot::IsDir(std::string_view path) const { return path.empty() || DirFileCount(path) > 0; }

std::vector<std::string> Snapshot::List(std::string_view dir) const {
  std::set<std::string> names;
  const std::string prefix = dir.empty() ? "" : std::string(dir) + "/";
  const auto& files = base_->files;
  for (auto it = files.lower_bound(prefix); it != files.end() && it->first.starts_with(prefix);) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    size_t slash = rest.find('/');
    names.emplace(rest.substr(0, slash));
    if (slash == std::string_view::npos) {
      ++it;
    } else {  // skip the whole folder: '0' is the character after '/'
      it = files.lower_bound(prefix + std::string(rest.substr(0, slash)) + "0");
    }
  }
  for (auto it = overlay_.lower_bound(prefix);
       it != overlay_.end() && it->first.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    size_t slash = rest.find('/');
    std::string name(rest.substr(0, slash));
    const bool present =
        slash == std::string_view::npos ? it->second.has_value() : IsDir(prefix + name);
    if (present) {
      names.insert(name);
    } else {
      names.erase(name);
    }
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> Snapshot::ListFolders(std::string_view dir) const {
  std::set<std::string> names;
  const std::string prefix = dir.empty() ? "" : std::string(dir) + "/";
  auto collect = [&](const std::map<std::string, int, std::less<>>& counts) {
    for (auto it = counts.lower_bound(prefix); it != counts.end() && it->first.starts_with(prefix);
         ++it) {
      const std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (!rest.empty() && rest.find('/') == std::string_view::npos && IsDir(it->first)) {
        names.emplace(rest);
      }
    }
  };
  collect(base_->dir_file_counts);
  collect(dir_delta_);
  return {names.begin(), names.end()};
}

size_t Snapshot::file_count() const { return static_cast<size_t>(DirFileCount("")); }

Result<std::shared_ptr<const std::string>> Snapshot::Content(const std::string& path,
                                                             const FileEntry& entry) const {
  if (entry.content) return entry.content;
  if (!blobs_) return NotLoaded(path);
  return blobs_->Read(entry.blob, path);
}

Result<std::shared_ptr<const std::string>> Snapshot::ContentAt(const std::string& path) const {
  const FileEntry* entry = FindFile(path);
  if (!entry) return std::shared_ptr<const std::string>();
  return Content(path, *entry);
}

Result<uint64_t> Snapshot::Size(const std::string& path, const FileEntry& entry) const {
  if (entry.content) return static_cast<uint64_t>(entry.content->size());
  if (!blobs_) return NotLoaded(path);
  return blobs_->Size(entry.blob, path);
}

void Snapshot::ForEachFile(
    const std::function<void(const std::string&, const FileEntry&)>& fn) const {
  auto b = base_->files.begin();
  auto o = overlay_.begin();
  while (b != base_->files.end() || o != overlay_.end()) {
    if (o == overlay_.end() || (b != base_->files.end() && b->first < o->first)) {
      fn(b->first, b->second);
      ++b;
    } else {
      if (b != base_->files.end() && b->first == o->first) ++b;
      if (o->second) fn(o->first, *o->second);
      ++o;
    }
  }
}

Snapshot::FileMap Snapshot::Materialize() const {
  if (overlay_.empty()) return base_->files;
  FileMap files;
  ForEachFile([&](const std::string& path, const FileEntry& fe) {
    files.emplace_hint(files.end(), path, fe);
  });
  return files;
}

std::vector<std::string> Snapshot::ChangedPaths(const Snapshot& a, const Snapshot& b) {
  std::vector<std::string> changed;
  auto differs = [](const FileEntry* x, const FileEntry* y) {
    return (x == nullptr) != (y == nullptr) || (x && x->blob != y->blob);
  };
  if (a.base_ == b.base_) {
    std::set<std::string> candidates;
    for (const auto& [path, e] : a.overlay_) candidates.insert(path);
    for (const auto& [path, e] : b.overlay_) candidates.insert(path);
    for (const auto& path : candidates) {
      if (differs(a.FindFile(path), b.FindFile(path))) changed.push_back(path);
    }
    return changed;
  }
  std::set<std::string> seen;
  a.ForEachFile([&](const std::string& path, const FileEntry& fe) {
    if (differs(&fe, b.FindFile(path))) changed.push_back(path);
  });
  b.ForEachFile([&](const std::string& path, const FileEntry&) {
    if (!a.FindFile(path)) changed.push_back(path);
  });
  std::sort(changed.begin(), changed.end());
  return changed;
}

}  // namespace taskfs::storage
