#include "storage/history_index.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <queue>
#include <string_view>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/hex.h"
#include "storage/log.h"

namespace taskfs::storage {
namespace {

// The file: a header line, then per commit a line "<id> <time> <parents> <n>" (parents: ids
// joined by ',', "-" for none) followed by n lines "<kind> <blob> <length> <path>" (kind A, M or
// D; blob "-" when deleted; the length before the path, so a path may hold any byte). Ids are hex.
constexpr std::string_view kHeader = "taskfs history index 2\n";
// How every version's header starts: a file of another version is rebuilt, not a damaged one.
constexpr std::string_view kHeaderStart = "taskfs history index ";

using PathChange = HistoryIndex::PathChange;
using ChangeMap = std::map<std::string, PathChange>;  // by path

// Reads the file's fields, one at a time; any surprise makes the whole file unreadable.
class Reader {
 public:
  explicit Reader(std::string_view text) : rest_(text) {}
  bool AtEnd() const { return rest_.empty(); }
  // The text up to the next `delimiter`, which is consumed.
  bool Field(char delimiter, std::string_view* out) {
    const size_t end = rest_.find(delimiter);
    if (end == std::string_view::npos) return false;
    *out = rest_.substr(0, end);
    rest_.remove_prefix(end + 1);
    return true;
  }
  template <class Int>
  bool Number(char delimiter, Int* out) {
    std::string_view field;
    if (!Field(delimiter, &field)) return false;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), *out);
    return ec == std::errc() && end == field.data() + field.size();
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (rest_.size() < n + 1 || rest_[n] != '\n') return false;
    *out = rest_.substr(0, n);
    rest_.remove_prefix(n + 1);
    return true;
  }

 private:
  std::string_view rest_;
};

bool ParseId(std::string_view hex, ObjectId* id) {
  git_oid oid;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, hex.data(), hex.size()) != 0) {
    return false;
  }
  *id = ToObjectId(oid);
  return true;
}

std::string HexOf(const ObjectId& id) { return Hex(id.data(), id.size()); }

bool ByPath(const PathChange& a, const PathChange& b) { return a.path < b.path; }

// Reads one path's line of a record into `change`.
bool ParseChange(Reader* in, PathChange* change) {
  std::string_view kind, blob, path;
  size_t length = 0;
  if (!in->Field(' ', &kind) || kind.size() != 1 || !in->Field(' ', &blob) ||
      !in->Number(' ', &length) || !in->Bytes(length, &path)) {
    return false;
  }
  change->path = path;
  switch (kind[0]) {
    case 'D':
      change->kind = PathChange::Kind::kDeleted;
      return blob == "-";
    case 'A':
    case 'M':
      change->kind = static_cast<PathChange::Kind>(kind[0]);
      return ParseId(blob, &change->blob);
    default:
      return false;
  }
}

// Adds to `out` the files (under `prefix`) whose entries differ between trees `a` and `b` (either
// may be null: no tree), as changes from a to b. Both trees' entries are walked side by side in
// git's order; subtrees with equal ids are skipped without reading them, and no blob is read.
// (libgit2's tree-to-tree diff reads every subtree.)
Status AddChangedPaths(git_repository* repo, git_tree* a, git_tree* b, const std::string& prefix,
                       ChangeMap* out) {
  auto subtree = [&](const git_tree_entry* e, TreePtr* tree) -> Status {
    if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE) return Status::OK();
    git_tree* raw = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_tree_lookup(&raw, repo, git_tree_entry_id(e)),
                                     "reading folder " + prefix + git_tree_entry_name(e)));
    tree->reset(raw);
    return Status::OK();
  };
  // Entries of one name, `ea` in a and `eb` in b (null where that tree lacks it), that differ.
  auto add = [&](const git_tree_entry* ea, const git_tree_entry* eb) -> Status {
    const std::string path = prefix + git_tree_entry_name(ea ? ea : eb);
    TreePtr ta, tb;
    TASKFS_RETURN_IF_ERROR(subtree(ea, &ta));
    TASKFS_RETURN_IF_ERROR(subtree(eb, &tb));
    const bool file_in_a = ea && !ta, file_in_b = eb && !tb;
    if (file_in_a || file_in_b) {
      PathChange& change = (*out)[path];
      change.path = path;
      change.kind = !file_in_b  ? PathChange::Kind::kDeleted
                    : file_in_a ? PathChange::Kind::kModified
                                : PathChange::Kind::kAdded;
      if (file_in_b) change.blob = ToObjectId(*git_tree_entry_id(eb));
    }
    if (!ta && !tb) return Status::OK();
    return AddChangedPaths(repo, ta.get(), tb.get(), path + "/", out);
  };
  const size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
  for (size_t i = 0, j = 0; i < na || j < nb;) {
    const git_tree_entry* ea = i < na ? git_tree_entry_byindex(a, i) : nullptr;
    const git_tree_entry* eb = j < nb ? git_tree_entry_byindex(b, j) : nullptr;
    const int order = !ea ? 1 : !eb ? -1 : git_tree_entry_cmp(ea, eb);
    if (order < 0) {
      TASKFS_RETURN_IF_ERROR(add(ea, nullptr));
      ++i;
    } else if (order > 0) {
      TASKFS_RETURN_IF_ERROR(add(nullptr, eb));
      ++j;
    } else {
      if (git_tree_entry_filemode(ea) != git_tree_entry_filemode(eb) ||
          !git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb))) {
        TASKFS_RETURN_IF_ERROR(add(ea, eb));
      }
      ++i, ++j;
    }
  }
  return Status::OK();
}

Result<ChangeMap> ChangedPaths(git_repository* repo, git_tree* from, git_tree* to) {
  ChangeMap changes;
  TASKFS_RETURN_IF_ERROR(AddChangedPaths(repo, from, to, "", &changes));
  return changes;
}

// What the index records of `commit`: the paths that differ from every parent's, each as changed
// from the first parent.
Result<HistoryIndex::Commit> Describe(git_repository* repo, git_commit* commit) {
  HistoryIndex::Commit c;  // its parents are added by the caller
  c.id = ToObjectId(*git_commit_id(commit));
  c.time = git_commit_time(commit);
  auto tree = CommitTree(commit);
  if (!tree.ok()) return tree.status();
  std::optional<ChangeMap> changed;
  for (unsigned i = 0; i < git_commit_parentcount(commit); ++i) {
    auto parent_tree = ParentTree(commit, i);
    if (!parent_tree.ok()) return parent_tree.status();
    auto paths = ChangedPaths(repo, parent_tree->get(), tree->get());
    if (!paths.ok()) return paths.status();
    if (!changed) {
      changed = std::move(*paths);
      continue;
    }
    std::erase_if(*changed, [&](const auto& change) { return !paths->contains(change.first); });
  }
  if (!changed) {
    auto all = ChangedPaths(repo, nullptr, tree->get());
    if (!all.ok()) return all.status();
    changed = std::move(*all);
  }
  for (auto& [path, change] : *changed) c.changed.push_back(std::move(change));
  return c;
}

}  // namespace

size_t HistoryIndex::IdHash::operator()(const ObjectId& id) const {
  size_t h;
  std::memcpy(&h, id.data(), sizeof h);  // an object id is already uniformly distributed
  return h;
}

Result<HistoryIndex> HistoryIndex::Update(git_repository* repo, const std::string& file,
                                          const git_oid& head, const std::function<bool()>& stop,
                                          size_t* added_out) {
  HistoryIndex index;
  const Status loaded = index.Load(file);  // keeps what it read before any damage
  if (!loaded.ok()) LogWarning(loaded.message() + "; the rest is read again from git");
  const size_t known = index.commits_.size();
  auto added = index.AddMissing(repo, head, stop);
  if (!added.ok()) return added.status();
  if (added_out) *added_out = *added;
  Status saved = Status::OK();
  if (!loaded.ok() || known == 0) {
    if (*added > 0 || !loaded.ok()) saved = WriteFileAtomically(file, index.Serialize(0));
  } else if (*added > 0) {
    // New records go at the end: a cut-off last record (a crash) loses only that record, and
    // two processes appending the same commits leave duplicates that Load skips.
    saved = AppendToFile(file, index.Serialize(known));
  }
  if (!saved.ok()) {
    LogWarning("could not save the history index (the next log reads those commits again): " +
               saved.message());
  }
  return index;
}

Status HistoryIndex::Load(const std::string& file) {
  const std::optional<std::string> text = ReadWholeFile(file);
  if (!text) return Status::OK();  // none yet
  if (!text->starts_with(kHeader)) {
    if (!text->starts_with(kHeaderStart)) {
      return Status::Corruption(file + " is not a history index");
    }
    LogInfo(file + " was written by another version of taskfs: it is read again from git");
    return Status::OK();
  }
  Reader in(std::string_view(*text).substr(kHeader.size()));
  by_id_.reserve(text->size() / 100);  // a record takes a hundred bytes or more
  while (!in.AtEnd()) {
    Commit c;
    std::string_view id, parents;
    size_t count = 0;
    std::vector<ObjectId> parent_ids;
    bool ok = in.Field(' ', &id) && ParseId(id, &c.id) && in.Number(' ', &c.time) &&
              in.Field(' ', &parents) && in.Number('\n', &count);
    if (ok && parents != "-") {
      for (size_t at = 0; ok && at <= parents.size(); at += GIT_OID_HEXSZ + 1) {
        ObjectId parent;
        ok = ParseId(parents.substr(at, GIT_OID_HEXSZ), &parent) && Find(parent);
        parent_ids.push_back(parent);
      }
    }
    for (size_t i = 0; ok && i < count; ++i) {
      PathChange change;
      ok = ParseChange(&in, &change);
      c.changed.push_back(std::move(change));
    }
    if (!ok || !std::is_sorted(c.changed.begin(), c.changed.end(), ByPath)) {
      return Status::Corruption("the history index " + file + " is unreadable after " +
                                std::to_string(commits_.size()) + " commits");
    }
    if (!Find(c.id)) Add(std::move(c), parent_ids);
  }
  return Status::OK();
}

void HistoryIndex::Add(Commit c, const std::vector<ObjectId>& parent_ids) {
  for (const ObjectId& parent : parent_ids) {
    c.parents.push_back(static_cast<uint32_t>(by_id_.at(parent)));
  }
  by_id_.emplace(c.id, commits_.size());
  commits_.push_back(std::move(c));
}

std::string HistoryIndex::Serialize(size_t from) const {
  std::string out(from == 0 ? kHeader : "");
  for (size_t at = from; at < commits_.size(); ++at) {
    const Commit& c = commits_[at];
    out += HexOf(c.id) + ' ' + std::to_string(c.time) + ' ';
    for (size_t i = 0; i < c.parents.size(); ++i) {
      out += (i ? "," : "") + HexOf(commits_[c.parents[i]].id);
    }
    if (c.parents.empty()) out += '-';
    out += ' ' + std::to_string(c.changed.size()) + '\n';
    for (const PathChange& change : c.changed) {
      out += static_cast<char>(change.kind);
      out += ' ';
      out += change.kind == PathChange::Kind::kDeleted ? "-" : HexOf(change.blob);
      out += ' ' + std::to_string(change.path.size()) + ' ' + change.path + '\n';
    }
  }
  return out;
}

const HistoryIndex::Commit* HistoryIndex::Find(const ObjectId& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &commits_[it->second];
}

Result<size_t> HistoryIndex::AddMissing(git_repository* repo, const git_oid& head,
                                        const std::function<bool()>& stop) {
  // Depth first from the head, stopping at indexed commits (their ancestors are indexed too);
  // a commit is added once its parents are, so that the index stays closed under ancestry (and
  // so is what was added when `stop` cuts it short).
  std::vector<std::pair<ObjectId, bool>> stack = {{ToObjectId(head), false}};
  size_t added = 0;
  while (!stack.empty() && !(stop && stop())) {
    auto [id, parents_done] = stack.back();
    if (Find(id)) {
      stack.pop_back();
      continue;
    }
    const git_oid oid = ToGitOid(id);
    git_commit* raw = nullptr;
    TASKFS_RETURN_IF_ERROR(
        GitStatus(git_commit_lookup(&raw, repo, &oid), "reading commit " + HexOf(id)));
    CommitPtr commit(raw);
    if (!parents_done) {
      stack.back().second = true;
      for (unsigned i = 0; i < git_commit_parentcount(raw); ++i) {
        const ObjectId parent = ToObjectId(*git_commit_parent_id(raw, i));
        if (!Find(parent)) stack.emplace_back(parent, false);
      }
      continue;
    }
    stack.pop_back();
    auto described = Describe(repo, raw);
    if (!described.ok()) return described.status();
    std::vector<ObjectId> parent_ids;
    for (unsigned i = 0; i < git_commit_parentcount(raw); ++i) {
      parent_ids.push_back(ToObjectId(*git_commit_parent_id(raw, i)));
    }
    Add(std::move(*described), parent_ids);
    ++added;
  }
  return added;
}

size_t HistoryIndex::PathsOfNewest(size_t commits) const {
  size_t paths = 0;
  for (size_t i = commits_.size() - std::min(commits, commits_.size()); i < commits_.size(); ++i) {
    paths += commits_[i].changed.size();
  }
  return paths;
}

std::vector<const HistoryIndex::Commit*> HistoryIndex::NewestFirst(const git_oid& head) const {
  // Kahn's algorithm over the commits reachable from the head: a commit is ready once all its
  // children are listed; of the ready ones the newest goes first.
  std::vector<const Commit*> order;
  auto start = by_id_.find(ToObjectId(head));
  if (start == by_id_.end()) return order;
  std::vector<uint32_t> children(commits_.size(), 0);  // by position
  std::vector<uint32_t> todo = {static_cast<uint32_t>(start->second)};
  while (!todo.empty()) {
    const uint32_t at = todo.back();
    todo.pop_back();
    for (uint32_t parent : commits_[at].parents) {
      if (children[parent]++ == 0) todo.push_back(parent);  // reached for the first time
    }
  }
  auto older = [this](uint32_t a, uint32_t b) {
    const Commit& ca = commits_[a];
    const Commit& cb = commits_[b];
    return ca.time != cb.time ? ca.time < cb.time : ca.id > cb.id;
  };
  std::priority_queue<uint32_t, std::vector<uint32_t>, decltype(older)> ready(older);
  ready.push(static_cast<uint32_t>(start->second));
  while (!ready.empty()) {
    const uint32_t at = ready.top();
    ready.pop();
    order.push_back(&commits_[at]);
    for (uint32_t parent : commits_[at].parents) {
      if (--children[parent] == 0) ready.push(parent);
    }
  }
  return order;
}

const PathChange* HistoryIndex::FindChange(const Commit& commit, std::string_view path) {
  auto it = std::lower_bound(
      commit.changed.begin(), commit.changed.end(), path,
      [](const PathChange& change, std::string_view p) { return change.path < p; });
  return it != commit.changed.end() && it->path == path ? &*it : nullptr;
}

}  // namespace taskfs::storage
