#!/usr/bin/env bash
# Installs the Debian packages a step needs when they are missing (the machine is fresh, we are root).
#   build: what compiling mysqlclient needs     test: + MariaDB, Redis, Chromium for the suite
#   bench: test + wrk (the load generator of `make bench`)
set -euo pipefail
want=(pkg-config libmariadb-dev gcc python3-dev python3-venv)
if [[ "${1:-build}" == "test" || "${1:-build}" == "bench" ]]; then
  want+=(mariadb-server mariadb-client redis-server chromium fonts-noto-cjk)
fi
if [[ "${1:-build}" == "bench" ]]; then
  want+=(wrk)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "Missing system packages: ${missing[*]} (run as root, or install them with apt-get)." >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
