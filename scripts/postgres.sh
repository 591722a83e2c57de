#!/usr/bin/env bash
# The PostgreSQL the service-store tests run against: Debian's server, on 127.0.0.1 and a
# free port, in a throwaway data directory under .shipml/services/postgres.
#
#   scripts/postgres.sh install   # apt-get install postgresql when initdb is missing (idempotent)
#   scripts/postgres.sh start     # initdb + start; reuses a running one; writes .../postgres/env
#   scripts/postgres.sh restart   # fast shutdown and start on the same port (reconnect tests)
#   scripts/postgres.sh stop      # stops the one start started (its pid file), removes its data
#
# initdb and postgres refuse to run as root, so as root they run as the `postgres` user the
# package creates. The password is generated per start (scram-sha-256): tests can check that
# it never shows in an error or a log. SHIPML_POSTGRES_STATE=DIR puts a private one in DIR
# (the restart test uses its own, so restarting it disturbs no other test file).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${SHIPML_POSTGRES_STATE:-$ROOT/.shipml/services/postgres}
DATA=$STATE/data
DB_USER=shipml
DB_NAME=shipml_test

log() { printf '[postgres] %s\n' "$*" >&2; }

# Debian puts the server binaries in /usr/lib/postgresql/VERSION/bin, not on PATH (/usr/bin
# holds pg_ctlcluster wrappers for system clusters). Some machines link them into
# /usr/local/bin; those links point at the same files, so prefer the real directory.
pg_bin() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null; then
    dirname "$(readlink -f "$(command -v initdb)")"
  fi
}

# Runs a server binary as an unprivileged user (postgres refuses root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

install() {
  if [ -n "$(pg_bin)" ]; then return 0; fi
  log "apt-get install postgresql"
  # The package would create and start a system cluster on port 5432: tests need none.
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
  fi
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  [ -n "$(pg_bin)" ] || { log "postgresql installed but no initdb found"; exit 1; }
}

running() {
  local bin=$1
  [ -f "$DATA/postmaster.pid" ] && [ -f "$STATE/env" ] && as_owner "$bin/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

start() {
  install
  local bin port password
  bin=$(pg_bin)
  if running "$bin"; then
    log "already running (env: $STATE/env)"
    return 0
  fi
  rm -rf "$DATA" "$STATE/env" "$STATE/initdb.log" "$STATE/pwfile"
  mkdir -p "$STATE"
  mkdir -m 700 "$DATA"
  password=shipml-pg-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  port=$(free_port)
  umask 077
  printf '%s\n' "$password" >"$STATE/pwfile"
  if [ "$(id -u)" = 0 ]; then chown postgres "$DATA" "$STATE/pwfile"; chmod 755 "$STATE"; fi
  as_owner "$bin/initdb" -D "$DATA" -U "$DB_USER" --auth=scram-sha-256 --pwfile="$STATE/pwfile" \
    --no-instructions >"$STATE/initdb.log" 2>&1 || { cat "$STATE/initdb.log" >&2; exit 1; }
  rm -f "$STATE/pwfile"
  # The socket goes in the data directory: /var/run/postgresql may not exist or be writable.
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$DATA -c max_connections=300" \
    >/dev/null || { cat "$DATA/server.log" >&2; exit 1; }
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME"
  printf 'export SHIPML_TEST_POSTGRES_URL=postgres://%s:%s@127.0.0.1:%s/%s\n' \
    "$DB_USER" "$password" "$port" "$DB_NAME" >"$STATE/env"
  log "PostgreSQL on 127.0.0.1:$port (env: $STATE/env)"
}

restart() {
  local bin
  bin=$(pg_bin)
  running "$bin" || { log "not running: scripts/postgres.sh start first"; exit 1; }
  # -m fast ends every connection, as a crash or an operator's restart would; same port.
  as_owner "$bin/pg_ctl" -D "$DATA" -w -t 60 -m fast restart >/dev/null
  log "restarted"
}

stop() {
  local bin
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ]; then
    # pg_ctl signals the pid in postmaster.pid: only the server this script started.
    as_owner "$bin/pg_ctl" -D "$DATA" -w -t 60 -m fast stop >/dev/null 2>&1 || log "was not running"
  fi
  rm -rf "$DATA" "$STATE/env" "$STATE/initdb.log" "$STATE/pwfile"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  restart) restart ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|restart|stop" >&2; exit 2 ;;
esac
