#!/usr/bin/env bash
# bench_scale.sh [N] [--folders F] [--keep]
#
# Scale: a store of N tasks (default 100000) from tools/bench/gen_tasks.py, flat or spread over
# F folders, imported with git. Measures, median of MOUNT_RUNS (3) runs each:
#   mount    `taskfs mount` until `ls` of the mount root answers (warm page cache)
#   memory   resident memory (VmRSS) of the mount idle for 6 s after that `ls`, against the
#            tasks' bytes (the mount hands a large listing's buffers back at its 5 s tick)
#   sync     `taskfs sync` with nothing to do against a bare clone of the store (mounted)
# A lone save at this size: tools/bench/bench_mount.sh N --only save (compare with N=10000).
#
# Environment: TASKFS_BIN (taskfs binary), MOUNT_RUNS (3), BENCH_DIR (parent of the work dir).
# Exit codes: 0 ran (targets may be missed: see the table), 1 something failed, 2 usage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=100000
FOLDERS=0
KEEP=0
parse_args keep folders=FOLDERS -- "$@"
check_count 1
[[ "$FOLDERS" =~ ^[0-9]+$ ]] || bad_usage "--folders takes a number"
MOUNT_RUNS="${MOUNT_RUNS:-3}"
need_bin taskfs
need_tools git python3 fusermount3 find

make_work taskfs-scale
STORE="$WORK/store"
MNT="$WORK/mnt"
PEER="$WORK/peer.git"
RESULTS="$WORK/results"
mkdir -p "$MNT"
: >"$RESULTS"
isolated_git

log "work dir $WORK, N=$N, folders=$FOLDERS, taskfs $TASKFS"
python3 "$GEN" "$WORK/tasks" "$N" "$FOLDERS"
TASK_BYTES="$(find "$WORK/tasks" -name '*.yaml' -printf '%s\n' | awk '{s+=$1} END {print s}')"
TASKFS_STORE="$STORE" "$TASKFS" init --name bench >/dev/null || die "taskfs init failed"
git -C "$WORK/tasks" init -q -b main
git -C "$WORK/tasks" add -A
git -C "$WORK/tasks" -c gc.auto=0 commit -q -m "import $N tasks"
git -C "$WORK/tasks" push -q "$STORE" main:main
git -C "$STORE" gc -q
git clone -q --bare "$STORE" "$PEER"
"$TASKFS" --store "$STORE" remote add origin "$PEER" >/dev/null
echo "task_bytes=$TASK_BYTES" >>"$RESULTS"

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

for run in $(seq "$MOUNT_RUNS"); do
  start="$(date +%s%N)"
  "$TASKFS" --store "$STORE" mount --no-sync "$MNT" >&2 || die "taskfs mount failed"
  ls "$MNT" >/dev/null || die "ls of the mount failed"
  echo "mount_ms=$(ms_since "$start")" >>"$RESULTS"
  pid="$(head -n1 "$STORE/taskfs/mount")"
  sleep 6
  echo "rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")" >>"$RESULTS"
  start="$(date +%s%N)"
  "$TASKFS" --store "$STORE" sync >/dev/null || die "taskfs sync failed (run $run)"
  echo "sync_ms=$(ms_since "$start")" >>"$RESULTS"
  "$TASKFS" --store "$STORE" umount "$MNT" || die "taskfs umount failed"
done

bench_python "$RESULTS" "$N" "$FOLDERS" <<'PY'
import statistics, sys
results, n, folders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
values = {}
for line in open(results):
    key, value = line.strip().split("=")
    values.setdefault(key, []).append(float(value))
task_mb = values["task_bytes"][0] / 1e6
mount = statistics.median(values["mount_ms"])
rss_mb = statistics.median(values["rss_kb"]) * 1024 / 1e6
sync = statistics.median(values["sync_ms"])
layout = "%d tasks, %s" % (n, "%d folders" % folders if folders else "flat")
rows = [
    ("mount until ls answers", "%.0f ms" % mount, "< 1000 ms" if n <= 100000 else "< 10000 ms",
     "met" if mount < (1000 if n <= 100000 else 10000) else "MISSED"),
    ("idle mount RSS / task bytes", "%.1f MB / %.1f MB = %.2fx" % (rss_mb, task_mb, rss_mb / task_mb),
     "<= 1.5x", "met" if rss_mb <= 1.5 * task_mb else "MISSED"),
    ("taskfs sync, nothing to do", "%.0f ms" % sync, "<= 50 ms", "met" if sync <= 50 else "MISSED"),
]
print("bench_scale.sh: " + layout)
print_table(("measure", "taskfs", "target", "result"), rows)
PY
