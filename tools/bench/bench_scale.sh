#!/usr/bin/env bash
# bench_scale.sh [N] [--folders F] [--cycles C] [--keep]
#
# Scale: a store of N tasks (default 100000) from tools/bench/gen_tasks.py, flat or spread over
# F folders, imported with git. Measures, median of MOUNT_RUNS (3) runs each:
#   mount    `taskfs mount` until `ls` of the mount root answers (warm page cache)
#   memory   resident memory (VmRSS) of the mount idle for 6 s after that `ls`, against the
#            tasks' bytes (the mount hands a large listing's buffers back at its 5 s tick)
#   sync     `taskfs sync` with nothing to do against a bare clone of the store (mounted)
# With --cycles C, then C save/sync cycles on one mount: each edits another task through the
# mount with `sed -i` and runs `taskfs sync` (the save committed and pushed); VmRSS is sampled
# after every C/10 cycles and once more after 6 s idle at the end, against the idle figure
# before the first cycle (target: no growth).
# A lone save at this size: tools/bench/bench_mount.sh N --only save (compare with N=10000).
#
# Environment: TASKFS_BIN (taskfs binary), MOUNT_RUNS (3), BENCH_DIR (parent of the work dir).
# Exit codes: 0 ran (targets may be missed: see the table), 1 something failed, 2 usage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=100000
FOLDERS=0
CYCLES=0
KEEP=0
parse_args keep folders=FOLDERS cycles=CYCLES -- "$@"
check_count 1
[[ "$FOLDERS" =~ ^[0-9]+$ ]] || bad_usage "--folders takes a number"
[[ "$CYCLES" =~ ^[0-9]+$ ]] || bad_usage "--cycles takes a number"
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
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# VmRSS and, after a colon, RssAnon: the process's own memory, without the pages of files it maps
# (packs: the kernel's page cache, bounded by the store's size).
rss_anon_kb() { awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} END {print r ":" a}' "/proc/$1/status"; }

for run in $(seq "$MOUNT_RUNS"); do
  start="$(date +%s%N)"
  "$TASKFS" --store "$STORE" mount --no-sync "$MNT" >&2 || die "taskfs mount failed"
  ls "$MNT" >/dev/null || die "ls of the mount failed"
  echo "mount_ms=$(ms_since "$start")" >>"$RESULTS"
  pid="$(head -n1 "$STORE/taskfs/mount")"
  sleep 6
  echo "rss_kb=$(rss_kb "$pid")" >>"$RESULTS"
  start="$(date +%s%N)"
  "$TASKFS" --store "$STORE" sync >/dev/null || die "taskfs sync failed (run $run)"
  echo "sync_ms=$(ms_since "$start")" >>"$RESULTS"
  "$TASKFS" --store "$STORE" umount "$MNT" || die "taskfs umount failed"
done

if ((CYCLES > 0)); then
  log "$CYCLES save/sync cycles"
  (cd "$WORK/tasks" && find . -name '*.yaml' -printf '%P\n' | sort) >"$WORK/names"
  mapfile -t names <"$WORK/names"
  "$TASKFS" --store "$STORE" mount --no-sync "$MNT" >&2 || die "taskfs mount failed"
  ls "$MNT" >/dev/null
  pid="$(head -n1 "$STORE/taskfs/mount")"
  sleep 6
  echo "cycle_rss_kb=0:$(rss_anon_kb "$pid")" >>"$RESULTS"
  start="$(date +%s%N)"
  for cycle in $(seq "$CYCLES"); do
    name="${names[$(( (cycle * 7919) % ${#names[@]} ))]}"
    sed -i "1s/.*/title: cycle $cycle/" "$MNT/$name" || die "sed -i of $name failed (cycle $cycle)"
    "$TASKFS" --store "$STORE" sync >/dev/null || die "taskfs sync failed (cycle $cycle)"
    if ((cycle % ((CYCLES + 9) / 10) == 0 || cycle == CYCLES)); then
      echo "cycle_rss_kb=$cycle:$(rss_anon_kb "$pid")" >>"$RESULTS"
    fi
  done
  echo "cycle_ms=$(( $(ms_since "$start") / CYCLES ))" >>"$RESULTS"
  sleep 6
  echo "cycle_rss_kb=idle:$(rss_anon_kb "$pid")" >>"$RESULTS"
  echo "open_fds=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)" >>"$RESULTS"
  [[ "$(git -C "$PEER" rev-parse main)" == "$(git -C "$STORE" rev-parse main)" ]] ||
    die "the peer does not have the last cycle's commit"
  "$TASKFS" --store "$STORE" umount "$MNT" || die "taskfs umount failed"
fi

bench_python "$RESULTS" "$N" "$FOLDERS" <<'PY'
import statistics, sys
results, n, folders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
values, cycle_rss = {}, []
for line in open(results):
    key, value = line.strip().split("=")
    if key == "cycle_rss_kb":
        cycle, rss, anon = value.split(":")
        cycle_rss.append((cycle, int(rss) / 1024, int(anon) / 1024))
    else:
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
if cycle_rss:
    (_, before, before_anon), (_, after, after_anon) = cycle_rss[0], cycle_rss[-1]
    peak = max(rss for _, rss, _ in cycle_rss)
    label = "over %s save/sync cycles (%.0f ms each)" % (cycle_rss[-2][0], values["cycle_ms"][0])
    rows.append(("RSS " + label, "%.1f MB before, %.1f MB peak, %.1f MB idle after (%+.0f%%)"
                 % (before, peak, after, 100 * (after / before - 1)),
                 "<= 3x task bytes", "met" if after <= 3 * task_mb else "MISSED"))
    rows.append(("  of it anonymous (not mapped packs)", "%.1f MB before, %.1f MB after (%+.0f%%)"
                 % (before_anon, after_anon, 100 * (after_anon / before_anon - 1)),
                 "no growth", "see the samples"))
    rows.append(("  open file descriptors after", "%d" % values["open_fds"][0], "bounded", "-"))
    print("VmRSS/RssAnon after each tenth of the cycles (MB): " +
          " ".join("%s:%.1f/%.1f" % c for c in cycle_rss))
print("bench_scale.sh: " + layout)
print_table(("measure", "taskfs", "target", "result"), rows)
PY
