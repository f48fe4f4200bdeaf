#!/usr/bin/env bash
# Makes the PostgreSQL the suites use ready, idempotently: starts the machine's cluster if it is
# down, then creates a login role and a database for the tests, reached over loopback with a
# password (Debian's default pg_hba.conf asks scram-sha-256 on 127.0.0.1; nothing is loosened).
# Prints the URL to use on its last line. A PostgreSQL of your own: set SNAPLINK_TEST_DATABASE_URL
# and this script is not needed (test/run.ts does not call it then).
set -euo pipefail

ROLE=snaplink_test
PASSWORD=snaplink_test
DATABASE=snaplink_test
HOST=127.0.0.1
PORT=${SNAPLINK_TEST_POSTGRES_PORT:-5432}
URL="postgres://$ROLE:$PASSWORD@$HOST:$PORT/$DATABASE"

say() { echo "# postgres: $*" >&2; }
fail() { echo "# postgres: $*" >&2; exit 1; }

answers() { PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=3 psql -qtAX -h "$HOST" -p "$PORT" -U "$ROLE" -d "$DATABASE" -c 'select 1' >/dev/null 2>&1; }

if answers; then echo "$URL"; exit 0; fi

command -v pg_lsclusters >/dev/null || fail "PostgreSQL's server is not installed (Debian: apt-get install postgresql), or set SNAPLINK_TEST_DATABASE_URL"
# The first cluster on the port the tests use (Debian's postgresql-common layout).
read -r VERSION CLUSTER STATUS < <(pg_lsclusters --no-header | awk -v port="$PORT" '$3 == port { print $1, $2, $4; exit }') || true
[ -n "${VERSION:-}" ] || fail "no PostgreSQL cluster on port $PORT (pg_lsclusters), or set SNAPLINK_TEST_DATABASE_URL"

if [ "$STATUS" != online ]; then
  say "starting cluster $VERSION/$CLUSTER"
  if [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start
  else
    sudo -n pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start ||
      fail "cannot start cluster $VERSION/$CLUSTER as $(id -un): run 'sudo pg_ctlcluster $VERSION $CLUSTER start'"
  fi
fi
for _ in $(seq 1 60); do pg_isready -q -h "$HOST" -p "$PORT" && break; sleep 0.5; done
pg_isready -q -h "$HOST" -p "$PORT" || fail "cluster $VERSION/$CLUSTER did not come up (see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log)"

# As the cluster's superuser over the local socket (peer authentication, Debian's default).
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
  else sudo -n -u postgres "$@"
  fi
}
psql_admin() { as_postgres psql -qtAX -p "$PORT" -v ON_ERROR_STOP=1 "$@"; }

say "preparing role $ROLE and database $DATABASE"
psql_admin -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  END IF;
END \$\$;
SQL
if [ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]; then
  psql_admin -d postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi

answers || fail "role $ROLE cannot sign in at $HOST:$PORT with its password: check pg_hba.conf for a 'host … 127.0.0.1/32' line with scram-sha-256, md5 or trust"
echo "$URL"
