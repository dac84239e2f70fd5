#!/usr/bin/env bash
# A PostgreSQL primary with a streaming hot standby on 127.0.0.1, for klepto's
# read-replica tests.
#
#   pg-replica.sh start    initdb the primary, pg_basebackup the standby (once),
#                          start whichever is down and wait until the standby
#                          streams from the primary (pg_stat_replication) and
#                          replays (a replay left paused is resumed)
#   pg-replica.sh stop     stop both servers; nothing is left running
#   pg-replica.sh env      print the export line of KLEPTO_TEST_PG_PRIMARY_DSN
#                          and KLEPTO_TEST_PG_REPLICA_DSN
#   pg-replica.sh status   print each server's state
#   pg-replica.sh clean    stop both servers and delete their data folders
#
# The primary listens on 15433 and the standby on 15434 (user postgres, trust
# authentication, database test). The standby streams through the physical
# replication slot klepto_standby, with hot_standby on. Everything lives under
# ${KLEPTO_TOPOLOGY_DIR:-/tmp/klepto-topology}/pg-replica; the machine's own
# PostgreSQL (5432) and its configuration are never read or touched. Run as
# root, the servers run as the postgres user; run as another user, as that user.
set -euo pipefail

ROOT="${KLEPTO_TOPOLOGY_DIR:-/tmp/klepto-topology}/pg-replica"
BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PRIMARY="$ROOT/primary"
STANDBY="$ROOT/standby"
PRIMARY_PORT=15433
STANDBY_PORT=15434
SLOT=klepto_standby

die() { echo "pg-replica.sh: $*" >&2; exit 1; }

# as_pg CMD... runs CMD as the user that owns the servers.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# sql PORT DB QUERY prints the result of QUERY, unaligned, without headers.
sql() {
  as_pg "$BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$1" -U postgres -d "$2" -v ON_ERROR_STOP=1 -c "$3"
}

running() { as_pg "$BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

# start_server DIR starts the server of DIR unless it runs, and waits for it.
start_server() {
  running "$1" && return 0
  as_pg "$BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 60 start >/dev/null ||
    die "the server of $1 did not start; see $1.log"
}

stop_server() {
  [ -f "$1/PG_VERSION" ] && running "$1" || return 0
  as_pg "$BIN/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null
}

start() {
  [ -x "$BIN/initdb" ] || die "no PostgreSQL binaries in $BIN (apt-get install postgresql-15, or set PG_BIN)"
  # The server user must reach ROOT: folders made here are searchable by
  # all, and a parent that is not gets the search bit and only it (chmod
  # 755 would take the sticky bit off /tmp).
  (umask 022 && mkdir -p "$ROOT")
  chmod 755 "$ROOT"
  [ "$(id -u)" = 0 ] && chown postgres: "$ROOT"
  as_pg test -x "$ROOT" || chmod a+x "$(dirname "$ROOT")"
  as_pg test -x "$ROOT" || die "the server user $(as_pg id -un) cannot enter $ROOT: make its parent folders searchable"

  if [ ! -f "$PRIMARY/PG_VERSION" ]; then
    rm -rf "$PRIMARY" "$STANDBY" # a standby of another primary is of no use
    as_pg "$BIN/initdb" -D "$PRIMARY" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$ROOT/initdb.log" ||
      die "initdb failed; see $ROOT/initdb.log"
    cat >>"$PRIMARY/postgresql.conf" <<EOF

# klepto's replica topology
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$ROOT'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = 256MB
hot_standby = on
max_connections = 200
fsync = off
EOF
  fi
  start_server "$PRIMARY"
  local n
  n=$(sql $PRIMARY_PORT postgres "SELECT count(*) FROM pg_database WHERE datname = 'test'") ||
    die "cannot query the primary on 127.0.0.1:$PRIMARY_PORT; see $PRIMARY.log"
  if [ "$n" = 0 ]; then
    sql $PRIMARY_PORT postgres "CREATE DATABASE test"
  fi
  n=$(sql $PRIMARY_PORT postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT'") ||
    die "cannot query the primary on 127.0.0.1:$PRIMARY_PORT; see $PRIMARY.log"
  if [ "$n" = 0 ]; then
    sql $PRIMARY_PORT postgres "SELECT pg_create_physical_replication_slot('$SLOT')" >/dev/null
  fi

  if [ ! -f "$STANDBY/standby.signal" ]; then
    rm -rf "$STANDBY"
    # -R writes standby.signal and primary_conninfo.
    as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p $PRIMARY_PORT -U postgres -D "$STANDBY" -R -X stream -S "$SLOT" -c fast ||
      die "pg_basebackup failed"
    cat >>"$STANDBY/postgresql.conf" <<EOF
# the standby
port = $STANDBY_PORT
primary_slot_name = '$SLOT'
hot_standby = on
hot_standby_feedback = on
EOF
  fi
  start_server "$STANDBY"

  # Ready when the primary sees the standby streaming, and the standby
  # replays (a test that paused replay and died leaves it paused).
  for _ in $(seq 1 120); do
    if [ "$(sql $PRIMARY_PORT postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" = 1 ] &&
      [ "$(sql $STANDBY_PORT postgres "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ]; then
      n=$(sql $STANDBY_PORT postgres "SELECT pg_is_wal_replay_paused()") ||
        die "cannot query the standby on 127.0.0.1:$STANDBY_PORT; see $STANDBY.log"
      if [ "$n" = t ]; then
        sql $STANDBY_PORT postgres "SELECT pg_wal_replay_resume()" >/dev/null
      fi
      echo "pg-replica.sh: primary on 127.0.0.1:$PRIMARY_PORT, hot standby streaming on 127.0.0.1:$STANDBY_PORT"
      return 0
    fi
    sleep 0.5
  done
  status >&2
  die "the standby is not streaming after 60 s; see $STANDBY.log and $PRIMARY.log"
}

stop() {
  stop_server "$STANDBY"
  stop_server "$PRIMARY"
}

status() {
  local dir port
  for dir in "$PRIMARY" "$STANDBY"; do
    port=$PRIMARY_PORT
    [ "$dir" = "$STANDBY" ] && port=$STANDBY_PORT
    if [ -f "$dir/PG_VERSION" ] && running "$dir"; then
      echo "$(basename "$dir") 127.0.0.1:$port up, in recovery: $(sql $port postgres "SELECT pg_is_in_recovery()" 2>/dev/null || echo '?')"
    else
      echo "$(basename "$dir") 127.0.0.1:$port down"
    fi
  done
  if [ -f "$PRIMARY/PG_VERSION" ] && running "$PRIMARY"; then
    echo "replication: $(sql $PRIMARY_PORT postgres "SELECT string_agg(application_name || ' ' || state, ', ') FROM pg_stat_replication" 2>/dev/null)"
  fi
}

env() {
  echo "export KLEPTO_TEST_PG_PRIMARY_DSN='postgres://postgres@127.0.0.1:$PRIMARY_PORT/test?sslmode=disable'" \
    "KLEPTO_TEST_PG_REPLICA_DSN='postgres://postgres@127.0.0.1:$STANDBY_PORT/test?sslmode=disable'"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) env ;;
status) status ;;
clean) stop && rm -rf "$ROOT" ;;
*) die "usage: pg-replica.sh start|stop|env|status|clean" ;;
esac
