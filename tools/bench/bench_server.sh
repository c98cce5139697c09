#!/usr/bin/env bash
# bench_server.sh [CLIENTS] [--keep]
#
# Syncs per second with CLIENTS (default 50) concurrent clients, each changing one task and
# syncing, through taskfs-server (mutual TLS) and through `git daemon` (plain git, no TLS), side
# by side on 127.0.0.1, and the servers' peak memory.
#
#   taskfs   each client: edit its task in its store, `taskfs sync` (fetch, merge, push; the
#            server merges pushes that race)
#   git      each client: edit its task in a clone, `git commit`, then `git pull --no-rebase` +
#            `git push` until the push is accepted (races are retried, as git users do)
#
# ROUNDS (default 4) rounds, all clients at once in each; syncs/s = CLIENTS x ROUNDS / wall time.
# It also samples taskfs-server's VmRSS after each round and 6 s after the last (the server hands
# memory back after 5 s without requests), to show whether it grows with the syncs it served.
# Environment: TASKFS_BIN, TASKFS_SERVER_BIN, ROUNDS, TASKS (tasks in the store, 200),
# BENCH_DIR (/var/tmp). Exit codes: 0 ran, 1 something failed, 2 usage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=50  # the number of clients
KEEP=0
parse_args keep -- "$@"
export TASKFS TASKFS_SERVER ROUNDS="${ROUNDS:-4}" TASKS="${TASKS:-200}" CLIENTS="$N"
need_bin taskfs
need_bin taskfs-server

# Stripped of the servers (taskfs-server, git daemon) and deleted on exit (lib.sh).
make_work taskfs-bench-server
export WORK

python3 "$GEN" "$WORK/tasks" "$TASKS" > /dev/null
python3 - <<'PY'
import concurrent.futures as cf, json, os, shutil, statistics, subprocess, sys, time

W, TASKFS, SERVER = os.environ["WORK"], os.environ["TASKFS"], os.environ["TASKFS_SERVER"]
N, ROUNDS = int(os.environ["CLIENTS"]), int(os.environ["ROUNDS"])
tasks = sorted(os.listdir(f"{W}/tasks"))

def run(*cmd, env=None, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode != 0:
        sys.exit(f"bench_server.sh: FAILED: {' '.join(cmd)}: {r.stdout}{r.stderr}")
    return r.stdout

def start(cmd, name):
    return subprocess.Popen(cmd, stdout=open(f"{W}/{name}.log", "w"), stderr=subprocess.STDOUT)

def status_kb(pid, key):  # a figure of /proc/PID/status, e.g. VmHWM
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0

def measure(sync_one, after_round=lambda: None):
    t0 = time.monotonic()
    for r in range(ROUNDS):
        with cf.ThreadPoolExecutor(N) as pool:
            list(pool.map(lambda i: sync_one(i, r), range(N)))
        after_round()
    return N * ROUNDS / (time.monotonic() - t0)

# --- taskfs-server ---
srv = f"{W}/server"
run(SERVER, "init", srv, "--host", "127.0.0.1")
server = start([SERVER, "serve", srv, "--listen", "127.0.0.1:0", "--port-file", f"{W}/port"], "taskfs-server")
while not os.path.exists(f"{W}/port") or not open(f"{W}/port").read().strip():
    time.sleep(0.05)
port = int(open(f"{W}/port").read())
seed = f"{W}/seed-mnt"
for i in range(N):
    store, cfg = f"{W}/t{i}", f"{W}/t{i}-cfg"
    env = dict(os.environ, XDG_CONFIG_HOME=cfg)
    pub = run(TASKFS, "keygen", env=env)
    open(f"{cfg}/pub.pem", "w").write(pub)
    run(SERVER, "admin", "--dir", srv, "register", "--name", f"c{i}", f"{cfg}/pub.pem")
    run(TASKFS, "--store", store, "init", "--name", f"c{i}")
    run(TASKFS, "--store", store, "remote", "add", "home", f"taskfs://127.0.0.1:{port}", "--server-cert", f"{srv}/server.crt")
    run("git", "--git-dir", store, "config", "taskfs.clientKey", f"{cfg}/taskfs/client.key")
    run("git", "--git-dir", store, "config", "taskfs.clientCert", f"{cfg}/taskfs/client.crt")
# The tasks enter through client 0 (a plain git clone of its store), then everyone syncs.
os.makedirs(f"{W}/import")
run("git", "init", "-q", "-b", "main", f"{W}/import")
for t in tasks:
    shutil.copy(f"{W}/tasks/{t}", f"{W}/import/{t}")
run("git", "-C", f"{W}/import", "add", ".")
run("git", "-C", f"{W}/import", "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "import")
run("git", "-C", f"{W}/import", "push", "-q", f"{W}/t0", "main:main")
for i in range(N):
    run(TASKFS, "--store", f"{W}/t{i}", "sync")

def taskfs_sync(i, r):
    store = f"{W}/t{i}"
    # Each client changes one task (its own): one commit, as a save through the mount makes.
    body = f"title: client {i} round {r}\nstatus: active\n"
    blob = subprocess.run(["git", "--git-dir", store, "hash-object", "-w", "--stdin"], input=body, capture_output=True, text=True).stdout.strip()
    idx = f"{W}/t{i}.index"
    env = dict(os.environ, GIT_INDEX_FILE=idx, GIT_DIR=store)
    run("git", "read-tree", "main", env=env)
    run("git", "update-index", "--add", "--cacheinfo", f"100644,{blob},client-{i}.yaml", env=env)
    t = run("git", "write-tree", env=env).strip()
    c = run("git", "-c", f"user.name=c{i}", "-c", f"user.email=c{i}@taskfs", "commit-tree", t, "-p", "main", "-m", f"edit client-{i}", env=env).strip()
    run("git", "update-ref", "refs/heads/main", c, env=env)
    run(TASKFS, "--store", store, "sync")

round_rss = []  # the server's VmRSS after each round, kB
taskfs_rate = measure(taskfs_sync, lambda: round_rss.append(status_kb(server.pid, "VmRSS")))
taskfs_mem = status_kb(server.pid, "VmHWM")
time.sleep(6)
idle_rss = status_kb(server.pid, "VmRSS")
run("git", "--git-dir", f"{srv}/store", "fsck", "--strict", "--no-dangling")
server.terminate(); server.wait()

# --- git daemon ---
bare = f"{W}/git/tasks.git"
os.makedirs(f"{W}/git")
run("git", "clone", "-q", "--bare", f"{W}/import", bare)
run("git", "--git-dir", bare, "config", "receive.denyCurrentBranch", "ignore")
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); gport = s.getsockname()[1]; s.close()
daemon = start(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                "--max-connections=0",
                f"--base-path={W}/git", "--listen=127.0.0.1", f"--port={gport}", f"{W}/git"], "git-daemon")
time.sleep(0.5)
url = f"git://127.0.0.1:{gport}/tasks.git"
for i in range(N):
    run("git", "clone", "-q", url, f"{W}/g{i}")
    run("git", "-C", f"{W}/g{i}", "config", "user.name", f"c{i}")
    run("git", "-C", f"{W}/g{i}", "config", "user.email", f"c{i}@git")

def git_sync(i, r):
    d = f"{W}/g{i}"
    open(f"{d}/client-{i}.yaml", "w").write(f"title: client {i} round {r}\nstatus: active\n")
    run("git", "-C", d, "add", f"client-{i}.yaml")
    run("git", "-C", d, "commit", "-q", "-m", f"edit client-{i}")
    for attempt in range(200):
        pulled = subprocess.run(["git", "-C", d, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
                                capture_output=True).returncode == 0
        if pulled and subprocess.run(["git", "-C", d, "push", "-q", "origin", "main"],
                                     capture_output=True).returncode == 0:
            return
        time.sleep(0.01 * (attempt % 10))
    sys.exit("git push never succeeded")

git_rate = measure(git_sync)
# `git daemon` runs the listener, git-daemon, as its child (found without pgrep: procps is not
# among the packages install-deps.sh installs).
children = open(f"/proc/{daemon.pid}/task/{daemon.pid}/children").read().split()
git_mem = max([status_kb(daemon.pid, "VmHWM")] + [status_kb(int(c), "VmHWM") for c in children])
daemon.terminate(); daemon.wait()

print(f"\nbench_server.sh: {N} concurrent clients x {ROUNDS} rounds, each client changing one task "
      f"and syncing, store of {len(tasks)} tasks, 127.0.0.1\n")
print("| server | syncs per second | peak memory of the server process |")
print("|---|---|---|")
print(f"| taskfs-server (mutual TLS 1.3) | {taskfs_rate:.1f} | {taskfs_mem / 1024:.1f} MB |")
print(f"| git daemon (git://, no TLS; fetch + merge + push, retried on races) | {git_rate:.1f} | {git_mem / 1024:.1f} MB (the listener; each connection forks its own git process) |")
mb = lambda kb: f"{kb / 1024:.1f}"
step = max(1, ROUNDS // 10)
print(f"\ntaskfs-server VmRSS after round 1: {mb(round_rss[0])} MB, after round {ROUNDS}: "
      f"{mb(round_rss[-1])} MB, 6 s idle after: {mb(idle_rss)} MB; after every "
      f"{step} round(s): {' '.join(mb(kb) for kb in round_rss[step - 1::step])}")
print(f"\nratio taskfs/git: {taskfs_rate / git_rate:.2f} (target >= 1); taskfs-server peak memory "
      f"{'under' if taskfs_mem < 100 * 1024 else 'OVER'} 100 MB")
PY
