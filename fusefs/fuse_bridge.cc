#define FUSE_USE_VERSION 312
#include "fusefs/fuse_bridge.h"

#include <fcntl.h>
#include <fuse3/fuse.h>
#include <fuse3/fuse_lowlevel.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>

#include "fusefs/store_watcher.h"
#include "fusefs/task_filesystem.h"
#include "storage/committer.h"
#include "storage/file_util.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/unique_fd.h"

namespace taskfs::fusefs {
namespace {

// The kernel caches entries and attributes this long; changes made outside the mount (sync,
// git) are pushed out of its caches explicitly, so the timeouts can be long.
constexpr double kCacheTimeoutSeconds = 3600;

struct MountContext {
  storage::Store* store;
  std::unique_ptr<TaskFilesystem> fs;
  std::unique_ptr<StoreWatcher> watcher;
  std::string mount_record;
  std::unique_ptr<StoreWatcher> flush_requests;  // `taskfs sync` asking for every save committed
};

MountContext* Ctx() { return static_cast<MountContext*>(fuse_get_context()->private_data); }
TaskFilesystem& Fs() { return *Ctx()->fs; }

std::string Rel(const char* path) {
  if (!path) return "";
  return path[0] == '/' ? path + 1 : path;
}

// The process making the request: what it makes is its own.
Caller RequestCaller() {
  const fuse_context* c = fuse_get_context();
  return {c->uid, c->gid};
}

Handle* H(fuse_file_info* fi) { return fi ? reinterpret_cast<Handle*>(fi->fh) : nullptr; }

// Runs one FUSE operation: exceptions become errnos, never escape into libfuse.
template <class Fn>
int Guard(const char* op, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (const std::exception& e) {
    LogError(std::string(op) + ": " + e.what());
    return -EIO;
  } catch (...) {
    LogError(std::string(op) + ": unknown exception");
    return -EIO;
  }
}

int OpGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  return Guard("getattr", [&] { return Fs().GetAttr(Rel(path), st, H(fi)); });
}

// With nullpath_ok, libfuse passes no path to readdir: opendir keeps it in the handle.
struct DirHandle {
  std::string path;
  size_t listed = 0;  // names the last readdir gave
};

// A listing this long leaves megabytes of freed buffers (ours and libfuse's) behind.
constexpr size_t kLargeListing = 10000;

int OpOpendir(const char* path, fuse_file_info* fi) {
  return Guard("opendir", [&] {
    fi->fh = reinterpret_cast<uint64_t>(new DirHandle{Rel(path)});
    return 0;
  });
}

int OpReleasedir(const char*, fuse_file_info* fi) {
  auto* dir = reinterpret_cast<DirHandle*>(fi->fh);
  // libfuse frees its copy of the listing after this returns: the pages go back to the system
  // at the mount's next idle moment, or an idle mount would keep its largest listing's memory.
  if (dir->listed >= kLargeListing) Fs().TrimMemorySoon();
  delete dir;
  return 0;
}

int OpReaddir(const char*, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info* fi,
              fuse_readdir_flags) {
  return Guard("readdir", [&] {
    std::vector<std::string> names;
    auto* dir = reinterpret_cast<DirHandle*>(fi->fh);
    if (int rc = Fs().ReadDir(dir->path, &names); rc != 0) return rc;
    dir->listed = names.size();
    filler(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    filler(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    for (const auto& n : names)
      filler(buf, n.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    return 0;
  });
}

void SetOpenFlags(fuse_file_info* fi, const Handle& h) {
  fi->fh = reinterpret_cast<uint64_t>(&h);
  if (h.generated) {
    fi->direct_io = 1;  // made at open: its size is not known beforehand
  } else if (h.kind != Handle::Kind::kScratch) {
    fi->keep_cache = 1;
  }
  // A read-only task has nothing to commit at close: spare the kernel a FLUSH round trip.
  if (!h.writable && !h.node) fi->noflush = 1;
}

int OpOpen(const char* path, fuse_file_info* fi) {
  return Guard("open", [&] {
    std::unique_ptr<Handle> h;
    if (int rc = Fs().Open(Rel(path), fi->flags, &h); rc != 0) return rc;
    SetOpenFlags(fi, *h);
    h.release();
    return 0;
  });
}

int OpCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  return Guard("create", [&] {
    std::unique_ptr<Handle> h;
    if (int rc = Fs().Create(Rel(path), mode, fi->flags, &h, RequestCaller()); rc != 0) {
      return rc;
    }
    SetOpenFlags(fi, *h);
    h.release();
    return 0;
  });
}

int OpRead(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  return Guard("read", [&] { return Fs().Read(H(fi), buf, size, off); });
}

int OpWrite(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  return Guard("write", [&] { return Fs().Write(H(fi), buf, size, off); });
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  return Guard("truncate", [&] { return Fs().Truncate(Rel(path), size, H(fi)); });
}

int OpFallocate(const char*, int mode, off_t off, off_t len, fuse_file_info* fi) {
  return Guard("fallocate", [&] { return Fs().Fallocate(H(fi), mode, off, len); });
}

int OpFlush(const char*, fuse_file_info* fi) {
  return Guard("flush", [&] { return Fs().Flush(H(fi)); });
}

int OpFsync(const char*, int, fuse_file_info* fi) {
  return Guard("fsync", [&] { return Fs().Fsync(H(fi)); });
}

int OpRelease(const char*, fuse_file_info* fi) {
  return Guard("release", [&] {
    std::unique_ptr<Handle> h(H(fi));
    return Fs().Release(h.get());
  });
}

int OpUnlink(const char* path) {
  return Guard("unlink", [&] { return Fs().Unlink(Rel(path)); });
}

int OpRename(const char* from, const char* to, unsigned int flags) {
  return Guard("rename", [&] { return Fs().Rename(Rel(from), Rel(to), flags); });
}

int OpMkdir(const char* path, mode_t mode) {
  return Guard("mkdir", [&] { return Fs().Mkdir(Rel(path), mode, RequestCaller()); });
}

int OpMknod(const char* path, mode_t mode, dev_t dev) {
  return Guard("mknod", [&] { return Fs().Mknod(Rel(path), mode, dev, RequestCaller()); });
}

int OpRmdir(const char* path) {
  return Guard("rmdir", [&] { return Fs().Rmdir(Rel(path)); });
}

int OpSymlink(const char* target, const char* path) {
  return Guard("symlink", [&] { return Fs().Symlink(target, Rel(path), RequestCaller()); });
}

int OpReadlink(const char* path, char* buf, size_t size) {
  return Guard("readlink", [&] { return Fs().Readlink(Rel(path), buf, size); });
}

int OpLink(const char*, const char*) { return -EPERM; }  // tasks are one file each

int OpChmod(const char* path, mode_t mode, fuse_file_info* fi) {
  return Guard("chmod", [&] { return Fs().Chmod(Rel(path), mode, H(fi)); });
}

int OpChown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  return Guard("chown", [&] { return Fs().Chown(Rel(path), uid, gid, H(fi)); });
}

int OpUtimens(const char* path, const struct timespec ts[2], fuse_file_info* fi) {
  return Guard("utimens", [&] { return Fs().Utimens(Rel(path), ts, H(fi)); });
}

int OpStatfs(const char*, struct statvfs* st) {
  return Guard("statfs", [&] { return Fs().StatFs(st); });
}

// No extended attributes. ENOSYS (not ENOTSUP) makes the kernel remember that and answer
// ENOTSUP itself from then on: no round trip for the security.capability lookup it makes before
// every write.
int OpSetxattr(const char*, const char*, const char*, size_t, int) { return -ENOSYS; }
int OpGetxattr(const char*, const char*, char*, size_t) { return -ENOSYS; }
int OpListxattr(const char*, char*, size_t) { return -ENOSYS; }
int OpRemovexattr(const char*, const char*) { return -ENOSYS; }

void* OpInit(fuse_conn_info* conn, fuse_config* cfg) {
  // The kernel's page cache is kept valid by explicit invalidation (see StoreWatcher), so it
  // need not re-check attributes before using cached pages.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  cfg->entry_timeout = kCacheTimeoutSeconds;
  cfg->attr_timeout = kCacheTimeoutSeconds;
  cfg->negative_timeout = 0;
  cfg->kernel_cache = 1;
  cfg->nullpath_ok = 1;
  // A file unlinked while open is renamed to a hidden name (.fuse_hiddenN, a local-only file
  // that readdir does not show) until its last close, so fstat and reads on it keep working.
  cfg->hard_remove = 0;
  MountContext* ctx = Ctx();
  struct fuse* f = fuse_get_context()->fuse;
  // Threads start here, after daemonizing (a fork would not carry them).
  if (Status st = ctx->fs->Start(); !st.ok()) LogError(st.ToString());
  auto invalidate = [f](const std::vector<std::string>& paths) {
    for (const auto& p : paths) fuse_invalidate_path(f, ("/" + p).c_str());
  };
  ctx->fs->SetInvalidator(invalidate);
  ctx->watcher = std::make_unique<StoreWatcher>(ctx->store->git_dir(), [ctx, invalidate] {
    auto paths = ctx->fs->Refresh();
    if (!paths.empty()) invalidate(paths);
    // Tells `taskfs sync` (which waits for it) that the kernel now shows this commit.
    if (Status st = storage::WriteFileAtomically(storage::LocalState(*ctx->store).mount_head(),
                                                 ctx->store->snapshot()->commit_id() + "\n");
        !st.ok()) {
      LogWarning(st.ToString() + " (`taskfs sync` will not wait for the mount to show its merge)");
    }
  });
  if (Status st = ctx->watcher->Start(); !st.ok()) {
    LogWarning("changes by other processes will not show until remount: " + st.ToString());
  }
  // A request is answered (removed) once every save made before it is committed.
  const std::string requests = storage::LocalState(*ctx->store).flush_requests();
  std::error_code ec;
  std::filesystem::create_directories(requests, ec);
  ctx->flush_requests = std::make_unique<StoreWatcher>(
      ctx->store->git_dir(),
      [ctx, requests] {
        std::vector<std::filesystem::path> asked;
        bool deletes = false;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(requests, ec)) {
          const std::string name = e.path().filename().string();
          if (!name.starts_with("flush-")) continue;  // a request's temp file
          asked.push_back(e.path());
          deletes = deletes || name.starts_with(storage::kFlushAllRequest);
        }
        if (asked.empty()) return;
        if (!(deletes ? ctx->fs->CommitEverything() : ctx->fs->WaitForCommits())) return;
        for (const auto& p : asked) std::filesystem::remove(p, ec);
      },
      std::chrono::milliseconds(1), std::vector<std::string>{requests});
  if (Status st = ctx->flush_requests->Start(); !st.ok()) {
    LogWarning("`taskfs sync` will not see saves until they are committed: " + st.ToString());
  }
  return ctx;
}

void OpDestroy(void* data) {
  auto* ctx = static_cast<MountContext*>(data);
  if (ctx->flush_requests) ctx->flush_requests->Stop();
  if (ctx->watcher) ctx->watcher->Stop();
  ctx->fs->Shutdown();
  std::remove(ctx->mount_record.c_str());
}

fuse_operations MakeOperations() {
  fuse_operations ops{};
  ops.getattr = OpGetattr;
  ops.readlink = OpReadlink;
  ops.mkdir = OpMkdir;
  ops.mknod = OpMknod;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.chmod = OpChmod;
  ops.chown = OpChown;
  ops.truncate = OpTruncate;
  ops.fallocate = OpFallocate;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.statfs = OpStatfs;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.init = OpInit;
  ops.destroy = OpDestroy;
  ops.create = OpCreate;
  ops.utimens = OpUtimens;
  return ops;
}

// Leaves the foreground as fuse_daemonize(3) does (fork, setsid, chdir /, stdio to /dev/null),
// except that the parent, the `taskfs mount` a user or script ran, exits only once `ready` ran in
// the child: a `taskfs status` right after `taskfs mount` finds the mount's record. Returns 0 in
// the child, -1 (errno set) if it could not fork.
int DaemonizeAfter(const std::function<void()>& ready) {
  int ends[2];
  if (::pipe(ends) != 0) return -1;
  storage::UniqueFd read_end(ends[0]);
  storage::UniqueFd write_end(ends[1]);
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child > 0) {
    write_end.reset();
    char done = 0;
    const ssize_t n = ::read(read_end.get(), &done, 1);
    ::_exit(n == 1 ? 0 : 1);
  }
  read_end.reset();
  ::setsid();
  if (::chdir("/") != 0) LogWarning("could not change to /: " + std::string(std::strerror(errno)));
  if (const storage::UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC)); null_fd) {
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null_fd.get(), fd);
  }
  ready();
  const char done = 1;
  if (::write(write_end.get(), &done, 1) != 1) {
    LogWarning("could not tell `taskfs mount` it is done");
  }
  return 0;
}

// What fuse_new is given: the options every taskfs mount has, and those `options` asks for.
std::vector<std::string> FuseArguments(const MountOptions& options) {
  // noatime: reads don't change anything, and atime updates would cost a round trip per read.
  // default_permissions: the kernel checks every request against the owners and modes the
  // mount reports, as on a local disk (taskfs(1), PERMISSIONS).
  std::vector<std::string> argv = {"taskfs", "-o",
                                   "fsname=taskfs,subtype=taskfs,noatime,default_permissions"};
  if (options.allow_other) argv.insert(argv.end(), {"-o", "allow_other"});
  if (options.read_only) argv.insert(argv.end(), {"-o", "ro"});
  if (options.debug) argv.push_back("-d");
  return argv;
}

// Mounts `f` at `mountpoint`; false, with what to check logged, if it could not.
bool MountAt(struct fuse* f, const std::string& mountpoint) {
  if (fuse_mount(f, mountpoint.c_str()) == 0) return true;
  LogError("could not mount at " + mountpoint +
           " (does it exist, is it empty, is /dev/fuse usable? a dead mount there needs "
           "`taskfs umount " +
           mountpoint + "`)");
  return false;
}

// Writes the mount's record (what `taskfs status` and `taskfs umount` find) and, unless in the
// foreground, leaves the foreground first; false (logged) if it could not leave it.
bool RecordMount(const std::string& record_file, const MountOptions& options) {
  const auto record_mount = [&] {
    if (Status st = storage::WriteMountRecord(record_file, {::getpid(), options.mountpoint});
        !st.ok()) {
      LogWarning(st.message() + ": `taskfs status` and `taskfs umount` will not see this mount");
    }
  };
  if (options.foreground) {
    record_mount();
    return true;
  }
  if (DaemonizeAfter(record_mount) == 0) return true;
  LogError("could not leave the foreground: " + std::string(std::strerror(errno)));
  return false;
}

// Answers requests on up to 16 threads until the mount ends (unmounted, or a signal); libfuse's
// result.
int ServeRequests(struct fuse* f) {
  fuse_set_signal_handlers(fuse_get_session(f));
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(loop, 16);
  const int rc = fuse_loop_mt(f, loop);
  fuse_loop_cfg_destroy(loop);
  fuse_remove_signal_handlers(fuse_get_session(f));
  return rc;
}

// How long a mount waits for a `taskfs sync` or daemon that commits a killed mount's journal.
constexpr auto kJournalReplayWait = std::chrono::seconds(30);

// The store's mount lock, or null when a live mount holds it. One mount per store: two would each
// believe their view is the store's. A sync or daemon that finds no mount takes the same lock for
// a moment to commit a killed mount's journal (storage::CommitJournal): that is waited for.
std::unique_ptr<storage::FileLock> TakeMountLock(const storage::Store& store) {
  const storage::LocalState state(store);
  auto lock = std::make_unique<storage::FileLock>(state.mount_lock());
  if (lock->held()) return lock;
  const auto record = storage::ReadMountRecord(state.mount_record());
  if (record && ::kill(record->pid, 0) == 0) return nullptr;
  lock = std::make_unique<storage::FileLock>(state.mount_lock(), kJournalReplayWait, [] {
    LogInfo("waiting for the commit of the last mount's saves (by a sync or the daemon)");
  });
  return lock->held() ? std::move(lock) : nullptr;
}

}  // namespace

int RunMount(storage::Store* store, const MountOptions& options) {
  const auto mount_lock = TakeMountLock(*store);  // held until the mount has ended
  if (!mount_lock) {
    LogError("the store " + store->git_dir() + " is already mounted by another taskfs process " +
             "(see `taskfs status`); unmount it first");
    return 1;
  }
  MountContext ctx{store, std::make_unique<TaskFilesystem>(store), nullptr,
                   storage::LocalState(*store).mount_record(), nullptr};
  ctx.fs->SetStatusText(options.status_text);
  std::vector<std::string> argv = FuseArguments(options);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(cargv.size()), cargv.data());
  const fuse_operations ops = MakeOperations();
  struct fuse* f = fuse_new(&args, &ops, sizeof ops, &ctx);
  if (!f) {
    LogError("could not set up the FUSE session");
    return 1;
  }
  if (!MountAt(f, options.mountpoint)) {
    fuse_destroy(f);
    return 1;
  }
  if (!RecordMount(ctx.mount_record, options)) {
    fuse_unmount(f);
    fuse_destroy(f);
    return 1;
  }
  if (!options.foreground) LogToSyslog("taskfs");
  // The FUSE loop's threads would each grow a malloc arena: a few are plenty here.
  mallopt(M_ARENA_MAX, 2);
  if (options.on_mounted) options.on_mounted();
  const int rc = ServeRequests(f);
  fuse_unmount(f);
  fuse_destroy(f);
  fuse_opt_free_args(&args);
  return rc == 0 ? 0 : 1;
}

}  // namespace taskfs::fusefs
