# tools/bench/lib.sh: the set-up the benchmark scripts share (bench_bulk.sh, bench_mount.sh,
# bench_sync.sh, bench_daemon.sh, bench_server.sh, bench_scale.sh, bench_history.sh). Each sources
# it right after `set -euo pipefail`; sourcing only defines the names below, and nothing runs until
# the script calls a function. What a script measures, and how, stays in the script.
#
#   BENCH_NAME, SELF, SCRIPT_DIR, REPO_DIR  the script's name and path, tools/bench, the repository
#   TASKFS, TASKFS_SERVER, GEN              $TASKFS_BIN / $TASKFS_SERVER_BIN, else the binaries in
#                                           build/tools; tools/bench/gen_tasks.py
#   usage, parse_args, check_count          the usage text (the script's header comment), the
#   bad_usage                               arguments, usage errors (exit 2)
#   die, log                                "NAME: FAILED: ..." and exit 1; "== ..." on stderr
#   need_bin, need_tools                    die unless a binary / the tools are there
#   make_work PREFIX                        WORK, a fresh ${BENCH_DIR:-/var/tmp}/PREFIX.XXXXXX,
#                                           cleaned up on exit, failure, Ctrl-C or TERM
#   isolated_git                            git without the user's or the system's configuration
#   wait_committed STORE                    waits until the mount of STORE has committed every save
#   bench_python ARG... <<'PY'              python3 - ARG..., with print_table() defined
# shellcheck shell=bash

BENCH_NAME="$(basename "${BASH_SOURCE[1]}")"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"
SELF="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)/$BENCH_NAME"
TASKFS="${TASKFS_BIN:-$REPO_DIR/build/tools/taskfs}"
TASKFS_SERVER="${TASKFS_SERVER_BIN:-$REPO_DIR/build/tools/taskfs-server}"
# shellcheck disable=SC2034  # the scripts use it
GEN="$SCRIPT_DIR/gen_tasks.py"

die() { echo "$BENCH_NAME: FAILED: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
bad_usage() { echo "$BENCH_NAME: $*" >&2; exit 2; }

# The usage text: the script's header comment (from line 2 to the first line that is not one).
usage() {
  awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$SELF"
  exit 2
}

# parse_args [OPTION]... -- ARG...: reads the script's arguments. Every script takes -h/--help and
# the count, a number (into N); each OPTION adds one: a flag (`keep`: --keep sets KEEP=1) or one
# with a value (`runs=RUNS`: --runs R or --runs=R sets RUNS). The script sets the defaults first.
parse_args() {
  local -A flags=() values=()
  local o
  while (($#)) && [[ "$1" != -- ]]; do
    if [[ "$1" == *=* ]]; then values["--${1%%=*}"]="${1#*=}"; else flags["--$1"]="${1^^}"; fi
    shift
  done
  shift
  while (($#)); do
    o="${1%%=*}"
    if [[ "$1" == -h || "$1" == --help ]]; then
      usage
    elif [[ "$1" == [0-9]* ]]; then
      N="$1"
    elif [[ "$1" != *=* && -n "${flags[$1]:-}" ]]; then
      printf -v "${flags[$1]}" 1
    elif [[ "$1" == *=* && -n "${values[$o]:-}" ]]; then
      printf -v "${values[$o]}" %s "${1#*=}"
    elif [[ -n "${values[$1]:-}" ]]; then
      (($# >= 2)) || usage
      printf -v "${values[$1]}" %s "$2"
      shift
    else
      echo "$BENCH_NAME: unknown argument: $1" >&2
      usage
    fi
    shift
  done
}

# check_count MIN: a usage error unless N is a whole number >= MIN.
check_count() {
  if ! [[ "$N" =~ ^[0-9]+$ ]] || ((N < $1)); then bad_usage "N must be an integer >= $1"; fi
}

# need_bin taskfs|taskfs-server: dies unless that binary is there.
need_bin() {
  local path="$TASKFS" var=TASKFS_BIN
  if [[ "$1" == taskfs-server ]]; then path="$TASKFS_SERVER" var=TASKFS_SERVER_BIN; fi
  [[ -x "$path" ]] ||
    die "no $1 binary at $path (build: cmake -S $REPO_DIR -B $REPO_DIR/build && make -C $REPO_DIR/build -j2 $1, or set $var)"
}

# need_tools TOOL...: dies unless each is on PATH.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
}

# make_work PREFIX: makes WORK (an absolute, resolved path) and sets the traps: on failure the
# failing line is named; on exit (Ctrl-C and TERM exit too, 130 and 143) bench_cleanup runs.
make_work() {
  WORK="$(mktemp -d "${BENCH_DIR:-/var/tmp}/$1.XXXXXX")"
  WORK="$(cd "$WORK" && pwd -P)"  # as /proc/mounts and the command lines will show it
  trap bench_cleanup EXIT
  trap 'bench_failed "$?" "$LINENO"' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_failed() { echo "$BENCH_NAME: FAILED (exit $1) at line $2: ${BASH_COMMAND%%$'\n'*}" >&2; }

# The FUSE mounts in WORK, deepest first (/proc/mounts writes a space as \040).
bench_mounts() {
  awk -v w="$WORK" 'BEGIN {gsub(/ /, "\\040", w)}
    $3 ~ /^fuse/ && ($2 == w || index($2, w "/") == 1) {gsub(/\\040/, " ", $2); print $2}' \
    /proc/mounts | sort -r
}

# The processes this run started that are still running: every one (a mount and its sync daemon,
# a server, a helper) names a path in WORK on its command line. (A zombie has no command line.)
bench_procs() {
  local d args
  for d in /proc/[0-9]*; do
    [[ "${d#/proc/}" != "$$" ]] || continue
    { mapfile -d '' -t args <"$d/cmdline"; } 2>/dev/null || continue
    [[ "${args[*]-}" != *"$WORK"* ]] || echo "${d#/proc/}"
  done
}

# bench_wait_procs SECONDS: waits up to SECONDS until bench_procs finds none; false if some remain.
bench_wait_procs() {
  local i
  for ((i = 0; i < $1 * 20; i++)); do
    [[ -n "$(bench_procs)" ]] || return 0
    sleep 0.05
  done
  [[ -z "$(bench_procs)" ]]
}

# The EXIT trap: unmounts every FUSE mount in WORK (fusermount3 -u, else -uz); lets the processes
# this run started exit (a mount daemon does once unmounted: up to 5 s), then TERMs what is left
# and KILLs what is left after 2 s more; then deletes WORK (unless KEEP=1, or something is still
# mounted there), and exits with the script's status.
bench_cleanup() {
  local rc=$? m
  local -a mounts pids
  trap - EXIT INT TERM ERR
  set +e
  mapfile -t mounts < <(bench_mounts)
  for m in "${mounts[@]}"; do fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null; done
  if ((${#mounts[@]} == 0)) || ! bench_wait_procs 5; then
    mapfile -t pids < <(bench_procs)
    if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null; fi
    if ! bench_wait_procs 2; then
      mapfile -t pids < <(bench_procs)
      if ((${#pids[@]})); then
        log "cleanup: killing leftover processes ${pids[*]}"
        kill -9 "${pids[@]}" 2>/dev/null
      fi
    fi
  fi
  mapfile -t mounts < <(bench_mounts)
  for m in "${mounts[@]}"; do fusermount3 -uz "$m" 2>/dev/null; done
  if [[ -n "$(bench_mounts)" ]]; then
    echo "$BENCH_NAME: WARNING: still mounted in $WORK; not deleting it: $(bench_mounts)" >&2
  elif ((${KEEP:-0})); then
    log "work dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}

# isolated_git: makes git independent of the user's and the system's configuration (hooks,
# signing, ...): identity bench <bench@example.invalid>, new branches `main`. A script appends
# sections of its own to $GIT_CONFIG_GLOBAL.
isolated_git() {
  export GIT_CONFIG_NOSYSTEM=1
  export GIT_CONFIG_GLOBAL="$WORK/gitconfig"
  cat >"$GIT_CONFIG_GLOBAL" <<EOF
[user]
	name = bench
	email = bench@example.invalid
[init]
	defaultBranch = main
[advice]
	detachedHead = false
EOF
}

# bench_python ARG... <<'PY': runs the Python program on stdin as `python3 - ARG...` would, after
# the helpers the scripts' summaries share:
#   print_table(hdr, rows)  a blank line, then hdr and, under it, the first len(hdr) fields of each
#                           row, in columns two spaces apart
bench_python() {
  python3 -c "$(cat <<'PY'
def print_table(hdr, rows):
    w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    print()
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
    print("  ".join("-" * w[i] for i in range(len(hdr))))
    for r in rows:
        print("  ".join(str(r[i]).ljust(w[i]) for i in range(len(hdr))))
PY
)
$(cat)" "$@"
}

# wait_committed STORE: waits until the mount of STORE has committed every save (no journal
# segment holds an entry).
wait_committed() {
  while find "$1/taskfs/journal" -name '*.log' -size +0 2>/dev/null | grep -q .; do
    sleep 0.005
  done
}
