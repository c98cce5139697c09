#include "sync/transport/folder_remote.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/packs.h"
#include "storage/quarantine.h"
#include "storage/store_config.h"
#include "sync/transport/remotes.h"

namespace taskfs::sync {

using storage::BuildPack;
using storage::GitStatus;
using storage::HasEverything;
using storage::OidToHex;
using storage::OpenBareRepository;
using storage::Quarantine;
using storage::ReadWholeFile;
using storage::RefTarget;
using storage::RemoveStaleTempFiles;
using storage::Store;
using storage::SyncPackToDisk;
using storage::WriteFileAtomically;
using storage::WritePack;

namespace {

namespace fs = std::filesystem;

std::string PackDir(const std::string& folder) { return folder + "/objects/pack"; }
std::string ClientsDir(const std::string& folder) { return folder + "/refs/clients"; }
// Where our ref's temp file is written: outside refs/, where git and other clients never look.
std::string TempDir(const std::string& folder) { return folder + "/tmp"; }
std::string PackFileIn(const Store& store, const std::string& name) {
  return store.git_dir() + "objects/pack/" + name;
}
std::string TrackingRef(const std::string& remote, const std::string& client) {
  return "refs/remotes/" + remote + "/" + client;
}

// Client ids are what Store makes (hex) or a user set: letters, digits, '-' and '_'. Anything
// else in refs/clients/ is a syncer's artefact ("x (conflicted copy)", temp files): ignored.
bool IsClientId(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// True when a ref file can never become a commit id: it holds something other than the hex
// digits (and newline) a client writes, so it is not one arriving half-copied.
bool IsGarbageRefFile(const std::string& file) {
  auto text = ReadWholeFile(file);
  if (!text) return false;
  const std::string head = text->substr(0, GIT_OID_HEXSZ + 1);
  return head.find_first_not_of("0123456789abcdef\n") != std::string::npos ||
         text->size() > GIT_OID_HEXSZ + 1;
}

// A ref file's commit id, or "" while it is incomplete or not a ref.
std::string ReadRefFile(const std::string& file) {
  auto text = ReadWholeFile(file);
  if (!text || text->size() < GIT_OID_HEXSZ) return "";
  std::string id = text->substr(0, GIT_OID_HEXSZ);
  git_oid oid;
  if (git_oid_fromstrn(&oid, id.c_str(), id.size()) != 0) return "";
  return id;
}

// The packs of a folder already in our store, kept in the store's local dir.
class ImportedPacks {
 public:
  ImportedPacks(const Store& store, std::string remote) {
    std::replace(remote.begin(), remote.end(), '/', '%');
    file_ = storage::LocalState(store).folder_packs(remote);
    std::ifstream in(file_);
    std::string name;
    while (std::getline(in, name)) names_.insert(name);
  }
  bool Has(const std::string& name) const { return names_.count(name) > 0; }
  void Add(const std::string& name) {
    if (!names_.insert(name).second) return;
    std::ofstream(file_, std::ios::app) << name << "\n";
  }

 private:
  std::string file_;
  std::set<std::string> names_;
};

Status CheckFolder(const std::string& remote, const std::string& path) {
  if (IsFolderRemote(path)) return Status::OK();
  return Status::NotFound("folder remote " + remote + ": " + path +
                          " is missing or is not a taskfs folder (is the disk mounted, or has "
                          "the file syncer not created it yet?)");
}

// Writes `content` to `file` unless it exists (files every client may create, such as HEAD).
Status CreateOnce(const std::string& file, const std::string& content) {
  std::error_code ec;
  if (fs::exists(file, ec)) return Status::OK();
  return WriteFileAtomically(file, content);
}

// The packs in the folder that are not yet in our store.
std::vector<fs::path> NewPacks(const std::string& path, const ImportedPacks& imported) {
  std::error_code ec;
  std::vector<fs::path> packs;
  for (const auto& entry : fs::directory_iterator(PackDir(path), ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".pack" && name[0] != '.' && !imported.Has(name)) {
      packs.push_back(entry.path());
    }
  }
  return packs;
}

// Adds each of `packs` to the quarantine; one not complete yet is left for the next fetch.
void AddPacksTo(Quarantine& q, const std::vector<fs::path>& packs) {
  for (const fs::path& pack : packs) {
    auto bytes = ReadWholeFile(pack.string());
    if (!bytes) continue;  // gone meanwhile (a syncer's rename)
    if (Status st = q.AddPack(*bytes, pack.string()); !st.ok()) {
      Log(LogLevel::kDebug, "not yet complete, will retry: " + st.message());
    }
  }
}

// The other clients' heads in the folder (client, commit; "" while its ref is incomplete). Ref
// files whose content never can be a commit go to `garbage`.
std::vector<std::pair<std::string, std::string>> OtherClientHeads(
    const Store& store, const std::string& path, std::vector<std::string>* garbage) {
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> heads;  // client, commit
  for (const auto& entry : fs::directory_iterator(ClientsDir(path), ec)) {
    const std::string client = entry.path().filename().string();
    if (!IsClientId(client) || client == store.client_id()) continue;
    if (IsGarbageRefFile(entry.path().string())) {
      garbage->push_back("refs/clients/" + client);  // not a client: never waited for
      continue;
    }
    heads.emplace_back(client, ReadRefFile(entry.path().string()));
  }
  return heads;
}

// The heads to record (tracking ref, head): those whose objects are all in `q` and whose history
// passed its checks. A head recorded already adds its tracking ref to `complete_refs`; one not
// complete yet counts as waiting in `result`, one that fails the checks as refused.
std::vector<std::pair<std::string, git_oid>> CheckHeads(
    const Store& store, git_repository* repo, Quarantine& q, const std::string& remote,
    const std::vector<std::pair<std::string, std::string>>& heads,
    std::vector<std::string>* complete_refs, FolderFetch* result) {
  const std::string ours = RefTarget(store, store.branch_ref());
  std::vector<std::pair<std::string, git_oid>> accepted;  // tracking ref, head
  for (const auto& [client, head] : heads) {
    const std::string tracking = TrackingRef(remote, client);
    git_oid tip, known;
    if (head.empty() || git_oid_fromstr(&tip, head.c_str()) != 0) {
      ++result->waiting;
      continue;
    }
    if (git_reference_name_to_id(&known, repo, tracking.c_str()) == 0 &&
        git_oid_equal(&known, &tip)) {
      complete_refs->push_back(tracking);
      continue;
    }
    if (!HasEverything(q.repo(), head, *complete_refs)) {
      ++result->waiting;
      continue;
    }
    if (Status st = q.Check(ours, head, "client " + client + " of folder remote " + remote);
        !st.ok()) {
      result->refused.push_back(st);
      continue;
    }
    accepted.emplace_back(tracking, tip);
  }
  return accepted;
}

// Moves each accepted head's tracking ref to it, once the quarantine's packs are in the store.
Status RecordAcceptedHeads(git_repository* repo,
                           const std::vector<std::pair<std::string, git_oid>>& accepted,
                           const std::vector<std::string>& complete_refs, FolderFetch* result) {
  for (const auto& [tracking, tip] : accepted) {
    if (!HasEverything(repo, OidToHex(tip), complete_refs)) {
      ++result->waiting;  // needed a pack a refusal dropped (a client that took it unchecked)
      continue;
    }
    git_reference* out = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(
        git_reference_create(&out, repo, tracking.c_str(), &tip, 1, "taskfs: fetch folder"),
        "recording " + tracking));
    storage::RefPtr recorded(out);
  }
  return Status::OK();
}

// Adds to `heads` every other client's head we have from `remote`, also those whose ref has since
// vanished from the folder and those recorded by a sync that was killed before it merged them.
void AddRecordedHeads(git_repository* repo, const std::string& remote,
                      const std::string& our_client_id, std::vector<std::string>* heads) {
  const std::string prefix = "refs/remotes/" + remote + "/";
  git_reference_iterator* raw_it = nullptr;
  const std::string glob = prefix + "*";
  if (git_reference_iterator_glob_new(&raw_it, repo, glob.c_str()) != 0) return;
  storage::RefIteratorPtr it(raw_it);
  git_reference* raw_ref = nullptr;
  while (git_reference_next(&raw_ref, raw_it) == 0) {
    storage::RefPtr ref(raw_ref);
    const std::string name = git_reference_name(raw_ref);
    if (name != prefix + our_client_id && git_reference_target(raw_ref)) {
      heads->push_back(OidToHex(*git_reference_target(raw_ref)));
    }
  }
}

}  // namespace

bool IsFolderRemote(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(ClientsDir(path), ec) && fs::is_directory(PackDir(path), ec);
}

Status InitFolderRemote(const std::string& path) {
  std::error_code ec;
  if (IsFolderRemote(path)) return Status::OK();
  if (fs::exists(path, ec) && !fs::is_empty(path, ec)) {
    return Status::InvalidArgument(path +
                                   " is neither empty nor a taskfs folder remote: name a new "
                                   "folder inside it, e.g. " +
                                   (fs::path(path) / "tasks").string());
  }
  for (const std::string& dir :
       {PackDir(path), ClientsDir(path), path + "/refs/heads", TempDir(path)}) {
    fs::create_directories(dir, ec);
    if (ec) return Status::FromErrno(ec.value(), "creating " + dir);
  }
  // Enough of a repository for `git --git-dir=PATH log refs/clients/ID` to work.
  TASKFS_RETURN_IF_ERROR(CreateOnce(path + "/HEAD", "ref: refs/heads/main\n"));
  return CreateOnce(path + "/config", "[core]\n\trepositoryformatversion = 0\n\tbare = true\n");
}

Result<FolderFetch> FetchFromFolder(const Store& store, const std::string& remote,
                                    const std::string& path) {
  TASKFS_RETURN_IF_ERROR(CheckFolder(remote, path));
  auto repo = OpenBareRepository(store.git_dir());
  if (!repo.ok()) return repo.status();

  ImportedPacks imported(store, remote);
  const std::vector<fs::path> packs = NewPacks(path, imported);
  // New packs wait in a quarantine until the heads that need them passed the checks.
  auto quarantine = Quarantine::Create(store);
  if (!quarantine.ok()) return quarantine.status();
  Quarantine& q = **quarantine;
  AddPacksTo(q, packs);
  FolderFetch result;
  std::vector<std::string> complete_refs = {store.branch_ref()};
  const auto heads = OtherClientHeads(store, path, &result.garbage);
  const auto accepted = CheckHeads(store, repo->get(), q, remote, heads, &complete_refs, &result);
  TASKFS_RETURN_IF_ERROR(q.Admit());
  std::error_code ec;
  for (const fs::path& pack : packs) {
    if (fs::exists(PackFileIn(store, pack.filename().string()), ec)) {
      imported.Add(pack.filename().string());
    }
  }
  TASKFS_RETURN_IF_ERROR(RecordAcceptedHeads(repo->get(), accepted, complete_refs, &result));
  AddRecordedHeads(repo->get(), remote, store.client_id(), &result.heads);
  return result;
}

Result<std::vector<FolderClient>> ListFolderClients(const std::string& remote,
                                                    const std::string& path) {
  TASKFS_RETURN_IF_ERROR(CheckFolder(remote, path));
  std::vector<FolderClient> clients;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ClientsDir(path), ec)) {
    const std::string file = entry.path().string();
    if (!IsClientId(entry.path().filename().string()) || IsGarbageRefFile(file)) continue;
    struct stat st;
    if (::stat(file.c_str(), &st) != 0) continue;  // removed meanwhile
    clients.push_back({entry.path().filename().string(), ReadRefFile(file), st.st_mtime});
  }
  if (ec)
    return Status::IOError("folder remote " + remote + ": cannot list " + ClientsDir(path) + ": " +
                           ec.message());
  std::sort(clients.begin(), clients.end(),
            [](const FolderClient& a, const FolderClient& b) { return a.id < b.id; });
  return clients;
}

Result<bool> PublishToFolder(const Store& store, const std::string& remote,
                             const std::string& path) {
  TASKFS_RETURN_IF_ERROR(CheckFolder(remote, path));
  // Temps of writes that a crash interrupted: in tmp/, and in refs/clients/ where earlier
  // versions wrote them (git reads them there as refs, so they go at once).
  RemoveStaleTempFiles(TempDir(path));
  RemoveStaleTempFiles(ClientsDir(path), std::chrono::seconds(0));
  std::error_code ec;
  fs::create_directories(TempDir(path), ec);  // folders made before tmp/ existed
  auto repo = OpenBareRepository(store.git_dir());
  if (!repo.ok()) return repo.status();
  git_oid head;
  if (git_reference_name_to_id(&head, repo->get(), store.branch_ref().c_str()) != 0) {
    return false;  // nothing committed yet
  }
  const std::string head_hex = OidToHex(head);
  const std::string ref_file = ClientsDir(path) + "/" + store.client_id();
  const std::string tracking = TrackingRef(remote, store.client_id());
  if (ReadRefFile(ref_file) == head_hex) return false;

  // The objects the folder lacks: what our head reaches that no head recorded from it does.
  auto pack = BuildPack(store, head_hex, {}, "refs/remotes/" + remote + "/*");
  if (!pack.ok()) return pack.status();
  if (!pack->empty()) {
    auto name = WritePack(PackDir(path), *pack, "a pack for " + path);
    if (!name.ok()) return name.status();
    ImportedPacks(store, remote).Add(*name);
    // The pack must be on disk before the ref that needs it.
    TASKFS_RETURN_IF_ERROR(SyncPackToDisk(PackDir(path), *name));
  }
  TASKFS_RETURN_IF_ERROR(WriteFileAtomically(ref_file, head_hex + "\n", 0644, TempDir(path)));
  git_reference* out = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_reference_create(&out, repo->get(), tracking.c_str(), &head, 1, "taskfs: publish"),
      "recording " + tracking));
  storage::RefPtr recorded(out);
  return true;
}

}  // namespace taskfs::sync
