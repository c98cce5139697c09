#!/usr/bin/env bash
# Installs what is missing, builds taskfs, creates a demo store with a dozen realistic tasks
# (./demo-store) and mounts it at ./demo-tasks, ready to edit. Run it again to remount.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
"$root/tools/install-deps.sh"
cmake -S "$root" -B "$root/build" -DTASKFS_BUILD_TESTS=OFF > /dev/null
cmake --build "$root/build" -j2 --target taskfs
taskfs=("$root/build/tools/taskfs" --store "$root/demo-store")
mnt="$root/demo-tasks"

if grep -q " $mnt " /proc/mounts; then
  echo "The demo is already mounted at $mnt"
  exit 0
fi
mkdir -p "$mnt"
if [[ ! -d "$root/demo-store" ]]; then
  "${taskfs[@]}" init --name "Demo laptop" > /dev/null
  "${taskfs[@]}" mount "$mnt"
  mkdir -p "$mnt/home" "$mnt/work/ops" "$mnt/garden"
  t() { printf '%b' "$2" > "$mnt/$1.yaml"; }
  t home/buy-milk 'title: Buy milk\nstatus: pending\npriority: M\nproject: home.kitchen\ntags: [errand, shop]\ndue: 2026-11-30\nnotes: |\n  Semi-skimmed, two litres.\n'
  t home/call-landlord 'title: Call the landlord about the boiler\nstatus: waiting\npriority: H\nproject: home\ntags: [phone]\n'
  t home/renew-passport 'title: Renew passport\nstatus: pending\npriority: M\ndue: 2027-02-01\ndepends: [home/book-photo]\n'
  t home/book-photo 'title: Book a passport photo\nstatus: active\npriority: L\ntags: [errand]\n'
  t home/pay-council-tax 'title: Pay council tax\nstatus: done\npriority: H\nproject: home.bills\n'
  t work/write-q4-report 'title: Write the Q4 report\nstatus: active\npriority: H\nproject: work\ndue: 2026-12-15T17:00\ntags: [writing]\nnotes: |\n  Sections: revenue, hiring, risks.\n  Ask Sam for the churn numbers.\n'
  t work/review-pr-412 'title: Review PR 412 (sync retries)\nstatus: pending\npriority: M\nproject: work\ntags: [review]\n'
  t work/plan-offsite 'title: Plan the January offsite\nstatus: pending\npriority: L\nproject: work\ndue: 2027-01-10\n'
  t work/ops/rotate-certs 'title: Rotate the TLS certificates\nstatus: pending\npriority: H\nproject: work.ops\ndue: 2026-12-01\ntags: [security]\n'
  t work/ops/disk-alert 'title: Look into the disk-usage alert on db-2\nstatus: waiting\npriority: M\nproject: work.ops\n'
  t garden/plant-bulbs 'title: Plant the tulip bulbs\nstatus: pending\npriority: L\nproject: garden\ntags: [outside]\n'
  t garden/fix-fence 'title: Fix the fence panel\nstatus: cancelled\nproject: garden\nnotes: |\n  The neighbour will replace it.\n'
else
  "${taskfs[@]}" mount "$mnt"
fi
cat <<MSG
The demo store is mounted at $mnt. Try:
  ls -R $mnt
  grep -rl 'priority: H' $mnt
  vim $mnt/home/buy-milk.yaml
  ${taskfs[*]} log home/buy-milk
  ${taskfs[*]} status
  git -C $root/demo-store log --stat
Unmount with: ${taskfs[*]} umount $mnt
MSG
