#!/usr/bin/env bash
# The scale-out topology of deploy/compose.yaml as local processes, for tests and benchmarks on
# one machine: Postgres + pgvector, Redis (and FalkorDB with STACK_GRAPH=falkordb) from the
# project's scripts, `crawlrag migrate` once, STACK_API_REPLICAS `crawlrag serve --role api`
# replicas behind nginx (deploy/nginx/nginx.conf rendered with loopback upstreams), and
# STACK_WORKERS `crawlrag worker` processes. Loopback only; every wait is bounded.
#
#   stack.sh up                     # start everything, wait for each /ready; prints `env` output
#   stack.sh down                   # stop nginx, API replicas and workers (SIGTERM, then SIGKILL)
#   stack.sh status                 # one line per process; exit 0 when all run
#   stack.sh env                    # shell exports: MCP URL, ports, pid files, logs, URLs
#   stack.sh kill-worker N [SIG]    # send SIG (default TERM) to worker N (1-based)
#   stack.sh restart-worker N       # stop worker N (drain, bounded) and start it again
#
# Env (all optional):
#   CRAWLRAG_BIN          binary (default target/release/crawlrag, relative to the repository)
#   STACK_DIR             run dir: pids, logs, nginx config, stack.env
#                         (default $CRAWLRAG_SERVICES_DIR/stack, services dir /var/tmp/crawlrag-services)
#   STACK_API_REPLICAS    API replicas (default 2)          STACK_WORKERS   workers (default 3)
#   STACK_BASE_PORT       nginx port; API i on BASE+i, worker i on BASE+100+i (default 18050)
#   STACK_GRAPH           `falkordb`: start FalkorDB and set FALKORDB_URL (default: none)
#   STACK_READY_TIMEOUT   seconds to wait for each process to be ready (default 90)
#   STACK_STOP_TIMEOUT    seconds a process gets to drain before SIGKILL (default 90)
#   STACK_NGINX_ACCESS_LOG  1: write nginx's access log (default off: benchmarks)
#   STACK_API_ARGS        extra arguments of every replica  (default "--role api")
#   STACK_WORKER_HTTP     1: workers serve /health,/ready,/metrics with --http (default 1);
#                         0 for binaries without it (readiness is then "still alive after 2 s")
#   DATABASE_URL / CRAWLRAG_PG_SCHEMA, REDIS_URL, FALKORDB_URL: use these instead of starting
#   the services (a schema or Redis database per test isolates its data). Every other variable
#   of the caller's environment (CRAWLRAG_*, RUST_LOG, ...) passes through to all processes.
# Started processes never hold the caller's stdin/stdout/stderr (tests read this script's
# output): each writes to its own log under $STACK_DIR/log. Postgres and Redis are shared
# services and stay up after `down`.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SERVICES_DIR=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
STACK_DIR=${STACK_DIR:-$SERVICES_DIR/stack}
STACK_API_REPLICAS=${STACK_API_REPLICAS:-2}
STACK_WORKERS=${STACK_WORKERS:-3}
STACK_BASE_PORT=${STACK_BASE_PORT:-18050}
STACK_GRAPH=${STACK_GRAPH:-}
STACK_READY_TIMEOUT=${STACK_READY_TIMEOUT:-90}
STACK_STOP_TIMEOUT=${STACK_STOP_TIMEOUT:-90}
STACK_NGINX_ACCESS_LOG=${STACK_NGINX_ACCESS_LOG:-0}
STACK_API_ARGS=${STACK_API_ARGS---role api}
STACK_WORKER_HTTP=${STACK_WORKER_HTTP:-1}
CRAWLRAG_BIN=${CRAWLRAG_BIN:-target/release/crawlrag}
[[ $CRAWLRAG_BIN = /* ]] || CRAWLRAG_BIN=$REPO/$CRAWLRAG_BIN

RUN=$STACK_DIR/run
LOGS=$STACK_DIR/log
STATE=$STACK_DIR/stack.env
NGINX_PORT=$STACK_BASE_PORT

log() { echo "stack.sh: $*" >&2; }
die() {
  log "$*"
  exit 1
}

api_port() { echo $((STACK_BASE_PORT + $1)); }
worker_port() { echo $((STACK_BASE_PORT + 100 + $1)); }

# The pid in a pid file, if that process is alive and still the program we started.
live_pid() { # $1 pid file, $2 expected command substring
  local pid
  [ -s "$1" ] || return 1
  pid=$(<"$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  echo "$pid"
}

tail_log() {
  log "last lines of $1:"
  tail -n 40 "$1" >&2 2>/dev/null || true
}

# Load the URLs `up` resolved (so status/env/restart see the same services).
load_state() {
  # shellcheck source=/dev/null
  [ -f "$STATE" ] && . "$STATE"
  return 0
}

# Start a detached process: own session, stdin from /dev/null, output to its log.
spawn() { # $1 pid file, $2 log, rest: command
  local pidfile=$1 logfile=$2
  shift 2
  : >"$logfile"
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  echo $! >"$pidfile"
}

# Poll URL until it answers 2xx; fail early (with the log) if the process dies.
wait_ready() { # $1 name, $2 url, $3 pid file, $4 log
  local deadline=$((SECONDS + STACK_READY_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    # kill -0, not live_pid: right after spawn the pid may not have exec'd the program yet.
    if ! kill -0 "$(<"$3")" 2>/dev/null; then
      log "$1 exited before it was ready"
      tail_log "$4"
      return 1
    fi
    if [ -z "$2" ]; then
      # No probe endpoint: alive for two seconds counts as started.
      sleep 2
      kill -0 "$(<"$3")" 2>/dev/null && return 0
      continue
    fi
    curl -fsS --max-time 2 -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.3
  done
  log "$1 not ready at $2 within ${STACK_READY_TIMEOUT}s"
  tail_log "$4"
  return 1
}

resolve_services() {
  mkdir -p "$RUN" "$LOGS"
  [ -x "$CRAWLRAG_BIN" ] || die "no crawlrag binary at $CRAWLRAG_BIN (cargo build --release --bin crawlrag, or set CRAWLRAG_BIN)"
  local database_url=${DATABASE_URL:-} redis_url=${REDIS_URL:-} falkordb_url=${FALKORDB_URL:-}
  local model=${CRAWLRAG_EMBEDDING_MODEL_PATH:-} ort=${CRAWLRAG_ONNXRUNTIME_LIB:-} chromium=${CRAWLRAG_CHROMIUM_PATH:-}
  [ -n "$database_url" ] || database_url=$("$REPO/scripts/postgres.sh" start)
  [ -n "$redis_url" ] || redis_url=$("$REPO/scripts/redis.sh" start)
  if [ "$STACK_GRAPH" = falkordb ] && [ -z "$falkordb_url" ]; then
    falkordb_url=$("$REPO/scripts/falkordb.sh" start)
  fi
  [ -n "$model" ] || model=$("$REPO/scripts/model.sh")
  [ -n "$ort" ] || ort=$("$REPO/scripts/onnxruntime.sh")
  [ -n "$chromium" ] || chromium=$("$REPO/scripts/chromium.sh")
  {
    echo "export DATABASE_URL='$database_url'"
    echo "export REDIS_URL='$redis_url'"
    [ -z "$falkordb_url" ] || echo "export FALKORDB_URL='$falkordb_url'"
    [ -z "${CRAWLRAG_PG_SCHEMA:-}" ] || echo "export CRAWLRAG_PG_SCHEMA='$CRAWLRAG_PG_SCHEMA'"
    echo "export CRAWLRAG_EMBEDDING_MODEL_PATH='$model'"
    echo "export CRAWLRAG_ONNXRUNTIME_LIB='$ort'"
    echo "export CRAWLRAG_CHROMIUM_PATH='$chromium'"
    echo "export CRAWLRAG_MODEL_DOWNLOAD=false"
  } >"$STATE"
}

start_api() { # $1 replica number
  local port
  port=$(api_port "$1")
  # shellcheck disable=SC2086 # STACK_API_ARGS is a word list on purpose
  spawn "$RUN/api-$1.pid" "$LOGS/api-$1.log" \
    env CRAWLRAG_ROLE=api "$CRAWLRAG_BIN" serve --http "127.0.0.1:$port" $STACK_API_ARGS
}

start_worker() { # $1 worker number
  local port
  port=$(worker_port "$1")
  if [ "$STACK_WORKER_HTTP" = 1 ]; then
    spawn "$RUN/worker-$1.pid" "$LOGS/worker-$1.log" \
      env CRAWLRAG_WORKER_HTTP_ADDR="127.0.0.1:$port" "$CRAWLRAG_BIN" worker --http "127.0.0.1:$port"
  else
    spawn "$RUN/worker-$1.pid" "$LOGS/worker-$1.log" "$CRAWLRAG_BIN" worker
  fi
}

wait_worker() { # $1 worker number
  local url=""
  [ "$STACK_WORKER_HTTP" = 1 ] && url="http://127.0.0.1:$(worker_port "$1")/ready"
  wait_ready "worker $1" "$url" "$RUN/worker-$1.pid" "$LOGS/worker-$1.log"
}

# deploy/nginx/nginx.conf with loopback upstreams, this stack's port, and paths in $STACK_DIR.
render_nginx() {
  local dir=$STACK_DIR/nginx servers="" i access="access_log off;"
  mkdir -p "$dir/tmp"
  chmod 1777 "$dir/tmp" # nginx workers run as nobody when started by root
  for i in $(seq 1 "$STACK_API_REPLICAS"); do
    servers+="        server 127.0.0.1:$(api_port "$i") max_fails=3 fail_timeout=10s;\n"
  done
  [ "$STACK_NGINX_ACCESS_LOG" = 1 ] && access="access_log $LOGS/nginx-access.log crawlrag;"
  awk -v servers="$servers" -v port="$NGINX_PORT" -v tmp="$dir/tmp" -v access="$access" '
    /^[[:space:]]*upstream / { emitted = 0 }
    /^[[:space:]]*server api-[0-9]+:8051/ { if (!emitted) { printf "%s", servers; emitted = 1 } next }
    /^[[:space:]]*listen 8080;/ { print "        listen 127.0.0.1:" port ";"; next }
    /^[[:space:]]*access_log / { print "    " access; next }
    /@STACK_HTTP@/ {
      print "    client_body_temp_path " tmp "/body;"
      print "    proxy_temp_path " tmp "/proxy;"
      print "    fastcgi_temp_path " tmp "/fastcgi;"
      print "    uwsgi_temp_path " tmp "/uwsgi;"
      print "    scgi_temp_path " tmp "/scgi;"
      next
    }
    { print }
  ' "$REPO/deploy/nginx/nginx.conf" >"$dir/nginx.conf"
}

start_nginx() {
  local nginx
  nginx=${CRAWLRAG_TEST_NGINX:-$("$REPO/scripts/nginx.sh")}
  render_nginx
  "$nginx" -t -q -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf" -g "pid $RUN/nginx.pid;" \
    >"$LOGS/nginx.log" 2>&1 || {
    tail_log "$LOGS/nginx.log"
    return 1
  }
  spawn "$RUN/nginx.pid.spawn" "$LOGS/nginx.log" \
    "$nginx" -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf" -g "pid $RUN/nginx.pid; daemon off;"
}

up() {
  if [ -n "$(running_names)" ]; then
    die "a stack is already running in $STACK_DIR ($(running_names | tr '\n' ' ')): run \`stack.sh down\` first"
  fi
  resolve_services
  load_state
  log "migrating ($LOGS/migrate.log)"
  if ! timeout "$STACK_READY_TIMEOUT" "$CRAWLRAG_BIN" migrate </dev/null >"$LOGS/migrate.log" 2>&1; then
    log "crawlrag migrate failed"
    tail_log "$LOGS/migrate.log"
    exit 1
  fi
  local i ok=1
  for i in $(seq 1 "$STACK_API_REPLICAS"); do start_api "$i"; done
  for i in $(seq 1 "$STACK_WORKERS"); do start_worker "$i"; done
  for i in $(seq 1 "$STACK_API_REPLICAS"); do
    wait_ready "api $i" "http://127.0.0.1:$(api_port "$i")/ready" "$RUN/api-$i.pid" "$LOGS/api-$i.log" || ok=0
  done
  for i in $(seq 1 "$STACK_WORKERS"); do wait_worker "$i" || ok=0; done
  if [ "$ok" = 1 ]; then
    if start_nginx; then
      wait_ready nginx "http://127.0.0.1:$NGINX_PORT/health" "$RUN/nginx.pid.spawn" "$LOGS/nginx.log" || ok=0
    else
      ok=0
    fi
  fi
  if [ "$ok" != 1 ]; then
    log "stack did not come up; stopping what started (logs stay in $LOGS)"
    down
    exit 1
  fi
  log "up: MCP at http://127.0.0.1:$NGINX_PORT/mcp"
  env_exports
}

# Names of the processes with a live pid file.
running_names() {
  local f name
  for f in "$RUN"/*.pid "$RUN"/nginx.pid.spawn; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    name=${name%.spawn}
    name=${name%.pid}
    if live_pid "$f" "$(expected_cmd "$name")" >/dev/null; then echo "$name"; fi
  done
}

expected_cmd() { if [ "$1" = nginx ]; then echo nginx; else echo "$CRAWLRAG_BIN"; fi; }

pid_file() { if [ "$1" = nginx ]; then echo "$RUN/nginx.pid.spawn"; else echo "$RUN/$1.pid"; fi; }

# SIGTERM, wait (bounded) for the drain, then SIGKILL.
stop_process() { # $1 name
  local file pid deadline
  file=$(pid_file "$1")
  pid=$(live_pid "$file" "$(expected_cmd "$1")") || {
    rm -f "$file"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STACK_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$1 (pid $pid) still running after ${STACK_STOP_TIMEOUT}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  local name group stopping
  # nginx first (no new requests), then the API replicas, then the workers (they drain), each
  # group in parallel. Wait for exactly those stoppers: a bare `wait` would also wait for the
  # processes `up` spawned from this same shell.
  stop_process nginx
  rm -f "$RUN/nginx.pid"
  for group in api worker; do
    stopping=()
    for name in $(running_names | grep "^$group-" || true); do
      stop_process "$name" &
      stopping+=($!)
    done
    [ "${#stopping[@]}" = 0 ] || wait "${stopping[@]}"
  done
  log "down"
}

status() {
  local all=0 i name file pid ready url
  for name in nginx $(seq -f 'api-%g' 1 "$STACK_API_REPLICAS") $(seq -f 'worker-%g' 1 "$STACK_WORKERS"); do
    file=$(pid_file "$name")
    case $name in
      nginx) url="http://127.0.0.1:$NGINX_PORT/health" ;;
      api-*) url="http://127.0.0.1:$(api_port "${name#api-}")/ready" ;;
      worker-*) url="http://127.0.0.1:$(worker_port "${name#worker-}")/ready" ;;
    esac
    if pid=$(live_pid "$file" "$(expected_cmd "$name")"); then
      if [[ $name = worker-* ]] && [ "$STACK_WORKER_HTTP" != 1 ]; then
        ready=no-probe
      elif curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; then ready=ready; else ready=not-ready; fi
      printf '%-10s running  pid %-8s %-9s %s\n' "$name" "$pid" "$ready" "$url"
    else
      printf '%-10s stopped\n' "$name"
      all=1
    fi
  done
  return "$all"
}

env_exports() {
  local i
  load_state
  echo "export STACK_DIR='$STACK_DIR'"
  echo "export CRAWLRAG_MCP_URL='http://127.0.0.1:$NGINX_PORT/mcp'"
  echo "export CRAWLRAG_SSE_URL='http://127.0.0.1:$NGINX_PORT/sse'"
  echo "export STACK_NGINX_PORT=$NGINX_PORT"
  echo "export STACK_NGINX_PID_FILE='$RUN/nginx.pid'"
  echo "export STACK_NGINX_LOG='$LOGS/nginx.log'"
  echo "export STACK_NGINX_ACCESS_LOG_FILE='$LOGS/nginx-access.log'"
  echo "export STACK_NGINX_CONF='$STACK_DIR/nginx/nginx.conf'"
  echo "export STACK_MIGRATE_LOG='$LOGS/migrate.log'"
  echo "export STACK_API_REPLICAS=$STACK_API_REPLICAS"
  for i in $(seq 1 "$STACK_API_REPLICAS"); do
    echo "export STACK_API_${i}_PORT=$(api_port "$i")"
    echo "export STACK_API_${i}_URL='http://127.0.0.1:$(api_port "$i")'"
    echo "export STACK_API_${i}_PID_FILE='$RUN/api-$i.pid'"
    echo "export STACK_API_${i}_LOG='$LOGS/api-$i.log'"
  done
  echo "export STACK_WORKERS=$STACK_WORKERS"
  for i in $(seq 1 "$STACK_WORKERS"); do
    echo "export STACK_WORKER_${i}_PORT=$(worker_port "$i")"
    echo "export STACK_WORKER_${i}_PID_FILE='$RUN/worker-$i.pid'"
    echo "export STACK_WORKER_${i}_LOG='$LOGS/worker-$i.log'"
  done
  [ ! -f "$STATE" ] || cat "$STATE"
}

worker_number() { # validate N
  if ! [[ ${1:-} =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt "$STACK_WORKERS" ]; then
    die "worker number must be 1..$STACK_WORKERS, got '${1:-}'"
  fi
}

kill_worker() { # $1 N, $2 signal
  local pid
  worker_number "$1"
  pid=$(live_pid "$RUN/worker-$1.pid" "$CRAWLRAG_BIN") || die "worker $1 is not running"
  kill -s "${2:-TERM}" "$pid"
  log "sent SIG${2:-TERM} to worker $1 (pid $pid)"
}

restart_worker() { # $1 N
  worker_number "$1"
  load_state
  stop_process "worker-$1"
  start_worker "$1"
  wait_worker "$1" || exit 1
  log "worker $1 restarted (pid $(<"$RUN/worker-$1.pid"))"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) env_exports ;;
  kill-worker) kill_worker "${2:-}" "${3:-TERM}" ;;
  restart-worker) restart_worker "${2:-}" ;;
  *)
    log "usage: stack.sh up|down|status|env|kill-worker N [SIGNAL]|restart-worker N"
    exit 2
    ;;
esac
