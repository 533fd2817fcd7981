#!/usr/bin/env bash
# Idempotent local Redis (the queue engine and the shared rate limits) for development and tests:
# `redis-server` from Debian's packages (Redis 7: Streams, consumer groups, XAUTOCLAIM), started
# as a private instance on a loopback port. The package's own service is never started.
#
#   redis.sh start    # install if needed, start on 127.0.0.1, wait for PING; prints the URL
#   redis.sh stop     # stop the server (no-op if not running)
#   redis.sh status   # exit 0 if running and answering PING
#   redis.sh url      # print the URL: redis://127.0.0.1:PORT
#   redis.sh binary   # install if needed and print the redis-server path (tests start their own)
# Env (all optional):
#   CRAWLRAG_SERVICES_DIR   root for every local service             (default /var/tmp/crawlrag-services)
#   REDIS_PORT              TCP port on 127.0.0.1                     (default 56380)
# Test data only: nothing is persisted, so a restart starts empty.
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
REDIS_PORT=${REDIS_PORT:-56380}
RUN=$ROOT/redis/$REDIS_PORT
PIDFILE=$RUN/redis.pid
LOG=$RUN/redis.log
URL="redis://127.0.0.1:${REDIS_PORT}"

log() { echo "redis.sh: $*" >&2; }

binary() {
  for path in "$(command -v redis-server || true)" /usr/bin/redis-server; do
    if [ -n "$path" ] && [ -x "$path" ]; then
      echo "$path"
      return 0
    fi
  done
  log "installing redis-server from apt"
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq >&2
  # policy-rc.d 101: do not start the packaged service (it would take port 6379).
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends redis-server >&2 || {
    "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
    exit 1
  }
  "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  echo /usr/bin/redis-server
}

answers_ping() {
  local fd reply
  { exec {fd}<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null || return 1
  printf 'PING\r\nQUIT\r\n' >&"$fd"
  IFS= read -r -t 5 reply <&"$fd" || true
  exec {fd}>&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

server_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(<"$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  local bin
  bin=$(binary)
  if server_pid >/dev/null && answers_ping; then
    echo "$URL"
    return 0
  fi
  mkdir -p "$RUN"
  "$bin" --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --daemonize yes \
    --dir "$RUN" --pidfile "$PIDFILE" --logfile "$LOG" >&2
  for _ in $(seq 1 100); do
    if answers_ping; then
      echo "$URL"
      return 0
    fi
    sleep 0.1
  done
  log "redis-server did not answer PING on port $REDIS_PORT; last lines of $LOG:"
  tail -n 20 "$LOG" >&2 || true
  exit 1
}

stop() {
  local pid
  pid=$(server_pid) || return 0
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) server_pid >/dev/null && answers_ping ;;
  url) echo "$URL" ;;
  binary) binary ;;
  *)
    log "usage: redis.sh start|stop|status|url|binary"
    exit 2
    ;;
esac
