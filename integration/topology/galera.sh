#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on 127.0.0.1 for klepto's tests.
#
#   galera.sh start         start the nodes that are down and wait until all
#                           three are Synced. With some node up, the others join
#                           it. With all down, the node whose grastate.dat says
#                           safe_to_bootstrap: 1 (the last to leave the cluster,
#                           cleanly, as stop leaves node 1) bootstraps it again
#                           and the others join it: the data is kept. With no
#                           such node (all crashed or were killed) or no data,
#                           every node's data is deleted and node 1 bootstraps a
#                           new, empty cluster. Delete the folder below to start
#                           afresh.
#   galera.sh stop          stop every node; nothing is left running
#   galera.sh env           print the export line of KLEPTO_TEST_GALERA_DSNS
#   galera.sh kill N        kill node N (1-3) with SIGKILL, as a crash would
#                           (a pid file is trusted only while it names a mariadbd)
#   galera.sh start-node N  start node N again and wait until it has rejoined
#   galera.sh status        print each node's state
#
# Nodes listen for clients on 13306, 13307, 13308 (user root, no password,
# database test), for Galera replication on 14567-14569, for IST on
# 14577-14579 and for rsync SST on 14587-14589. Everything lives under
# ${KLEPTO_TOPOLOGY_DIR:-/tmp/klepto-topology}/galera; the machine's own
# MariaDB and its configuration files are never read or touched.
set -euo pipefail

ROOT="${KLEPTO_TOPOLOGY_DIR:-/tmp/klepto-topology}/galera"
MARIADBD="${MARIADBD:-/usr/sbin/mariadbd}"
PROVIDER="${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}"
NODES=(1 2 3)
CLUSTER="gcomm://127.0.0.1:14567,127.0.0.1:14568,127.0.0.1:14569"

port() { echo $((13305 + $1)); }
dir() { echo "$ROOT/node$1"; }
sock() { echo "$(dir "$1")/mysqld.sock"; }
pidfile() { echo "$(dir "$1")/mysqld.pid"; }
# launched N is the file holding the id of the process launch started (the
# server writes its own pid file only after a state transfer).
launched() { echo "$(dir "$1")/launched.pid"; }

die() { echo "galera.sh: $*" >&2; exit 1; }

# client N ARGS... runs the mariadb client on node N's socket.
client() {
  local n=$1; shift
  mariadb --no-defaults -uroot -S "$(sock "$n")" --batch --skip-column-names "$@"
}

# is_proc PID NAME... succeeds if process PID runs one of the commands NAME,
# as /proc/PID/comm shows them (at most 15 characters). A pid file left
# behind may name another process since, which is not ours to signal.
is_proc() {
  local p=$1 c name
  shift
  case "$p" in '' | *[!0-9]*) return 1 ;; esac
  c=$(cat "/proc/$p/comm" 2>/dev/null) || return 1
  for name in "$@"; do [ "$c" = "${name:0:15}" ] && return 0; done
  return 1
}

# pid N prints node N's server process id if it is running.
pid() {
  local f; f=$(launched "$1")
  [ -s "$f" ] || return 1
  local p; p=$(cat "$f")
  is_proc "$p" "$(basename "$MARIADBD")" || return 1
  echo "$p"
}

running() { pid "$1" >/dev/null; }

# state N prints node N's wsrep state (Synced, Donor/Desynced, ...), or down.
state() {
  running "$1" && client "$1" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2 || echo down
}

size() {
  client "$1" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2
}

need() {
  local pkgs=()
  command -v rsync >/dev/null || pkgs+=(rsync)
  [ -f "$PROVIDER" ] || pkgs+=(galera-4)
  if [ ${#pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing: ${pkgs[*]} (apt-get install ${pkgs[*]})"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
  fi
  [ -x "$MARIADBD" ] || die "$MARIADBD is missing (apt-get install mariadb-server)"
  [ -f "$PROVIDER" ] || die "$PROVIDER is missing (apt-get install galera-4)"
}

# config N writes node N's configuration file.
config() {
  local n=$1 d; d=$(dir "$n")
  cat >"$d/my.cnf" <<EOF
[mysqld]
datadir=$d/data
socket=$(sock "$n")
pid-file=$(pidfile "$n")
log-error=$d/error.log
port=$(port "$n")
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=2
max_connections=400
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=klepto
wsrep_cluster_address=$CLUSTER
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$((14566 + n))
wsrep_provider_options=gmcast.listen_addr=tcp://127.0.0.1:$((14566 + n));ist.recv_addr=127.0.0.1:$((14576 + n));gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((14586 + n))
EOF
}

# launch N [ARGS...] starts node N's server in the background.
launch() {
  local n=$1; shift
  local d; d=$(dir "$n")
  local user=()
  [ "$(id -u)" = 0 ] && user=(--user=mysql)
  config "$n"
  [ "$(id -u)" = 0 ] && chown -R mysql:mysql "$d"
  setsid "$MARIADBD" --defaults-file="$d/my.cnf" "${user[@]}" "$@" </dev/null >>"$d/stdout.log" 2>&1 &
  echo $! >"$(launched "$n")"
}

# wait_synced N waits until node N is Synced in a cluster of size 3 (or of
# the size given as $2).
wait_synced() {
  local n=$1 want=${2:-3} i
  for i in $(seq 1 180); do
    if ! running "$n" && [ "$i" -gt 5 ]; then
      tail -n 30 "$(dir "$n")/error.log" >&2 || true
      die "node $n exited while starting; see $(dir "$n")/error.log"
    fi
    if [ "$(state "$n")" = Synced ] && [ "$(size "$n")" -ge "$want" ]; then
      return 0
    fi
    sleep 1
  done
  tail -n 30 "$(dir "$n")/error.log" >&2 || true
  die "node $n not Synced with $want nodes after 180s; see $(dir "$n")/error.log"
}

# init N makes node N's empty data directory.
init() {
  local n=$1 d; d=$(dir "$n")
  rm -rf "$d"
  mkdir -p "$d/data"
  [ "$(id -u)" = 0 ] && chown -R mysql:mysql "$d"
  local user=()
  [ "$(id -u)" = 0 ] && user=(--user=mysql)
  mariadb-install-db --no-defaults "${user[@]}" --datadir="$d/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1 ||
    { cat "$d/install.log" >&2; die "mariadb-install-db failed for node $n"; }
}

# others N prints the number of nodes other than N that are running.
others() {
  local n=$1 m c=0
  for m in "${NODES[@]}"; do [ "$m" != "$n" ] && running "$m" && c=$((c + 1)); done
  echo $c
}

start_node() {
  local n=$1
  if running "$n"; then wait_synced "$n"; return; fi
  [ "$(others "$n")" -gt 0 ] || die "no other node is running for node $n to join; use start"
  [ -d "$(dir "$n")/data" ] || init "$n"
  launch "$n"
  wait_synced "$n"
}

# safe_node prints the number of the node whose grastate.dat allows it to
# bootstrap the cluster again, keeping its data, if there is one: the last
# node to leave the cluster cleanly, which has every transaction.
safe_node() {
  local n
  for n in "${NODES[@]}"; do
    if grep -qE '^safe_to_bootstrap:[[:space:]]*1[[:space:]]*$' "$(dir "$n")/data/grastate.dat" 2>/dev/null; then
      echo "$n"
      return
    fi
  done
}

start() {
  need
  local up=0 n boot
  for n in "${NODES[@]}"; do running "$n" && up=$((up + 1)); done
  if [ "$up" = 0 ]; then
    boot=$(safe_node)
    if [ -n "$boot" ]; then
      # The cluster stopped: its last node bootstraps it again with its
      # data, and the others join it (by IST or SST).
      echo "galera: node $boot is safe to bootstrap; restarting the cluster from its data"
      launch "$boot" --wsrep-new-cluster
    else
      # A new cluster: node 1 bootstraps, the others join it by SST.
      if [ -e "$ROOT" ]; then
        echo "galera: no node is safe to bootstrap (safe_to_bootstrap: 1 in grastate.dat); deleting every node's data for a new cluster" >&2
      fi
      boot=1
      for n in "${NODES[@]}"; do init "$n"; done
      launch "$boot" --wsrep-new-cluster
    fi
    wait_synced "$boot" 1
    client "$boot" -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
      CREATE DATABASE IF NOT EXISTS test;"
  fi
  for n in "${NODES[@]}"; do
    running "$n" && continue
    [ -d "$(dir "$n")/data" ] || init "$n"
    launch "$n"
    wait_synced "$n" 2
  done
  for n in "${NODES[@]}"; do wait_synced "$n"; done
  echo "galera: 3 nodes Synced on 127.0.0.1:13306,13307,13308"
}

stop_node() {
  local n=$1 p i name
  name=$(basename "$MARIADBD")
  p=$(pid "$n") || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 1 60); do
    is_proc "$p" "$name" || break
    sleep 0.5
  done
  if is_proc "$p" "$name"; then kill -KILL "$p" 2>/dev/null || true; fi
  # An SST may have left an rsync daemon behind.
  p=$(cat "$(dir "$n")/data/rsync_sst.pid" 2>/dev/null) || true
  if is_proc "$p" rsync; then kill -KILL "$p" 2>/dev/null || true; fi
  p=$(cat "$(dir "$n")/data/stunnel.pid" 2>/dev/null) || true
  if is_proc "$p" stunnel stunnel4; then kill -KILL "$p" 2>/dev/null || true; fi
}

stop() {
  local n
  # Joiners first, so the last node stops cleanly (safe_to_bootstrap).
  for n in 3 2 1; do stop_node "$n"; done
  echo "galera: stopped"
}

dsns() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("root@tcp(127.0.0.1:$(port "$n"))/test?parseTime=true"); done
  (IFS=,; echo "${out[*]}")
}

node_arg() {
  case "${1:-}" in 1 | 2 | 3) echo "$1" ;; *) die "want a node number 1, 2 or 3, got '${1:-}'" ;; esac
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) echo "export KLEPTO_TEST_GALERA_DSNS='$(dsns)'" ;;
kill)
  n=$(node_arg "${2:-}")
  p=$(pid "$n") || die "node $n is not running"
  kill -KILL "$p"
  while is_proc "$p" "$(basename "$MARIADBD")"; do sleep 0.1; done
  echo "galera: node $n killed"
  ;;
start-node)
  n=$(node_arg "${2:-}")
  start_node "$n"
  echo "galera: node $n Synced"
  ;;
status) for n in "${NODES[@]}"; do echo "node$n $(port "$n") $(state "$n")"; done ;;
*) die "usage: galera.sh start|stop|env|kill N|start-node N|status" ;;
esac
