#!/usr/bin/env bash
# Runs every test that kills, races or depends on timing N times (default 30) and reports each
# failure with the seed that replays it (TASKFS_TEST_SEED=N). Run it before resolving an issue
# that touches those paths.
#
# Usage: tools/stress-tests.sh [N] [--build DIR] [--load] [--filter REGEX]
#   --build DIR     a configured build folder (default: build; built first). Give build-asan for
#                   the sanitizer build.
#   --load          keep both cores busy with two spinning processes meanwhile (a loaded machine)
#   --filter REGEX  run the tests whose CTest name matches REGEX instead
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=30 build="$root/build" load=0 filter=""
while (($#)); do
  case $1 in
    --build) build=$(realpath "$2"); shift 2 ;;
    --load) load=1; shift ;;
    --filter) filter=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) runs=$1; shift ;;
    *) echo "stress-tests: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The tests that kill processes at random moments, race clients, editors or daemons, or load
# the server.
stress='Kill|Killed|Race|Randomized|OutOfOrder|FiftyClients|Busy|ElasticThreadPool|EditorTest'
stress+='|DaemonScenarios|DaemonTest|MountsWithDaemons|AnEditOpenDuringASync|WritersAndReaders|ManyWriters'
stress+='|RightBeforeSync|Committer'

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  "$root/tools/install-deps.sh"
  cmake -S "$root" -B "$build" -DTASKFS_BUILD_TESTS=ON > /dev/null
fi
cmake --build "$build" -j2 > /dev/null

hogs=()
cleanup() {
  if ((${#hogs[@]})); then kill "${hogs[@]}" 2> /dev/null || true; fi
  "$root/tools/test-cleanup.sh"
}
trap cleanup EXIT
if ((load)); then
  for _ in 1 2; do (while :; do :; done) & hogs+=($!); done
fi

logs=$(mktemp -d /var/tmp/taskfs-stress-XXXXXX)
failed_runs=0
for ((i = 1; i <= runs; i++)); do
  log="$logs/run-$i.log"
  args=(-R "${filter:-$stress}" --output-on-failure --timeout 300)
  if (cd "$build" && ctest "${args[@]}") > "$log" 2>&1; then
    echo "run $i/$runs: passed"
    continue
  fi
  failed_runs=$((failed_runs + 1))
  echo "run $i/$runs: FAILED (log: $log)"
  # With --output-on-failure, the seeds in the log are those of the failing tests.
  sed -n '/The following tests FAILED/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | sed 's/^/    /'
  grep -oE 'seed [0-9]+: rerun with TASKFS_TEST_SEED=[0-9]+' "$log" | sort -u | sed 's/^/    /'
done
echo "$((runs - failed_runs)) passed, $failed_runs failed"
((failed_runs == 0))
