#include "storage/task_merger.h"

#include "storage/git_handles.h"
#include "storage/task_name.h"

namespace taskfs::storage {

std::optional<std::string> MergeLines(const std::string& base, const std::string& ours,
                                      const std::string& theirs) {
  EnsureLibgit2();
  git_merge_file_input in_base = GIT_MERGE_FILE_INPUT_INIT;
  git_merge_file_input in_ours = GIT_MERGE_FILE_INPUT_INIT;
  git_merge_file_input in_theirs = GIT_MERGE_FILE_INPUT_INIT;
  in_base.ptr = base.data();
  in_base.size = base.size();
  in_ours.ptr = ours.data();
  in_ours.size = ours.size();
  in_theirs.ptr = theirs.data();
  in_theirs.size = theirs.size();
  MergeFileResult result;
  if (git_merge_file(result.get(), &in_base, &in_ours, &in_theirs, nullptr) < 0) {
    return std::nullopt;
  }
  if (!result->automergeable) return std::nullopt;
  return std::string(result->ptr, result->len);
}

std::vector<Change> LineTaskMerger::Merge(const TaskMergeInput& in) const {
  const auto& ours = in.ours.content;
  const auto& theirs = in.theirs.content;
  if (!ours && !theirs) return {};
  if (!ours) return {};                    // we deleted, they edited: the edit stays
  if (!theirs) return {{in.path, *ours}};  // they deleted, we edited: ours stays
  if (*ours == *theirs) return {};
  if (auto merged = MergeLines(in.base.value_or(""), *ours, *theirs)) {
    return {{in.path, *merged}};
  }
  return {{in.path, *ours}, {ConflictCopyPath(in.path, *theirs), *theirs}};
}

}  // namespace taskfs::storage
