#!/usr/bin/env bash
# PgBouncer in transaction pooling mode in front of the local PostgreSQL,
# for the tests that use KLEPTO_TEST_PGBOUNCER_DSN.
#
#   integration/topology/pgbouncer.sh start   install if missing, start, wait until a query passes
#   integration/topology/pgbouncer.sh stop    stop it; nothing is left running
#   integration/topology/pgbouncer.sh env     print the export line of KLEPTO_TEST_PGBOUNCER_DSN
#
# start and stop are idempotent. PgBouncer listens on 127.0.0.1:16432
# (KLEPTO_PGBOUNCER_PORT) and forwards every database name to the same
# database of PostgreSQL at 127.0.0.1:5432 (KLEPTO_PGBOUNCER_UPSTREAM_HOST,
# KLEPTO_PGBOUNCER_UPSTREAM_PORT), so that a test can make a database of its
# own; clients are trusted, as PostgreSQL trusts 127.0.0.1. Its configuration,
# log and pid file live in ${KLEPTO_TOPOLOGY_DIR:-/tmp/klepto-topology}/pgbouncer.
set -euo pipefail

port=${KLEPTO_PGBOUNCER_PORT:-16432}
upstream_host=${KLEPTO_PGBOUNCER_UPSTREAM_HOST:-127.0.0.1}
upstream_port=${KLEPTO_PGBOUNCER_UPSTREAM_PORT:-5432}
dir=${KLEPTO_TOPOLOGY_DIR:-/tmp/klepto-topology}/pgbouncer
pidfile=$dir/pgbouncer.pid
# PgBouncer refuses to run as root: it runs as this user.
runas=${KLEPTO_PGBOUNCER_USER:-postgres}
dsn="postgres://postgres@127.0.0.1:$port/test?sslmode=disable&binary_parameters=yes"

# is_pgbouncer PID succeeds if process PID runs PgBouncer.
is_pgbouncer() {
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = pgbouncer ]
}

# pid prints the id of the PgBouncer of pidfile if it runs. A pid file left
# behind may name another process since, which is not ours to signal.
pid() {
  [ -s "$pidfile" ] || return 1
  local p
  p=$(cat "$pidfile")
  case "$p" in '' | *[!0-9]*) return 1 ;; esac
  is_pgbouncer "$p" || return 1
  echo "$p"
}

running() { pid >/dev/null; }

install() {
  command -v pgbouncer >/dev/null && return
  [ -x /usr/sbin/pgbouncer ] && return
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer
  # The package's own service is not ours: it must not hold the port.
  if command -v systemctl >/dev/null; then systemctl disable --now pgbouncer >/dev/null 2>&1 || true; fi
}

configure() {
  mkdir -p "$dir"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$upstream_host port=$upstream_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
max_db_connections = 40
autodb_idle_timeout = 60
server_idle_timeout = 60
ignore_startup_parameters = extra_float_digits
admin_users = postgres
logfile = $dir/pgbouncer.log
pidfile = $pidfile
EOF
  printf '"postgres" ""\n' >"$dir/userlist.txt"
  if [ "$(id -u)" = 0 ]; then chown -R "$runas" "$dir"; fi
}

query() {
  psql "postgres://postgres@127.0.0.1:$port/test?sslmode=disable&connect_timeout=2" -XAtqc 'SELECT 1' 2>/dev/null
}

start() {
  install
  pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  if ! running; then
    # PgBouncer refuses to start while its pid file names a live process.
    rm -f "$pidfile"
    configure
    if [ "$(id -u)" = 0 ]; then
      runuser -u "$runas" -- "$pgbouncer" -d -q "$dir/pgbouncer.ini"
    else
      "$pgbouncer" -d -q "$dir/pgbouncer.ini"
    fi
  fi
  for _ in $(seq 1 60); do
    if [ "$(query)" = 1 ]; then
      echo "pgbouncer: ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"
      return
    fi
    sleep 0.5
  done
  echo "pgbouncer: no answer on 127.0.0.1:$port after 30 s; log:" >&2
  tail -n 20 "$dir/pgbouncer.log" >&2 || true
  exit 1
}

stop() {
  local p
  if p=$(pid); then
    kill "$p"
    for _ in $(seq 1 50); do
      is_pgbouncer "$p" || break
      sleep 0.2
    done
    if is_pgbouncer "$p"; then kill -9 "$p"; fi
  fi
  rm -f "$pidfile"
  echo "pgbouncer: stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) echo "export KLEPTO_TEST_PGBOUNCER_DSN='$dsn'" ;;
*)
  echo "usage: $0 start|stop|env" >&2
  exit 2
  ;;
esac
