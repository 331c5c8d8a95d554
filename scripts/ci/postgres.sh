#!/usr/bin/env bash
# Starts a local PostgreSQL for the app tests and prints the `export TODO_TEST_DATABASE_URL=...` line.
#
# Idempotent: installs postgresql via apt only if missing, creates/starts a cluster listening on 127.0.0.1,
# and creates the test role and database only if they do not exist. Progress goes to stderr; stdout carries only
# the export line, so CI can run:  eval "$(scripts/ci/postgres.sh)"
#
# The role and password are throwaway test credentials for a cluster that listens on loopback only.
set -euo pipefail

role="${TODO_TEST_PG_ROLE:-todo_test}"
password="${TODO_TEST_PG_PASSWORD:-todo_test}"
db="${TODO_TEST_PG_DB:-todo_test}"

log() { echo "postgres.sh: $*" >&2; }

# Root in CI containers; elsewhere fall back to sudo for the package manager and the postgres OS user.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing postgresql via apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
cluster=main

if ! pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
  log "creating cluster $version/$cluster"
  as_root pg_createcluster "$version" "$cluster" >&2
fi

# Loopback only: the tests never need the database to be reachable from elsewhere.
conf_dir="/etc/postgresql/$version/$cluster"
# A drop-in under conf.d (included by Debian's postgresql.conf) leaves the packaged file untouched.
if [ "$(cat "$conf_dir/conf.d/todo-test.conf" 2>/dev/null)" != "listen_addresses = '127.0.0.1'" ]; then
  echo "listen_addresses = '127.0.0.1'" | as_root tee "$conf_dir/conf.d/todo-test.conf" >/dev/null
  as_root pg_ctlcluster "$version" "$cluster" stop >&2 2>/dev/null || true
fi
port="$(pg_conftool -s "$version" "$cluster" show port 2>/dev/null || echo 5432)"

status="$(pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')"
if [ "$status" != "online" ]; then
  log "starting cluster $version/$cluster on 127.0.0.1:$port"
  as_root pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 30); do
  if as_postgres pg_isready -q -h 127.0.0.1 -p "$port"; then break; fi
  sleep 1
done
as_postgres pg_isready -h 127.0.0.1 -p "$port" >&2

psql_admin() { as_postgres psql -v ON_ERROR_STOP=1 -q -X -p "$port" "$@"; }

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != "1" ]; then
  log "creating role $role"
  psql_admin -c "CREATE ROLE \"$role\" LOGIN" >&2
fi
# Reset the password every run so a changed TODO_TEST_PG_PASSWORD takes effect. Sent on stdin, not argv.
printf '%s\n' "ALTER ROLE \"$role\" WITH PASSWORD '$password'" | psql_admin >&2

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
  log "creating database $db"
  psql_admin -c "CREATE DATABASE \"$db\" OWNER \"$role\"" >&2
fi

echo "export TODO_TEST_DATABASE_URL=postgres://$role:$password@127.0.0.1:$port/$db"
