#!/usr/bin/env bash
# Installs the Debian packages the test suite starts as real servers (prometheus, redis-server, PostgreSQL).
# Runs apt-get only as root and only for what is missing; otherwise it says what to install.
# The tests start their own servers on free 127.0.0.1 ports, so the packages' system services are not started.
set -euo pipefail
packages=()
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ] || packages+=("$3"); }
need prometheus /usr/bin/prometheus prometheus
need redis-server /usr/bin/redis-server redis-server
# Debian keeps initdb and postgres off PATH, in /usr/lib/postgresql/<major>/bin.
have_postgres() {
  local initdb
  for initdb in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$initdb" ] && [ -x "${initdb%/initdb}/postgres" ] && return 0
  done
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1
}
have_postgres || packages+=(postgresql)
if [ ${#packages[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages for the tests: ${packages[*]} (install them, or run as root)" >&2
  exit 0
fi
echo "installing system packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' services from starting (in a container without systemd, and elsewhere): exit code 101
# tells invoke-rc.d/deb-systemd-invoke the action is denied, which the maintainer scripts accept.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
