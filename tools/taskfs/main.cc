// taskfs: keep tasks as YAML files in a mounted folder; every save is a git commit.
#include <CLI/CLI.hpp>

#include "taskfs/version.h"
#include "tools/taskfs/commands.h"

namespace {

using namespace taskfs::cli;

// What the command line holds: the values CLI11 writes while parsing (bound by address: this
// must stay where it is made) and the subcommands, to tell which one was given.
struct CommandLine {
  GlobalOptions g;
  std::string name, mountpoint, spec, url, server_cert;
  std::vector<std::string> remotes;
  bool lazy = false, no_sync = false, as_folder = false, as_git = false, force = false,
       accept_host_key = false;
  MountArgs mount_args;
  DaemonArgs daemon_args;
  CLI::App *init = nullptr, *mount = nullptr, *umount = nullptr, *log = nullptr, *show = nullptr,
           *remote = nullptr, *remote_add = nullptr, *remote_remove = nullptr,
           *remote_show = nullptr, *sync = nullptr, *clone = nullptr, *keygen = nullptr,
           *daemon = nullptr;
};

// init, mount, umount.
void AddStoreCommands(CLI::App& app, CommandLine& c) {
  c.init = app.add_subcommand("init", "Create a new, empty store");
  c.init->add_option("--name", c.name, "This client's name, the author of its commits")->required();

  c.mount = app.add_subcommand("mount", "Mount the store at MOUNTPOINT");
  MountArgs& m = c.mount_args;
  c.mount->add_option("mountpoint", m.mountpoint, "An empty folder")->required();
  c.mount->add_flag("-f,--foreground", m.foreground, "Stay in the foreground, log to stderr");
  c.mount->add_flag("-d,--debug", m.debug, "Log every FUSE request (implies --foreground)");
  c.mount->add_flag("--allow-other", m.allow_other,
                    "Let other users use the mount, as the owners and modes of its files allow "
                    "(see PERMISSIONS in taskfs(1))");
  c.mount->add_flag("--read-only", m.read_only,
                    "Refuse every change through the mount (EROFS); syncs still update it");
  c.mount->add_flag("--nonempty", m.nonempty,
                    "Mount over a folder that holds files (they are hidden while mounted)");
  c.mount->add_flag("--no-sync", c.no_sync,
                    "Do not start the sync daemon (by default it starts when remotes exist)");

  c.umount = app.add_subcommand("umount", "Unmount MOUNTPOINT, committing what is pending");
  c.umount->add_option("mountpoint", c.mountpoint, "The mounted folder")->required();
  c.umount->add_flag("-z,--lazy", c.lazy, "Detach now even if files are open; finish when closed");
}

// status, log, show, store-path.
void AddReadingCommands(CLI::App& app, CommandLine& c) {
  app.add_subcommand("status",
                     "Show the store, the mount, drafts, local-only files and how syncing goes");

  c.log = app.add_subcommand("log", "Show a task's history, following renames");
  c.log->add_option("task", c.name, "Task name, e.g. work/buy-milk")->required();

  c.show = app.add_subcommand("show", "Print a task, now or N changes ago (NAME@~N)");
  c.show->add_option("task", c.spec, "Task name, optionally with @~N")->required();

  app.add_subcommand("store-path", "Print the store's path");
}

// remote (add, remove, show, list), sync, clone, conflicts.
void AddSyncCommands(CLI::App& app, CommandLine& c) {
  c.remote = app.add_subcommand("remote", "List, add or remove the remotes to sync with");
  c.remote_add =
      c.remote->add_subcommand("add", "Add a remote: a git URL or path, or a shared folder");
  c.remote_add->add_option("name", c.name, "A short name, e.g. origin")->required();
  c.remote_add
      ->add_option("url", c.url,
                   "git@host:me/tasks.git, https://..., file://..., a path to a git "
                   "repository, or a folder that a file syncer shares (e.g. ~/Dropbox/tasks)")
      ->required();
  auto* folder_flag = c.remote_add->add_flag(
      "--folder", c.as_folder,
      "A shared folder (the default for a path that is empty, missing or already one)");
  c.remote_add->add_flag("--git", c.as_git, "A git repository (the default for URLs)")
      ->excludes(folder_flag);
  c.remote_add->add_option("--server-cert", c.server_cert,
                           "For taskfs://HOST:PORT: the server's certificate (its server.crt), "
                           "which pins the server");
  c.remote_add->add_flag("--accept-host-key", c.accept_host_key,
                         "ssh: connect now and record the server's host key in known_hosts if the "
                         "host is not there yet (a changed key is refused all the same)");
  c.remote_remove = c.remote->add_subcommand("remove", "Forget a remote");
  c.remote_remove->add_option("name", c.name, "The remote's name")->required();
  c.remote_show = c.remote->add_subcommand(
      "show", "Say what a remote is and which machines sync through it, with what each sent last");
  c.remote_show->add_option("name", c.name, "The remote's name")->required();
  c.remote->add_subcommand("list", "List the remotes (the default)");

  c.sync = app.add_subcommand("sync", "Fetch, merge and push with the remotes");
  c.sync->add_option("remotes", c.remotes, "Remotes to sync with (default: all)");

  c.clone = app.add_subcommand("clone", "Create this machine's store from a remote");
  c.clone->add_option("url", c.url, "The remote to clone")->required();
  c.clone->add_option("--name", c.name, "This client's name, the author of its commits")
      ->required();
  c.clone->add_flag("--accept-host-key", c.accept_host_key,
                    "ssh: record the server's host key in known_hosts if the host is not there "
                    "yet (a changed key is refused all the same)");

  app.add_subcommand("conflicts", "List the tasks holding a conflicts: record");
}

// keygen, daemon.
void AddClientCommands(CLI::App& app, CommandLine& c) {
  c.keygen = app.add_subcommand(
      "keygen", "Make this client's key pair for taskfs-server remotes; print the public key");
  c.keygen->add_option("--name", c.name, "A name to put in the certificate")
      ->default_val("taskfs client");
  c.keygen->add_flag("--force", c.force, "Replace an existing key pair");

  c.daemon = app.add_subcommand(
      "daemon",
      "Sync with every remote in the background: at start, after each save, when a shared "
      "folder changes, when a taskfs-server says another machine pushed, and every --interval "
      "for other network remotes (runs in the foreground)");
  c.daemon
      ->add_option("--interval", c.daemon_args.interval_seconds,
                   "Seconds between syncs with remotes it cannot watch (network git URLs; a "
                   "taskfs-server while it cannot be waited on)")
      ->default_val(60)
      ->check(CLI::Range(1, 86400));
  c.daemon->add_flag("--until-unmount", c.daemon_args.until_unmount,
                     "Stop when the store's mount is unmounted (how `taskfs mount` starts it)");
  c.daemon->add_flag("--syslog", c.daemon_args.syslog, "Log to syslog instead of stderr");
}

// Runs the subcommand given; its exit status.
int Run(const CLI::App& app, CommandLine& c) {
  const GlobalOptions& g = c.g;
  if (*c.init) return RunInit(g, c.name);
  if (*c.mount) {
    c.mount_args.foreground = c.mount_args.foreground || c.mount_args.debug;
    c.mount_args.sync = !c.no_sync;
    return RunMount(g, c.mount_args);
  }
  if (*c.umount) return RunUmount(g, c.mountpoint, c.lazy);
  if (app.got_subcommand("status")) return RunStatus(g);
  if (*c.log) return RunLog(g, c.name);
  if (*c.show) return RunShow(g, c.spec);
  if (app.got_subcommand("store-path")) return RunStorePath(g);
  if (*c.remote_add) {
    return RunRemoteAdd(g, c.name, c.url,
                        c.as_folder ? RemoteKindChoice::kFolder
                                    : (c.as_git ? RemoteKindChoice::kGit : RemoteKindChoice::kAuto),
                        c.server_cert, c.accept_host_key);
  }
  if (*c.remote_remove) return RunRemoteRemove(g, c.name);
  if (*c.remote_show) return RunRemoteShow(g, c.name);
  if (*c.remote) return RunRemoteList(g);
  if (*c.sync) return RunSync(g, c.remotes);
  if (*c.clone) return RunClone(g, c.url, c.name, c.accept_host_key);
  if (app.got_subcommand("conflicts")) return RunConflicts(g);
  if (*c.daemon) return RunDaemon(g, c.daemon_args);
  if (*c.keygen) return RunKeygen(c.name, c.force);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskfs: your tasks as YAML files in a folder; every save is a git commit"};
  app.set_version_flag("--version", "taskfs " TASKFS_VERSION);
  app.require_subcommand(1);
  CommandLine c;
  app.add_option("--store", c.g.store,
                 "Store to use (default: $TASKFS_STORE, else $XDG_DATA_HOME/taskfs/store)")
      ->envname("TASKFS_STORE");
  AddStoreCommands(app, c);
  AddReadingCommands(app, c);
  AddSyncCommands(app, c);
  AddClientCommands(app, c);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return Run(app, c);
}
