#!/usr/bin/env bash
# Installs the Debian packages the test suite starts as real servers.
# Runs apt-get only as root and only for what is missing; otherwise it says what to install.
set -euo pipefail
packages=()
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ] || packages+=("$3"); }
need prometheus /usr/bin/prometheus prometheus
if [ ${#packages[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages for the tests: ${packages[*]} (install them, or run as root)" >&2
  exit 0
fi
echo "installing system packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
