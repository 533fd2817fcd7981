#!/usr/bin/env bash
# Installs Crawl4AI (the peer of the browser benchmark, benches/browser.rs) into a venv from PyPI
# and prints the venv's python. Idempotent. It drives the system Chromium over CDP, so no
# Playwright browser download is needed.
# Env: CRAWLRAG_SERVICES_DIR (default /var/tmp/crawlrag-services), CRAWL4AI_VERSION (0.9.5).
set -euo pipefail
ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
VERSION=${CRAWL4AI_VERSION:-0.9.5}
VENV=$ROOT/venvs/crawl4ai-$VERSION
if ! "$VENV/bin/python" -c 'import crawl4ai' 2>/dev/null; then
  echo "crawl4ai.sh: installing Crawl4AI $VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "crawl4ai==$VERSION" >&2
fi
echo "$VENV/bin/python"
