#!/usr/bin/env bash
# Removes what a crashed test run left: mounts under /var/tmp/taskfs-test-*, and the daemons,
# mounts and servers (taskfs-server, sshd, ssh-agent, lighttpd) tests started there. Tests stop their own; a test process that aborts
# cannot. Used by tools/test.sh and tools/stress-tests.sh on exit.
{ grep -o ' /var/tmp/taskfs-test-[^ ]*' /proc/mounts 2> /dev/null || true; } | while read -r m; do
  fusermount3 -uz "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true
done
pkill -KILL -f -- '--store /var/tmp/taskfs-test-[^ ]* (daemon|mount)' 2> /dev/null || true
pkill -KILL -f -- 'taskfs-server serve /var/tmp/taskfs-test-' 2> /dev/null || true
# The ssh and https servers of tests/sync/remote_servers.h, by their config files' folders.
pkill -KILL -f -- '/usr/sbin/(sshd|lighttpd) -D .*/var/tmp/taskfs-test-' 2> /dev/null || true
pkill -KILL -f -- 'ssh-agent -D -a /var/tmp/taskfs-test-' 2> /dev/null || true
exit 0
