#!/usr/bin/env bash
# bench_bulk.sh [N]
#
# Bulk work with shell tools through the taskfs mount against the same work on a plain folder
# followed by one `git add -A && git commit`, side by side in one run, on N tasks (default
# 10000) from tools/bench/gen_tasks.py. A taskfs step counts until its last commit is on `main`
# (the journal is empty), not just until the shell tool returned.
#
#   import  cp -r of the N tasks into the mount / into a folder, then git add -A && git commit
#   stat    while the import runs, a reader stat()s a task every millisecond: p50, p99, max
#   sed     sed -i 's/^priority: L$/priority: M/' over every task (and the mount's CPU meanwhile);
#           also over a do-nothing FUSE mount (libfuse's passthrough_ll example, built from
#           libfuse3-dev's examples, fully cached): the cost of FUSE's round trips alone, the floor
#           for any FUSE file system on this machine
#   rm      rm of a tenth of the tasks (taskfs defers a delete 2 s for editors' rename dances:
#           shown apart)
#   save    200 appends to distinct tasks (`echo x: 1 >> t.yaml`): close() latency, and time
#           until the commit is on main, against `git add && git commit` of one file
#   cat     cat of every task, warm, against the local disk
#   size    the store's objects at the end, against the same history after `git gc`
#
# Environment: TASKFS_BIN (taskfs binary), BENCH_DIR (parent of the work dir, /var/tmp),
#              SAVES (200). Exit codes: 0 ran, 1 something failed, 2 usage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10000
parse_args -- "$@"
check_count 100
SAVES="${SAVES:-200}"
need_bin taskfs

make_work taskfs-bulk  # unmounted (the mount, the do-nothing FUSE mount) and deleted on exit
STORE="$WORK/store" MNT="$WORK/mnt" SRC="$WORK/src" PLAIN="$WORK/plain"
mkdir -p "$MNT" "$PLAIN"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@b

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
row() { printf '| %-44s | %12s | %12s | %8s |\n' "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}x')" "$1" "$2"; }

python3 "$GEN" "$SRC" "$N"
"$TASKFS" --store "$STORE" init --name bench >/dev/null
"$TASKFS" --store "$STORE" mount --no-sync "$MNT"
mount_pid=$(head -1 "$STORE/taskfs/mount")  # the mount records its pid, then its mount point
# CPU seconds the mount process used so far (user + system): compared before and after a step,
# a measure that does not depend on how fast the plain folder was in this run.
mount_cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$mount_pid/stat"; }
# CPU seconds so far of each of the mount's named threads (taskfs-commit, taskfs-repack, ...), one
# "name seconds" line each; the FUSE workers are the rest of mount_cpu (libfuse ends idle ones).
thread_cpu() {
  for t in /proc/"$mount_pid"/task/*; do
    echo "$(cat "$t/comm") $(awk '{printf "%.2f", ($14 + $15) / 100}' "$t/stat")"
  done | awk '$1 != "taskfs" {cpu[$1] += $2} END {for (n in cpu) print n, cpu[n]}' | sort
}
# What each named thread used between two thread_cpu outputs, on one line.
thread_cpu_used() {
  join <(echo "$1") <(echo "$2") | awk '{printf "%s%s %.2f s", sep, $1, $3 - $2; sep = ", "}'
}
git -C "$PLAIN" init -q

log "import ($N tasks), with a reader's stat() latency meanwhile"
tasks=("$SRC"/*.yaml)
first=$(basename "${tasks[0]}")
cp "$SRC/$first" "$MNT/$first"   # the task the reader stats
wait_committed "$STORE"
python3 - "$MNT/$first" "$WORK/stat.txt" <<'PY' &
import os, sys, time
path, out = sys.argv[1], sys.argv[2]
lat = []
stop = out + ".stop"
while not os.path.exists(stop):
    t = time.perf_counter(); os.stat(path); lat.append(time.perf_counter() - t)
    time.sleep(0.001)
lat = sorted(lat) or [0.0]  # a small import can end before the first stat()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
open(out, "w").write(f"{pick(0.5):.2f} {pick(0.99):.2f} {lat[-1] * 1000:.2f} {len(lat)}\n")
PY
reader=$!
t0=$(now); cp -r "$SRC/." "$MNT/"; t1=$(now); wait_committed "$STORE"; t2=$(now)
touch "$WORK/stat.txt.stop"; wait "$reader"
taskfs_cp=$(elapsed "$t0" "$t1"); taskfs_import=$(elapsed "$t0" "$t2")
t0=$(now); cp -r "$SRC/." "$PLAIN/"; git -C "$PLAIN" add -A; git -C "$PLAIN" commit -qm import; t1=$(now)
plain_import=$(elapsed "$t0" "$t1")
read -r stat_p50 stat_p99 stat_max stat_n < "$WORK/stat.txt"

log "sed -i over all"
c0=$(mount_cpu); threads0=$(thread_cpu)
t0=$(now); (cd "$MNT" && sed -i 's/^priority: L$/priority: M/' -- *.yaml); wait_committed "$STORE"; t1=$(now)
taskfs_sed=$(elapsed "$t0" "$t1"); sed_cpu=$(elapsed "$c0" "$(mount_cpu)")
sed_threads=$(thread_cpu_used "$threads0" "$(thread_cpu)")
t0=$(now); (cd "$PLAIN" && sed -i 's/^priority: L$/priority: M/' -- *.yaml && git add -A && git commit -qm sed); t1=$(now)
plain_sed=$(elapsed "$t0" "$t1")
floor_sed=""
if gcc -O2 -o "$WORK/passthrough_ll" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c \
     $(pkg-config --cflags --libs fuse3) 2>/dev/null; then
  mkdir -p "$WORK/floor-src" "$WORK/floor"
  cp -r "$SRC/." "$WORK/floor-src/"
  "$WORK/passthrough_ll" -o source="$WORK/floor-src" -o cache=always -o timeout=86400 "$WORK/floor"
  t0=$(now); (cd "$WORK/floor" && sed -i 's/^priority: L$/priority: M/' -- *.yaml); t1=$(now)
  floor_sed=$(elapsed "$t0" "$t1")
  fusermount3 -u "$WORK/floor"
fi

log "rm of a tenth"
ls "$SRC" | awk 'NR % 10 == 0' > "$WORK/rm.txt"
t0=$(now); (cd "$MNT" && xargs rm -- < "$WORK/rm.txt"); t1=$(now)
while [[ $(git --git-dir="$STORE" log -1 --format=%s main) != delete* ]]; do sleep 0.01; done; t2=$(now)
taskfs_rm=$(elapsed "$t0" "$t1"); taskfs_rm_committed=$(elapsed "$t0" "$t2")
t0=$(now); (cd "$PLAIN" && xargs rm -- < "$WORK/rm.txt" && git add -A && git commit -qm rm); t1=$(now)
plain_rm=$(elapsed "$t0" "$t1")

log "$SAVES lone saves"
ls "$MNT" | grep '\.yaml$' | awk -v n="$SAVES" 'NR <= n' > "$WORK/saves.txt"
python3 - "$MNT" "$STORE/refs/heads/main" "$WORK/saves.txt" "$WORK/save.txt" <<'PY'
import os, sys, time, statistics
mnt, ref, names, out = sys.argv[1:5]
ack, visible = [], []
for name in open(names).read().split():
    before = open(ref).read()
    t0 = time.perf_counter()
    with open(os.path.join(mnt, name), "a") as f:
        f.write("x: 1\n")
    t1 = time.perf_counter()
    while open(ref).read() == before:
        pass
    t2 = time.perf_counter()
    ack.append((t1 - t0) * 1000); visible.append((t2 - t1) * 1000)
    time.sleep(0.01)  # a person's pace: each save alone
open(out, "w").write(f"{statistics.median(ack):.2f} {statistics.median(visible):.2f}\n")
PY
read -r save_ack save_visible < "$WORK/save.txt"
python3 - "$PLAIN" "$WORK/saves.txt" "$WORK/gitsave.txt" <<'PY'
import os, subprocess, sys, time, statistics
plain, names, out = sys.argv[1:4]
t = []
for name in open(names).read().split()[:50]:
    t0 = time.perf_counter()
    with open(os.path.join(plain, name), "a") as f:
        f.write("x: 1\n")
    subprocess.run(["git", "-C", plain, "add", name], check=True)
    subprocess.run(["git", "-C", plain, "commit", "-qm", "edit " + name], check=True)
    t.append((time.perf_counter() - t0) * 1000)
open(out, "w").write(f"{statistics.median(t):.2f}\n")
PY
read -r git_save < "$WORK/gitsave.txt"

log "cat of all (warm, best of 3)"
best() {
  local b=""
  for _ in 1 2 3; do
    local t0 t1 e; t0=$(now); (cd "$1" && cat -- *.yaml > /dev/null); t1=$(now); e=$(elapsed "$t0" "$t1")
    if [[ -z $b ]] || python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$e" "$b"; then b=$e; fi
  done
  echo "$b"
}
taskfs_cat=$(best "$MNT"); plain_cat=$(best "$PLAIN")

git --git-dir="$STORE" fsck --strict >/dev/null 2>&1 || die "git fsck failed"
commits=$(git --git-dir="$STORE" rev-list --count main)
# The store's size after all this, against the same history packed by `git gc`.
store_kb=$(du -sk "$STORE/objects" | cut -f1)
git clone -q --mirror "$STORE" "$WORK/gc.git" && git -C "$WORK/gc.git" gc -q
gc_kb=$(du -sk "$WORK/gc.git/objects" | cut -f1)

echo
echo "bench_bulk.sh $N ($(date -u +%Y-%m-%d), $(nproc) cores): taskfs commits made: $commits"
row "work" "taskfs (s)" "plain+git (s)" "ratio"
row "---" "---" "---" "---"
row "cp -r import (until committed)" "$taskfs_import" "$plain_import" "$(ratio "$taskfs_import" "$plain_import")"
row "  of which cp -r itself" "$taskfs_cp" "" ""
row "sed -i over all (until committed)" "$taskfs_sed" "$plain_sed" "$(ratio "$taskfs_sed" "$plain_sed")"
[[ -n $floor_sed ]] && row "  sed -i on a do-nothing FUSE mount, no git" "$floor_sed" "$plain_sed" "$(ratio "$floor_sed" "$plain_sed")"
row "rm of a tenth (rm itself)" "$taskfs_rm" "$plain_rm" "$(ratio "$taskfs_rm" "$plain_rm")"
row "  until the deferred delete is committed" "$taskfs_rm_committed" "" ""
row "cat of all (warm)" "$taskfs_cat" "$plain_cat" "$(ratio "$taskfs_cat" "$plain_cat")"
echo
echo "CPU of the mount during sed -i: ${sed_cpu} s (of which $sed_threads; the rest FUSE workers)"
echo "reader stat() during the import: p50 ${stat_p50} ms, p99 ${stat_p99} ms, max ${stat_max} ms ($stat_n stats)"
echo "store objects: ${store_kb} KiB; the same history after git gc: ${gc_kb} KiB ($(ratio "$store_kb" "$gc_kb"))"
echo "lone save: acknowledged in ${save_ack} ms (median), on main ${save_visible} ms later; git add && git commit ${git_save} ms ($(ratio "$git_save" "$save_ack") faster)"
