#!/usr/bin/env bash
# Runs the whole suite twice, on SQLite and on MariaDB, with a real Redis; or the benchmarks (--bench).
# MariaDB and Redis run as this user on loopback in a temporary directory and are stopped at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash tests/scripts/ensure-system-packages.sh test || exit 1

work=$(mktemp -d /tmp/portal-test.XXXXXX)
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() {
  [[ -n "${REDIS_PID:-}" ]] && kill "$REDIS_PID" 2>/dev/null
  [[ -n "${MARIADB_PID:-}" ]] && kill "$MARIADB_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
REDIS_PID=$!

MARIADB_PORT=$(free_port)
mkdir -p "$work/mysql"
mariadb-install-db --no-defaults --datadir="$work/mysql" --user="$(id -un)" \
  --auth-root-authentication-method=socket --skip-test-db >"$work/mariadb-install.log" 2>&1 \
  || { cat "$work/mariadb-install.log"; exit 1; }
mariadbd --no-defaults --datadir="$work/mysql" --socket="$work/mysql.sock" --port="$MARIADB_PORT" \
  --bind-address=127.0.0.1 --user="$(id -un)" --character-set-server=utf8mb4 \
  --collation-server=utf8mb4_unicode_ci --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
  --max-connections=500 --log-error="$work/mariadb.err" &
MARIADB_PID=$!
for _ in $(seq 1 60); do
  mariadb-admin --no-defaults --socket="$work/mysql.sock" -uroot ping >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb --no-defaults --socket="$work/mysql.sock" -uroot -e "
  CREATE USER 'portal'@'127.0.0.1' IDENTIFIED BY 'portal-test';
  GRANT ALL PRIVILEGES ON *.* TO 'portal'@'127.0.0.1';" || { cat "$work/mariadb.err"; exit 1; }
for _ in $(seq 1 40); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done

export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TEST_MYSQL_URL="mysql+mysqldb://portal:portal-test@127.0.0.1:$MARIADB_PORT/portal_test?charset=utf8mb4"
export PLAYWRIGHT_BROWSERS_PATH=0 PYTHONDONTWRITEBYTECODE=1

if [[ "${1:-}" == "--bench" ]]; then
  bash tests/scripts/ensure-system-packages.sh bench || exit 1
  DATABASE_URL="$TEST_MYSQL_URL" .venv/bin/python -m bench
  exit $?
fi

status=0
echo "=== Suite on SQLite ==="
DATABASE_URL="sqlite:///$work/portal-test.sqlite3" .venv/bin/pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} || status=1
echo "=== Suite on MariaDB ==="
DATABASE_URL="$TEST_MYSQL_URL" .venv/bin/pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} || status=1
exit $status
