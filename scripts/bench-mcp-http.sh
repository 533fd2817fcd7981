#!/usr/bin/env bash
# MCP tool calls over streamable HTTP on kept-alive connections, driven by a C load generator
# (wrk): crawlrag against the official MCP Python SDK server, same machine, same run, same tool
# shape (`get_available_sources` on an empty index), one MCP session per connection. Prints a
# Markdown table; never fails on a timing.
#   scripts/bench-mcp-http.sh            # 10 s per run; BENCH_SECONDS=N to change
# Env: CRAWLRAG_SERVICES_DIR (default /var/tmp/crawlrag-services) holds the Python venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
VENV=$ROOT/venvs/mcp-python-sdk
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/crawlrag-target}
RUST_PORT=18561
PY_PORT=18562
WORK=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "bench-mcp-http: $*" >&2; }
sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null; then
  log "installing wrk from apt"
  sudo_if_needed apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq wrk >&2
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import mcp.server.mcpserver' 2>/dev/null; then
  log "installing the MCP Python SDK into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'mcp>=2,<3' >&2
fi
log "building crawlrag (release)"
CARGO_TARGET_DIR=$TARGET cargo build --release --locked --quiet
MODEL=$(scripts/model.sh)

wait_for() { # url
  for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  log "nothing answers at $1"; exit 1
}

# Open one MCP session (initialize + initialized) and print its id.
open_session() { # base url
  local headers=$WORK/headers
  curl -s -D "$headers" -o /dev/null -X POST "$1" -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
  local id
  id=$(grep -i '^mcp-session-id:' "$headers" | awk '{print $2}' | tr -d '\r')
  curl -s -o /dev/null -X POST "$1" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -H "mcp-session-id: $id" -H 'mcp-protocol-version: 2025-06-18' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  echo "$id"
}

# One tool call, to check the server answers the tool before it is loaded.
check_call() { # base url, session
  curl -s -X POST "$1" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -H "mcp-session-id: $2" -H 'mcp-protocol-version: 2025-06-18' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_available_sources","arguments":{}}}' \
    | grep -q '"isError":false' || { log "$1 did not answer the tool call"; exit 1; }
}

run() { # name, url, connections -> "name|connections|calls/s|p50|p99|errors"
  local sessions="" id
  for _ in $(seq 1 "$3"); do
    id=$(open_session "$2")
    sessions="${sessions:+$sessions,}$id"
  done
  check_call "$2" "${sessions%%,*}"
  local out
  out=$(SESSIONS=$sessions wrk -t "$3" -c "$3" -d "${SECONDS_PER_RUN}s" -s benches/peers/mcp_call.lua "$2" | grep '^RESULT')
  local calls seconds p50 p99 errors non2xx
  calls=$(sed -E 's/.*calls=([0-9]+).*/\1/' <<<"$out")
  seconds=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$out")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$out")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")
  errors=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")
  echo "$1|$3|$(awk -v c="$calls" -v s="$seconds" 'BEGIN{printf "%.0f", c/s}')|$p50|$p99|$((errors + non2xx))"
}

log "starting crawlrag serve --http 127.0.0.1:$RUST_PORT"
CRAWLRAG_DB=$WORK/bench.db CRAWLRAG_EMBEDDING_MODEL_PATH=$MODEL RUST_LOG=warn \
  "$TARGET/release/crawlrag" serve --http "127.0.0.1:$RUST_PORT" >"$WORK/crawlrag.log" 2>&1 &
pids+=($!)
log "starting the MCP Python SDK server on 127.0.0.1:$PY_PORT"
"$VENV/bin/python" benches/peers/mcp_python_server.py "$PY_PORT" >"$WORK/python.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$RUST_PORT/health"
wait_for "http://127.0.0.1:$PY_PORT/mcp"

rows=()
for connections in 8 64; do
  rows+=("$(run crawlrag "http://127.0.0.1:$RUST_PORT/mcp" "$connections")")
  rows+=("$(run "MCP Python SDK $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))')" \
    "http://127.0.0.1:$PY_PORT/mcp" "$connections")")
done

echo
echo "MCP tools/call over streamable HTTP, kept-alive connections, one session each, ${SECONDS_PER_RUN}s per run, $(nproc) cores"
echo
echo "| server | connections | calls/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for row in "${rows[@]}"; do echo "| ${row//|/ | } |"; done
rust64=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$1=="crawlrag" && $2==64 {print $3}')
py64=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$1!="crawlrag" && $2==64 {print $3}')
echo
awk -v r="$rust64" -v p="$py64" 'BEGIN{ if (p > 0) printf "crawlrag / Python SDK at 64 connections: %.1fx\n", r/p }'
