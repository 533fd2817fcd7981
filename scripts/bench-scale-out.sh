#!/usr/bin/env bash
# Scale-out benchmark, on the topology of deploy/compose.yaml run as local processes
# (scripts/stack.sh). Prints Markdown; never fails on a timing.
#
# 1. Pages/s of one distributed site crawl with 1, 2 and 4 workers against a fixture site whose
#    every page answers after 50 ms (nginx's echo module), so the crawl is I/O-bound and scaling
#    shows on 2 cores. Each worker takes BENCH_PAGE_SLOTS pages at once (default 2); the crawl
#    fetches, extracts and chunks (`--dry-run`: no embedding, whose CPU would be the limit here).
# 2. MCP tool calls/s through nginx to two API replicas with an API key on every call (wrk,
#    sessionless protocol 2026-07-28 requests, `get_available_sources`).
#
#   scripts/bench-scale-out.sh      # BENCH_PAGES (default 1000), BENCH_SECONDS (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PAGES=${BENCH_PAGES:-1000}
SLOTS=${BENCH_PAGE_SLOTS:-2}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/crawlrag-target}
export CRAWLRAG_BIN=$TARGET/release/crawlrag
WORK=$(mktemp -d)
SITE_PORT=18690
export STACK_DIR=$WORK/stack STACK_BASE_PORT=18700
nginx_pid=""
cleanup() {
  scripts/stack.sh down >/dev/null 2>&1 || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench-scale-out: $*" >&2; }
sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null; then
  log "installing wrk from apt"
  sudo_if_needed apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq wrk >&2
fi
NGINX=$(scripts/nginx.sh)
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so
if [ ! -f "$ECHO_MODULE" ]; then
  log "installing nginx's echo module from apt"
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq libnginx-mod-http-echo >&2
fi
log "building crawlrag (release)"
CARGO_TARGET_DIR=$TARGET cargo build --release --locked --quiet --bin crawlrag
eval "$(scripts/services.sh 2>/dev/null)"
export REDIS_URL=$CRAWLRAG_TEST_REDIS_URL CRAWLRAG_ALLOW_PRIVATE_NETWORKS=true RUST_LOG=warn
export CRAWLRAG_PAGE_SLOTS=$SLOTS CRAWLRAG_RATE_LIMIT_IP=off CRAWLRAG_RATE_LIMIT_KEY=off

# The fixture: a 4-ary tree of pages, each linking to its children, its parent and the home page.
python3 - "$WORK/site" "$PAGES" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/p", exist_ok=True)
open(f"{root}/robots.txt", "w").write("User-agent: *\nAllow: /\n")
words = "crawler ledger stream worker replica embedding vector chunk sitemap robots".split()
for i in range(n):
    links = [c for c in range(4 * i + 1, 4 * i + 5) if c < n] + [max(i - 1, 0) // 4, 0]
    items = "".join(f'<li><a href="/p/{l}.html">page {l}</a></li>' for l in links)
    text = " ".join(words[(i * 7 + w * 3) % len(words)] for w in range(120))
    open(f"{root}/p/{i}.html", "w").write(
        f"<!doctype html><html><head><title>Page {i}</title></head><body><main><h1>Page {i}</h1>"
        f"<p>{text}</p><ul>{items}</ul></main></body></html>")
EOF
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat >"$WORK/site.conf" <<EOF
load_module $ECHO_MODULE;
$user
daemon off; worker_processes 1; pid $WORK/site.pid; error_log $WORK/site.err;
events { worker_connections 4096; }
http { access_log off; types { text/html html; text/plain txt; }
  server { listen 127.0.0.1:$SITE_PORT; root $WORK/site;
    location /p/ { echo_sleep 0.05; echo_exec @page; }
    location @page { root $WORK/site; } } }
EOF
"$NGINX" -c "$WORK/site.conf" &
nginx_pid=$!
sleep 0.5

# One crawl on a fresh schema with N workers; prints "pages seconds state". The time is the job's
# own, from its record (queued to ended), not the polling's.
crawl_with() { # workers
  export CRAWLRAG_PG_SCHEMA=bench_scale_$1_$$ CRAWLRAG_QUEUE_PREFIX=bench_scale_$1_$$
  STACK_WORKERS=$1 STACK_API_REPLICAS=1 scripts/stack.sh up >/dev/null
  local job state out
  job=$(CRAWLRAG_ROLE=api "$CRAWLRAG_BIN" crawl "http://127.0.0.1:$SITE_PORT/p/0.html" --depth 30 \
    --max-pages "$PAGES" --concurrency 100 --dry-run --background --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
  # The job's state, pages done and seconds from queued to its last update, from the job list.
  local pick='import json, sys
from datetime import datetime
job = next(j for j in json.load(sys.stdin) if j["job_id"] == sys.argv[1])
pages = job.get("pages_done", job.get("progress", {}).get("pages_done"))
secs = (datetime.fromisoformat(job["updated_at"]) - datetime.fromisoformat(job["created_at"])).total_seconds()
print(job["state"], pages, round(secs, 2))'
  for _ in $(seq 1 600); do
    out=$("$CRAWLRAG_BIN" jobs --json | python3 -c "$pick" "$job")
    state=${out%% *}
    case $state in queued | running) sleep 1 ;; *) break ;; esac
  done
  scripts/stack.sh down >/dev/null
  read -r state pages secs <<<"$out"
  echo "$pages $secs $state"
}

echo "# crawlrag scale-out benchmark ($(nproc) cores, $PAGES-page site, 50 ms per page, $SLOTS page slots per worker)"
echo
echo "| workers | pages | seconds | pages/s | vs 1 worker |"
echo "|---|---|---|---|---|"
base=""
for workers in 1 2 4; do
  read -r pages secs state < <(crawl_with "$workers")
  rate=$(python3 -c "print(round($pages / $secs, 1))")
  [ -z "$base" ] && base=$rate
  echo "| $workers | $pages ($state) | $secs | $rate | $(python3 -c "print(round($rate / $base, 2))")x |"
done

# MCP calls/s through nginx to two replicas, authenticated.
export CRAWLRAG_PG_SCHEMA=bench_mcp_$$ CRAWLRAG_QUEUE_PREFIX=bench_mcp_$$
STACK_WORKERS=1 STACK_API_REPLICAS=2 scripts/stack.sh up >/dev/null
eval "$(scripts/stack.sh env)"
key=$("$CRAWLRAG_BIN" keys create --name bench --scopes read --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
base_url=$CRAWLRAG_MCP_URL
CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_available_sources","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
cat >"$WORK/call.lua" <<EOF
wrk.method = "POST"
wrk.body = '$CALL'
wrk.headers["content-type"] = "application/json"
wrk.headers["mcp-method"] = "tools/call"
wrk.headers["mcp-name"] = "get_available_sources"
wrk.headers["accept"] = "application/json, text/event-stream"
wrk.headers["mcp-protocol-version"] = "2026-07-28"
wrk.headers["authorization"] = "Bearer $key"
EOF
status=$(curl -s -X POST "$base_url" -H 'content-type: application/json' \
  -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2026-07-28' -H "authorization: Bearer $key" \
  -H 'mcp-method: tools/call' -H 'mcp-name: get_available_sources' -d "$CALL" | head -c 120)
echo
echo "## MCP tool calls through nginx to 2 API replicas, API key on every call"
echo
echo "first answer: \`$status\`"
echo
echo '```'
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/call.lua" "$base_url" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"
echo '```'
