#!/usr/bin/env bash
# PostgreSQL for tests and distributed mode on this machine (no Docker): starts the local cluster if it is
# down, creates the test database if it is missing, and prints DATABASE_URL. Idempotent.
#
#   infra/postgres/setup.sh            (as root, or as a user that may run pg_ctlcluster and connect as postgres)
#
# Environment (optional): PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), TEST_DATABASE (test),
# PG_START_TIMEOUT (seconds, 30). The server is Debian's postgresql package (apt-get install postgresql);
# with trust authentication on 127.0.0.1 no password is needed.
set -euo pipefail

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
user="${PGUSER:-postgres}"
database="${TEST_DATABASE:-test}"

say() { echo "postgres/setup.sh: $*" >&2; }

if ! pg_isready -h "$host" -p "$port" -q 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || { say "PostgreSQL is not installed (apt-get install postgresql)"; exit 1; }
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  say "starting the PostgreSQL $version cluster 'main'"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  deadline=$((SECONDS + ${PG_START_TIMEOUT:-30}))
  until pg_isready -h "$host" -p "$port" -q; do
    ((SECONDS < deadline)) || { say "PostgreSQL did not accept connections on $host:$port within ${PG_START_TIMEOUT:-30} s"; exit 1; }
    sleep 0.2
  done
fi

# The name is checked, so it can be put into SQL as it is.
[[ "$database" =~ ^[a-z_][a-z0-9_]*$ ]] || { say "TEST_DATABASE must be a lower-case identifier"; exit 1; }
if [[ "$(psql -h "$host" -p "$port" -U "$user" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]]; then
  psql -h "$host" -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE $database" >/dev/null
  say "created database $database"
fi
echo "DATABASE_URL=postgres://$user@$host:$port/$database"
