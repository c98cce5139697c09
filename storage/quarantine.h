// Quarantine: where objects received from a peer wait until the history they bring is checked
// (storage/incoming_history.h), like git's receive-pack quarantine. A pack that holds a hostile
// object (a refused commit, a tree with a bad entry) never enters the store: a refused push or
// fetch leaves no trace, so `git fsck` of the store stays clean.
//
// A quarantine is a folder beside the store (GITDIR/taskfs/quarantine/NAME/pack/). Its own
// repository handle reads the store's objects and the quarantine's; a fetch through a handle it is
// attached to writes the received pack into it. Admit() moves the packs left into the store
// (durably, before any ref may point into them); the destructor removes what was not admitted.
//
// Thread-safety: one owner at a time; quarantines of one store are independent of each other.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"

struct git_repository;

namespace taskfs::storage {

class Quarantine {
 public:
  // An empty quarantine beside `store`; removes the quarantines a crash left (older than an hour).
  static Result<std::unique_ptr<Quarantine>> Create(const Store& store);
  ~Quarantine();
  Quarantine(const Quarantine&) = delete;
  Quarantine& operator=(const Quarantine&) = delete;

  // A handle on the store whose reads include the quarantine's objects.
  git_repository* repo() { return repo_.get(); }
  // Makes `repo` (a handle on the same store) read the quarantine's objects and write the packs
  // it receives (a fetch) into the quarantine.
  Status AttachTo(git_repository* repo);

  // Indexes `pack` into the quarantine. `what` names it in errors.
  Status AddPack(std::string_view pack, const std::string& what);

  // Checks the history that `theirs` brings beyond `known` (CheckIncomingHistory). On refusal,
  // drops every quarantined pack that holds a hostile object and returns the refusal.
  Status Check(const std::string& known, const std::string& theirs, const std::string& peer);

  // Moves the packs left into the store's objects/pack, on disk before it returns.
  Status Admit();

 private:
  Quarantine(const Store& store, std::string dir);
  Status Reopen();                         // a fresh handle (after packs were dropped)
  std::vector<std::string> Packs() const;  // the .pack files, full paths

  const Store& store_;
  const std::string dir_;  // holds pack/
  struct RepoDeleter {
    void operator()(git_repository* repo) const;
  };
  std::unique_ptr<git_repository, RepoDeleter> repo_;
};

// Takes `pack`, received from `peer`, into the store through a quarantine: `tip` must be
// complete with it (the commits `complete_refs` reach are known complete), and its history beyond
// `known` must pass CheckIncomingHistory. Otherwise nothing of it enters the store: Corruption
// when objects are missing, the refusal when the history breaks a rule. `what` names the pack.
Status AdmitPack(const Store& store, std::string_view pack, const std::string& tip,
                 const std::vector<std::string>& complete_refs, const std::string& known,
                 const std::string& peer, const std::string& what);

}  // namespace taskfs::storage
