#include "storage/store_config.h"

#include "storage/git_handles.h"

namespace taskfs::storage {
namespace {

Result<RepoPtr> OpenRepo(const Store& store) { return OpenBareRepository(store.git_dir()); }

}  // namespace

std::string ConfigValue(const Store& store, const std::string& key) {
  auto repo = OpenRepo(store);
  if (!repo.ok()) return "";
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, repo->get()) != 0) return "";
  ConfigPtr config(cfg);
  GitBuf buf;
  if (git_config_get_string_buf(buf.get(), cfg, key.c_str()) != 0) return "";
  return buf.str();
}

Status SetConfigValue(const Store& store, const std::string& key, const std::string& value) {
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  git_config* cfg = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_config(&cfg, repo->get()), "reading config"));
  ConfigPtr config(cfg);
  return GitStatus(git_config_set_string(cfg, key.c_str(), value.c_str()), "setting " + key);
}

std::string RefTarget(const Store& store, const std::string& ref) {
  auto repo = OpenRepo(store);
  git_oid oid;
  if (!repo.ok() || git_reference_name_to_id(&oid, repo->get(), ref.c_str()) != 0) return "";
  return OidToHex(oid);
}

Status SetRef(const Store& store, const std::string& ref, const std::string& commit) {
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  git_oid oid;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0) {
    return Status::InvalidArgument("not a commit id: " + commit);
  }
  git_reference* out = nullptr;
  const int rc = git_reference_create(&out, repo->get(), ref.c_str(), &oid, 1, "taskfs: sync");
  RefPtr made(out);
  return GitStatus(rc, "recording " + ref);
}

}  // namespace taskfs::storage
