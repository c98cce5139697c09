// Store: letting go of the packs it has open (Store::ReleasePacks, store.h).
#include <git2.h>
#include <git2/sys/repository.h>

#include <algorithm>

#include "storage/blob_reader.h"
#include "storage/log.h"
#include "storage/repack.h"
#include "storage/store.h"

namespace taskfs::storage {

void Store::ReleasePacks() const { ReopenObjectDatabases(/*always=*/true); }

void Store::ReleaseRemovedPacksIfAnyWentAway() const { ReopenObjectDatabases(/*always=*/false); }

void Store::ReopenObjectDatabases(bool always) const {
  const std::vector<std::string> on_disk = ListPackNames(git_dir_);  // no lock held
  {
    std::lock_guard lock(mu_);
    const bool gone =
        !std::includes(on_disk.begin(), on_disk.end(), known_packs_.begin(), known_packs_.end());
    known_packs_ = {on_disk.begin(), on_disk.end()};
    if (!always && !gone) return;
    // Both object databases go before either is opened again: libgit2 shares a pack between the
    // handles that have it open, and frees it (descriptor, mapped pages) only when the last one
    // goes. The blob reader opens its own again on its next read.
    blobs_->Release();
    // Frees the object database (the buffer on it with it: empty, no commit is under way), the
    // object cache and the refs' and config's handles; libgit2 opens them again on first use.
    git_repository__cleanup(repo_.get());
    objects_ = ObjectBuffer();
    if (access_ == Access::kReadWrite) {
      if (Status st = AttachObjectBufferLocked(); !st.ok()) {
        LogWarning("reopening the store's object database: " + st.ToString() +
                   " (the next commit tries again)");
      }
    }
  }
}

}  // namespace taskfs::storage
