#!/usr/bin/env bash
# Builds the base images Tingle's agents and tests start from, without pulling from any registry
# (none is reachable here): a tiny busybox image and a Debian bookworm image made by debootstrap.
# Both are cached: the Docker image itself, and the debootstrap tarball under $TINGLE_CACHE.
set -euo pipefail
cache=${TINGLE_CACHE:-/var/cache/tingle}
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"

need_apt() { command -v "$1" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }

if ! docker image inspect tingle/busybox:latest >/dev/null 2>&1; then
  [ -x /bin/busybox ] || need_apt busybox busybox-static
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/workspace" "$root/etc"
  cp "$(readlink -f /bin/busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - tingle/busybox:latest >/dev/null
  rm -rf "$root"
  echo "built tingle/busybox:latest"
fi

if ! docker image inspect tingle/debian:bookworm >/dev/null 2>&1; then
  tarball="$cache/debian-bookworm.tar"
  if [ ! -s "$tarball" ]; then
    need_apt debootstrap debootstrap
    root=$(mktemp -d)
    debootstrap --variant=minbase \
      --include=python3,python3-pip,python3-venv,python3-pytest,git,ca-certificates \
      bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    "$tarball" tingle/debian:bookworm >/dev/null
  echo "built tingle/debian:bookworm"
fi
