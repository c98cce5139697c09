#!/usr/bin/env bash
# bench_daemon.sh [N] [--keep]
#
# Background sync between two mounts on this machine, each with the sync daemon its mount
# started, through a shared folder, a bare git repository and taskfs-server on 127.0.0.1 (one
# after the other; the daemons are told of the server's pushes by its long-poll, GET /sync/wait).
# N tasks (default 1000, from tools/bench/gen_tasks.py) are in both stores first.
#
#   latency  a save in mount A (open, write, close) until mount B reads the new bytes:
#            SAVES (20) saves, 0.3 s apart, median and max
#   idle     CPU time (utime + stime) both daemons use in IDLE_SECONDS (10) with nothing to do
#   burst    BURST (1000) saves in a row in mount A: how many syncs A's daemon made until B
#            has the last one, and how long that took
#
# Environment: TASKFS_BIN, TASKFS_SERVER_BIN (the binaries), SAVES, IDLE_SECONDS, BURST,
# BENCH_DIR (/var/tmp).
# Exit codes: 0 ran (see the table for targets), 1 something failed, 2 usage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=1000
KEEP=0
parse_args keep -- "$@"
export SAVES="${SAVES:-20}" IDLE_SECONDS="${IDLE_SECONDS:-10}" BURST="${BURST:-1000}"

need_bin taskfs
need_bin taskfs-server
command -v fusermount3 > /dev/null || die "fusermount3 is missing (apt-get install fuse3)"

# Unmounted, its mounts and sync daemons ended, and deleted on exit (lib.sh).
make_work taskfs-bench-daemon

python3 "$GEN" "$WORK/tasks" "$N" > /dev/null

# start_server DIR: a taskfs-server of its own in DIR on a free port of 127.0.0.1; prints its URL.
start_server() {
  "$TASKFS_SERVER" init "$1" --host 127.0.0.1 > /dev/null
  "$TASKFS_SERVER" serve "$1" --listen 127.0.0.1:0 --port-file "$1/port" > "$1/log" 2>&1 &
  local i
  for ((i = 0; i < 200; i++)); do [[ -s "$1/port" ]] && break; sleep 0.05; done
  [[ -s "$1/port" ]] || die "taskfs-server did not start: $(cat "$1/log")"
  echo "taskfs://127.0.0.1:$(cat "$1/port")"
}

# add_origin KIND STORE SIDE REMOTE: the remote "origin" of STORE; for a server, a client key
# pair of SIDE's own, registered there.
add_origin() {
  local kind="$1" store="$2" side="$3" remote="$4"
  if [[ "$kind" != server ]]; then
    "$TASKFS" --store "$store" remote add "--$kind" origin "$remote" > /dev/null
    return
  fi
  local keys="$WORK/server-keys/$side"
  XDG_CONFIG_HOME="$keys" "$TASKFS" keygen --name "bench $side" > "$keys.pub.pem"
  "$TASKFS_SERVER" admin --dir "$WORK/server" register --name "$side" "$keys.pub.pem" > /dev/null
  "$TASKFS" --store "$store" remote add origin "$remote" --server-cert "$WORK/server/server.crt" \
    > /dev/null
  git --git-dir="$store" config taskfs.clientKey "$keys/taskfs/client.key"
  git --git-dir="$store" config taskfs.clientCert "$keys/taskfs/client.crt"
}

# run_kind KIND: two stores syncing through a remote of KIND (folder | git | server); prints one
# JSON line.
run_kind() {
  local kind="$1" dir="$WORK/$1" remote
  mkdir -p "$dir/a/mnt" "$dir/b/mnt"
  case "$kind" in
    git) remote="$dir/remote.git"; git init -q --bare -b main "$remote" ;;
    folder) remote="$dir/shared-folder" ;;
    server) mkdir -p "$WORK/server-keys"; remote="$(start_server "$WORK/server")" ;;
  esac
  for side in a b; do
    "$TASKFS" --store "$dir/$side/store" init --name "bench $side" > /dev/null
    add_origin "$kind" "$dir/$side/store" "$side" "$remote"
    "$TASKFS" --store "$dir/$side/store" mount "$dir/$side/mnt"
  done
  log "$kind: copying $N tasks into mount A and waiting for mount B to have them"
  cp "$WORK/tasks"/*.yaml "$dir/a/mnt/"
  python3 - "$dir" "$N" <<'PY' || die "$kind: mount B did not receive the $2 tasks"
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 120
while time.time() < deadline:
    if len([f for f in os.listdir(d + "/b/mnt") if f.endswith(".yaml")]) >= n:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
  python3 - "$dir" "$kind" <<'PY'
import json, os, statistics, sys, time
d, kind = sys.argv[1], sys.argv[2]
A, B = d + "/a/mnt", d + "/b/mnt"
saves, idle_s, burst = int(os.environ["SAVES"]), int(os.environ["IDLE_SECONDS"]), int(os.environ["BURST"])

def daemon_pid(side):
    return int(open(f"{d}/{side}/store/taskfs/daemon.lock").read().split()[0])

def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime

def syncs(side):
    st = json.load(open(f"{d}/{side}/store/taskfs/sync-status.json"))
    return sum(r["syncs"] for r in st["remotes"])

def save(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, data)
    os.close(fd)

def wait_for(path, data, timeout=30):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    raise SystemExit(f"{kind}: {path} did not show the save within {timeout} s")

lat = []
for i in range(saves):
    data = f"title: latency probe {i}\nstatus: pending\n".encode()
    t0 = time.monotonic()
    save(f"{A}/probe-{i}.yaml", data)
    lat.append((wait_for(f"{B}/probe-{i}.yaml", data) - t0) * 1000)
    time.sleep(0.3)

time.sleep(2)
pids = [daemon_pid("a"), daemon_pid("b")]
before = [cpu_ticks(p) for p in pids]
time.sleep(idle_s)
idle_ticks = sum(cpu_ticks(p) for p in pids) - sum(before)

syncs_before = syncs("a")
t0 = time.monotonic()
for i in range(burst):
    save(f"{A}/burst-{i % 50}.yaml", f"title: burst {i}\n".encode())
t_saved = time.monotonic()
wait_for(f"{B}/burst-{(burst - 1) % 50}.yaml", f"title: burst {burst - 1}\n".encode(), 120)
t_done = time.monotonic()
time.sleep(1)
print(json.dumps({
    "kind": kind, "median_ms": statistics.median(lat), "max_ms": max(lat),
    "idle_ticks": idle_ticks, "idle_s": idle_s, "clk_tck": os.sysconf("SC_CLK_TCK"),
    "burst": burst, "burst_syncs": syncs("a") - syncs_before,
    "burst_save_s": t_saved - t0, "burst_visible_s": t_done - t0,
}))
PY
  for side in a b; do "$TASKFS" umount "$dir/$side/mnt" > /dev/null; done
  for repo in "$dir/a/store" "$dir/b/store"; do
    git --git-dir="$repo" fsck --strict --no-dangling > /dev/null 2>&1 || die "$kind: git fsck of $repo failed"
  done
}

results=()
for kind in folder git server; do results+=("$(run_kind "$kind")"); done
python3 - "$N" "${results[@]}" <<'PY'
import json, sys
n, rows = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
print(f"\nbench_daemon.sh {n}: two mounts, each with its own sync daemon, on one machine\n")
print("| remote | save -> readable in the other mount, median (max) | target < 1 s | idle CPU of both daemons | burst: saves -> syncs by A (time until B has the last) |")
print("|---|---|---|---|---|")
for r in rows:
    ok = "met" if r["median_ms"] < 1000 else "MISSED"
    idle = r["idle_ticks"] / r["clk_tck"] * 1000
    print(f"| {r['kind']} | {r['median_ms']:.0f} ms ({r['max_ms']:.0f} ms) | {ok} | "
          f"{idle:.0f} ms in {r['idle_s']} s | {r['burst']} -> {r['burst_syncs']} "
          f"({r['burst_save_s']:.1f} s of saves, B current after {r['burst_visible_s']:.1f} s) |")
PY
