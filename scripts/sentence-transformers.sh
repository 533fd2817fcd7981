#!/usr/bin/env bash
# Installs sentence-transformers (with PyTorch, CPU) into a venv for the embedding benchmark's
# peer side, and prints the venv's python. PyPI's torch wheel pulls its CUDA libraries too
# (several GB): the download happens once. Idempotent.
# Env: CRAWLRAG_SERVICES_DIR (default /var/tmp/crawlrag-services).
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
ST_VERSION=6.2.0
TORCH_VERSION=2.15.0
VENV=$ROOT/venvs/sentence-transformers-$ST_VERSION

if ! "$VENV/bin/python" -c "import sentence_transformers, torch" 2>/dev/null; then
  mkdir -p "$ROOT/venvs"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "sentence-transformers==$ST_VERSION" "torch==$TORCH_VERSION" >&2
fi
echo "$VENV/bin/python"
