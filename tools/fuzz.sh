#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, with clang, AddressSanitizer and UBSan) and runs each
# for SECONDS (default 300), starting from the seed corpus in tests/fuzz/corpus/TARGET. Fails on
# any crash, leak, timeout (5 s for one input) or out-of-memory; the input that did it is left in
# build-fuzz/findings/. New interesting inputs go to build-fuzz/corpus/, never into the repository.
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]   (CI runs it for 30 s a target)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-300}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_task_validate fuzz_merge_task fuzz_task_request fuzz_tree_entry)

"$root/tools/install-deps.sh"
build="$root/build-fuzz"
CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTASKFS_FUZZ=ON \
  -DTASKFS_BUILD_TESTS=OFF > /dev/null
cmake --build "$build" -j2 --target "${targets[@]}"

mkdir -p "$build/findings"
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  echo "== $t for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/$t" "$corpus" "$root/tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$build/findings/$t-" -print_final_stats=1 2> "$build/findings/$t.log"; then
    echo "fuzz.sh: $t failed; its log: $build/findings/$t.log" >&2
    tail -40 "$build/findings/$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/findings/$t.log" | tail -2
  fi
done
exit $status
