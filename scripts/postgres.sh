#!/usr/bin/env bash
# Run a throwaway PostgreSQL server on loopback without Docker, for CI and developers (the PostgreSQL
# projection tests and multi-replica API servers). Uses Debian's server binaries
# (/usr/lib/postgresql/*/bin, or pg_ctl on PATH) and installs the `postgresql` package when there are none
# (needs root, as in CI).
#
#   scripts/postgres.sh start    # prints AGNOSTREAM_TEST_POSTGRES_URL=postgresql://... as its last line
#   scripts/postgres.sh status   # exit 0 if running, 1 if not
#   scripts/postgres.sh stop     # stops the server and deletes its data
#
# Progress goes to stderr and only the URL line to stdout, so CI can do `export "$(... start | tail -1)"`.
# The server listens on 127.0.0.1 only (no Unix socket), trusts loopback connections, and has a database
# `agnostream` owned by the superuser `postgres`. It is a disposable test server: fsync is off.
# As root (initdb and postgres refuse root) the server runs as the `postgres` user, which must be able
# to reach PG_DATA.
#
# Environment: PG_DATA (data, pid and log, default /tmp/agnostream-postgres), PG_PORT (default 55432),
# PG_BIN (server binaries, default: found as above).
set -euo pipefail

DATA="${PG_DATA:-/tmp/agnostream-postgres}"
CLUSTER="$DATA/cluster"
LOG_FILE="$DATA/postgres.log"
DB=agnostream
SUPERUSER=postgres

say() { echo "postgres.sh: $*" >&2; }

# The newest Debian server version, or the directory of pg_ctl on PATH.
find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return 0; fi
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return 0; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; fi
  return 1
}

install_server() {
  if [[ $EUID -ne 0 ]]; then
    say "no PostgreSQL server binaries found; install Debian's 'postgresql' package (or set PG_BIN)"
    return 1
  fi
  say "no PostgreSQL server binaries found: apt-get install postgresql"
  # Debian's package would also create and start a default cluster on port 5432; this script runs its own.
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
}

# Run a server binary as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port() { sed -n "s|^port = \([0-9]*\)$|\1|p" "$CLUSTER/postgresql.conf" 2>/dev/null | tail -1; }

running() {
  [[ -f "$CLUSTER/postmaster.pid" ]] || return 1
  local bin
  bin="$(find_bin)" || return 1
  as_owner "$bin/pg_ctl" -D "$CLUSTER" status >/dev/null 2>&1
}

url() { echo "AGNOSTREAM_TEST_POSTGRES_URL=postgresql://$SUPERUSER@127.0.0.1:$(port)/$DB"; }

start() {
  if running; then
    say "already running (pid $(head -1 "$CLUSTER/postmaster.pid"))"
    url
    return 0
  fi
  local p="${PG_PORT:-55432}"
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    say "port $p is already in use by another process; set PG_PORT"
    return 1
  fi
  local bin
  bin="$(find_bin)" || { install_server && bin="$(find_bin)"; } || { say "no pg_ctl after installing"; return 1; }
  say "using $("$bin/postgres" --version) from $bin"
  rm -rf "$DATA" && mkdir -p "$DATA"   # every start is a fresh, empty cluster
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres: "$DATA"
    if ! runuser -u postgres -- test -w "$DATA"; then
      say "user postgres cannot write $DATA (a parent directory is private); set PG_DATA elsewhere"
      return 1
    fi
  fi
  local t0=$SECONDS
  as_owner "$bin/initdb" -D "$CLUSTER" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C \
    >"$DATA/initdb.log" 2>&1 || { cat "$DATA/initdb.log" >&2; return 1; }
  # Loopback TCP only; the last `port =` line is what port() reads back.
  cat >>"$CLUSTER/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
port = $p
EOF
  as_owner "$bin/pg_ctl" -D "$CLUSTER" -l "$LOG_FILE" -w -t 60 start >/dev/null \
    || { say "server did not start; last 50 log lines:"; tail -n 50 "$LOG_FILE" >&2 || true; return 1; }
  # Ready = a query succeeds (pg_isready only says the server accepts connections).
  while ((SECONDS - t0 < 60)); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$p" \
      && "$bin/psql" -q -h 127.0.0.1 -p "$p" -U "$SUPERUSER" -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $DB" >/dev/null 2>&1; then
      say "ready in $((SECONDS - t0)) s (log: $LOG_FILE)"
      url
      return 0
    fi
    sleep 1
  done
  say "server not ready after $((SECONDS - t0)) s; last 50 log lines:"
  tail -n 50 "$LOG_FILE" >&2 || true
  return 1
}

stop() {
  if running; then
    local pid
    pid="$(head -1 "$CLUSTER/postmaster.pid")"
    as_owner "$(find_bin)/pg_ctl" -D "$CLUSTER" -m fast -w -t 30 stop >/dev/null \
      || { say "no clean exit, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; }
    say "stopped pid $pid"
  else
    say "not running"
  fi
  rm -rf "$DATA"
}

status() {
  if running; then
    echo "running (pid $(head -1 "$CLUSTER/postmaster.pid"), 127.0.0.1:$(port))"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
