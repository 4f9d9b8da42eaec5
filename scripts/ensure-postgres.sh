#!/usr/bin/env bash
# Make sure a PostgreSQL server is reachable for the test suite, and print the URL to use.
#  1. POSTLANE_TEST_PG_URL, if set and reachable;
#  2. the local service on 127.0.0.1:5432 (trust auth), started if it is installed but down;
#  3. otherwise install Debian's postgresql (needs root), start it and create a test role.
set -euo pipefail
default_url="postgresql://postgres@127.0.0.1:5432/test"
url="${POSTLANE_TEST_PG_URL:-$default_url}"

reachable() {
  "$(dirname "$0")/../.venv/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
PY
}

if reachable "$url"; then echo "$url"; exit 0; fi

start_clusters() {
  command -v pg_ctlcluster >/dev/null || return 1
  for version in $(ls /etc/postgresql 2>/dev/null); do
    for cluster in $(ls "/etc/postgresql/$version" 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2 || true
    done
  done
}

start_clusters || true
for _ in $(seq 1 20); do reachable "$url" && { echo "$url"; exit 0; }; sleep 0.5; done

if [ -n "${POSTLANE_TEST_PG_URL:-}" ]; then
  echo "PostgreSQL at POSTLANE_TEST_PG_URL is not reachable" >&2; exit 1
fi
if ! command -v pg_ctlcluster >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "PostgreSQL is missing; install it or run as root" >&2; exit 1; }
  echo "Installing PostgreSQL from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q postgresql >&2
  start_clusters
fi
# A role with a password works whatever the cluster's pg_hba says for TCP.
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 >&2 <<'SQL' || true
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postlane') THEN
    CREATE ROLE postlane LOGIN CREATEDB PASSWORD 'postlane';
  END IF;
END $$;
SQL
runuser -u postgres -- createdb -O postlane postlane_test >&2 2>/dev/null || true
url="postgresql://postlane:postlane@127.0.0.1:5432/postlane_test"
for _ in $(seq 1 20); do reachable "$url" && { echo "$url"; exit 0; }; sleep 0.5; done
echo "PostgreSQL could not be made reachable" >&2
exit 1
