#!/bin/sh
# Start a throw-away PostgreSQL cluster for one pod: UTF-8, loopback only, tuned for speed, not durability.
# Role `app` (password `app`) owns database `app`. The superuser `postgres` is for the tester only: its
# password comes from POSTGRES_PASSWORD, which only this container and the tester are given.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
bin="/usr/lib/postgresql/${PG_MAJOR}/bin"
data="${PGDATA:-/pgdata/cluster}"
if [ ! -s "$data/PG_VERSION" ]; then
  "$bin/initdb" -D "$data" -E UTF8 --locale=C.UTF-8 -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile=/dev/stdin >/tmp/initdb.log 2>&1 <<PW
$POSTGRES_PASSWORD
PW
  "$bin/postgres" --single -D "$data" postgres >/tmp/bootstrap.log 2>&1 <<SQL
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE DATABASE app OWNER app;
SQL
fi
exec "$bin/postgres" -D "$data" \
  -c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories=/tmp \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
  -c log_min_messages=warning -c log_statement=none
