#!/usr/bin/env bash
# Installs what is missing, builds taskfs (warnings as errors) and runs every test: unit tests,
# FUSE logic tests and end-to-end tests on real mounts; then the same suite once more under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the multithreaded parts under
# ThreadSanitizer; then a kill -9 loop, 30 s of fuzzing a target, and `cmake --install`.
# Usage: tools/test.sh [--no-sanitizers]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
"$root/tools/install-deps.sh"

# Never leave a mount or a process behind, even when a test crashed (tests stop their own; a test
# process that aborts cannot).
cleanup() { "$root/tools/test-cleanup.sh"; }
trap cleanup EXIT

run_suite() {  # build dir, extra cmake args... (ctest leaves out the tests $SKIP_TESTS matches)
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DTASKFS_WERROR=ON -DTASKFS_BUILD_TESTS=ON "$@" > /dev/null
  cmake --build "$dir" -j2
  (cd "$dir" && ctest --output-on-failure --timeout 300 ${SKIP_TESTS:+-E "$SKIP_TESTS"})
}

echo "== build and test (RelWithDebInfo, -Werror)"
run_suite "$root/build"

if [[ "${1:-}" != "--no-sanitizers" ]]; then
  echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # libgit2 1.5 leaks libssh2's known-hosts list at every ssh connection (libgit2#6598, fixed in
  # 1.7): the ssh tests run apart, with tests/lsan-ssh.supp and the slow unwinding that lets
  # LeakSanitizer see that leak come from git_remote_connect_ext.
  # Likewise the one test that makes opening the object database fail (tests/lsan-odb.supp).
  readonly ODB_TEST="^PackTest.ACommitBufferThatCannotBePutBack"
  SKIP_TESTS="^SshRemoteTest|$ODB_TEST" run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug \
    -DTASKFS_SANITIZE=address,undefined
  run_apart() {  # run_apart SUPPRESSIONS TESTS
    (cd "$root/build-asan" && cat "$root/tests/lsan.supp" "$root/tests/$1" > "$1" &&
      LSAN_OPTIONS="suppressions=$root/build-asan/$1:print_suppressions=0:fast_unwind_on_malloc=0" \
      ctest --output-on-failure --timeout 300 -R "$2")
  }
  run_apart lsan-ssh.supp "^SshRemoteTest"
  run_apart lsan-odb.supp "$ODB_TEST"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

if [[ "${1:-}" != "--no-sanitizers" ]]; then
  # The multithreaded parts: the write path (TaskFilesystem, the committer and its journal), the
  # server's thread pool and its long-polls (run in-process), the daemon's head watcher, the history
  # index's background pass, and reads while the store lets go of its packs, under ThreadSanitizer
  # (its own build, of those tests only).
  echo "== build and test the multithreaded parts under ThreadSanitizer"
  cmake -S "$root" -B "$root/build-tsan" -DTASKFS_WERROR=ON -DTASKFS_BUILD_TESTS=ON \
    -DCMAKE_BUILD_TYPE=Debug -DTASKFS_SANITIZE=thread > /dev/null
  cmake --build "$root/build-tsan" -j2 --target taskfs_fusefs_tests taskfs_storage_tests \
    taskfs_sync_tests
  (cd "$root/build-tsan" && \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp" \
    ctest --output-on-failure --timeout 300 \
    -R "WritePath|Committer|Journal|GroupMessage|ElasticThreadPool|HeadWatcher|InProcessServer|TaskFilesystemTest|WhilePacksAreReleased|TheIdleReleaser|TheWarmer|AWarmerLeavesItAlone")
fi

# The kill -9 loop: the mount killed during commits (50 times), `taskfs sync`, the daemon and
# taskfs-server killed at 30 random moments each, every store checked with git fsck after each.
echo "== kill -9 loop (mount, sync, daemon, server)"
(cd "$root/build" && TASKFS_KILL_ITERATIONS=30 ctest --output-on-failure --timeout 600 \
  -R "KilledDuringCommitsFiftyTimes|SyncKilledAtRandomMoments|KilledMidSyncLeavesValidStores|AServerKilledDuringSyncs")

# Fuzzing: each libFuzzer target for 30 s (tools/fuzz.sh runs them longer).
echo "== fuzz (30 s a target)"
"$root/tools/fuzz.sh" 30

echo "== cmake --install"
prefix=$(mktemp -d /var/tmp/taskfs-install-XXXXXX)
cmake --install "$root/build" --prefix "$prefix" > /dev/null
"$prefix/bin/taskfs" --version
MANWIDTH=80 man -l "$prefix/share/man/man1/taskfs.1" > /dev/null
MANWIDTH=80 man -l "$prefix/share/man/man5/taskfs.5" > /dev/null
# The systemd user units: installed, and valid for systemd (pointed at this prefix's binary).
units="$prefix/lib/systemd/user"
cp "$units/taskfs@.service" "$units/taskfs@tasks.service"
sed -i "s|ExecStart=[^ ]*taskfs |ExecStart=$prefix/bin/taskfs |; s|ExecStop=[^ ]*taskfs |ExecStop=$prefix/bin/taskfs |" "$units"/*.service
systemd-analyze verify --man=no "$units/taskfs@tasks.service" "$units/taskfs-daemon.service"
"$prefix/bin/taskfs-server" --version
MANWIDTH=80 man -l "$prefix/share/man/man8/taskfs-server.8" > /dev/null
server_unit="$prefix/lib/systemd/system/taskfs-server.service"
sed -i "s|ExecStart=[^ ]*taskfs-server |ExecStart=$prefix/bin/taskfs-server |" "$server_unit"
systemd-analyze verify --man=no "$server_unit"
rm -rf "$prefix"
echo "== all tests passed"
