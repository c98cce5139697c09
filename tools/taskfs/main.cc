// taskfs: keep tasks as YAML files in a mounted folder; every save is a git commit.
#include <CLI/CLI.hpp>

#include "taskfs/version.h"
#include "tools/taskfs/commands.h"

int main(int argc, char** argv) {
  using namespace taskfs::cli;
  CLI::App app{"taskfs: your tasks as YAML files in a folder; every save is a git commit"};
  app.set_version_flag("--version", "taskfs " TASKFS_VERSION);
  app.require_subcommand(1);
  GlobalOptions g;
  app.add_option("--store", g.store,
                 "Store to use (default: $TASKFS_STORE, else $XDG_DATA_HOME/taskfs/store)")
      ->envname("TASKFS_STORE");

  std::string name, mountpoint, spec;
  bool lazy = false;
  MountArgs mount_args;
  bool no_sync = false;

  auto* init = app.add_subcommand("init", "Create a new, empty store");
  init->add_option("--name", name, "This client's name, the author of its commits")->required();

  auto* mount = app.add_subcommand("mount", "Mount the store at MOUNTPOINT");
  mount->add_option("mountpoint", mount_args.mountpoint, "An empty folder")->required();
  mount->add_flag("-f,--foreground", mount_args.foreground,
                  "Stay in the foreground, log to stderr");
  mount->add_flag("-d,--debug", mount_args.debug, "Log every FUSE request (implies --foreground)");
  mount->add_flag("--allow-other", mount_args.allow_other,
                  "Let other users use the mount, as the owners and modes of its files allow "
                  "(see PERMISSIONS in taskfs(1))");
  mount->add_flag("--read-only", mount_args.read_only,
                  "Refuse every change through the mount (EROFS); syncs still update it");
  mount->add_flag("--nonempty", mount_args.nonempty,
                  "Mount over a folder that holds files (they are hidden while mounted)");
  mount->add_flag("--no-sync", no_sync,
                  "Do not start the sync daemon (by default it starts when remotes exist)");

  auto* umount = app.add_subcommand("umount", "Unmount MOUNTPOINT, committing what is pending");
  umount->add_option("mountpoint", mountpoint, "The mounted folder")->required();
  umount->add_flag("-z,--lazy", lazy, "Detach now even if files are open; finish when closed");

  app.add_subcommand("status",
                     "Show the store, the mount, drafts, local-only files and how syncing goes");

  auto* log = app.add_subcommand("log", "Show a task's history, following renames");
  log->add_option("task", name, "Task name, e.g. work/buy-milk")->required();

  auto* show = app.add_subcommand("show", "Print a task, now or N changes ago (NAME@~N)");
  show->add_option("task", spec, "Task name, optionally with @~N")->required();

  app.add_subcommand("store-path", "Print the store's path");

  std::string url;
  std::vector<std::string> remotes;
  auto* remote = app.add_subcommand("remote", "List, add or remove the remotes to sync with");
  auto* remote_add =
      remote->add_subcommand("add", "Add a remote: a git URL or path, or a shared folder");
  remote_add->add_option("name", name, "A short name, e.g. origin")->required();
  remote_add
      ->add_option("url", url,
                   "git@host:me/tasks.git, https://..., file://..., a path to a git "
                   "repository, or a folder that a file syncer shares (e.g. ~/Dropbox/tasks)")
      ->required();
  bool as_folder = false, as_git = false;
  auto* folder_flag = remote_add->add_flag(
      "--folder", as_folder,
      "A shared folder (the default for a path that is empty, missing or already one)");
  remote_add->add_flag("--git", as_git, "A git repository (the default for URLs)")
      ->excludes(folder_flag);
  std::string server_cert;
  remote_add->add_option("--server-cert", server_cert,
                         "For taskfs://HOST:PORT: the server's certificate (its server.crt), "
                         "which pins the server");
  auto* remote_remove = remote->add_subcommand("remove", "Forget a remote");
  remote_remove->add_option("name", name, "The remote's name")->required();
  remote->add_subcommand("list", "List the remotes (the default)");

  auto* sync = app.add_subcommand("sync", "Fetch, merge and push with the remotes");
  sync->add_option("remotes", remotes, "Remotes to sync with (default: all)");

  auto* clone = app.add_subcommand("clone", "Create this machine's store from a remote");
  clone->add_option("url", url, "The remote to clone")->required();
  clone->add_option("--name", name, "This client's name, the author of its commits")->required();

  app.add_subcommand("conflicts", "List the tasks holding a conflicts: record");

  bool force = false;
  auto* keygen = app.add_subcommand(
      "keygen", "Make this client's key pair for taskfs-server remotes; print the public key");
  keygen->add_option("--name", name, "A name to put in the certificate")
      ->default_val("taskfs client");
  keygen->add_flag("--force", force, "Replace an existing key pair");

  DaemonArgs daemon_args;
  auto* daemon = app.add_subcommand(
      "daemon",
      "Sync with every remote in the background: at start, after each save, when a shared "
      "folder changes, and every --interval for network remotes (runs in the foreground)");
  daemon
      ->add_option("--interval", daemon_args.interval_seconds,
                   "Seconds between syncs with remotes it cannot watch (network URLs)")
      ->default_val(60)
      ->check(CLI::Range(1, 86400));
  daemon->add_flag("--until-unmount", daemon_args.until_unmount,
                   "Stop when the store's mount is unmounted (how `taskfs mount` starts it)");
  daemon->add_flag("--syslog", daemon_args.syslog, "Log to syslog instead of stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (*init) return RunInit(g, name);
  if (*mount) {
    mount_args.foreground = mount_args.foreground || mount_args.debug;
    mount_args.sync = !no_sync;
    return RunMount(g, mount_args);
  }
  if (*umount) return RunUmount(g, mountpoint, lazy);
  if (app.got_subcommand("status")) return RunStatus(g);
  if (*log) return RunLog(g, name);
  if (*show) return RunShow(g, spec);
  if (app.got_subcommand("store-path")) return RunStorePath(g);
  if (*remote_add) {
    return RunRemoteAdd(g, name, url,
                        as_folder ? RemoteKindChoice::kFolder
                                  : (as_git ? RemoteKindChoice::kGit : RemoteKindChoice::kAuto),
                        server_cert);
  }
  if (*remote_remove) return RunRemoteRemove(g, name);
  if (*remote) return RunRemoteList(g);
  if (*sync) return RunSync(g, remotes);
  if (*clone) return RunClone(g, url, name);
  if (app.got_subcommand("conflicts")) return RunConflicts(g);
  if (*daemon) return RunDaemon(g, daemon_args);
  if (*keygen) return RunKeygen(name, force);
  return 2;
}
