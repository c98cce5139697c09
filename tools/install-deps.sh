#!/usr/bin/env bash
# Installs what taskfs needs to build, test and run, on Debian 12, as root. Installs only what is
# missing (so a machine that has everything does no network access).
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libfuse3-dev fuse3 libgit2-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libssl-dev zlib1g-dev libcpp-httplib-dev libgtest-dev googletest
  python3 perl vim nano rsync util-linux man-db groff-base openssh-client systemd curl
  openssh-server lighttpd openssl
  clang-14 libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # openssh-server and lighttpd are for tests, which start their own on free ports of 127.0.0.1:
  # a policy-rc.d that says "no" keeps their packages from starting a system sshd on port 22 or a
  # lighttpd on port 80 (it also covers systemd, through deb-systemd-invoke). One already there
  # (as in containers) is left as it is.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" > /dev/null
fi
if [[ ! -e /dev/fuse ]]; then
  echo "install-deps: /dev/fuse is missing: taskfs needs FUSE (load the fuse module)" >&2
  exit 1
fi
