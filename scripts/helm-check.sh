#!/usr/bin/env bash
# Offline checks of deploy/ (scripts/test.sh runs this after fmt): lints the Helm chart and
# renders it with the minimal values and with every option enabled, through Helm's own Go SDK
# (the PyPI wheel `helm-python-sdk`, no helm binary and no cluster), asserts what the rendered
# manifests must hold (probes, non-root, the KEDA trigger, PDBs, the migration hook...), checks
# the Dockerfile statically (no daemon here) and the compose topology's structure, and, when
# nginx is installed, runs `nginx -t` on its config.
# Idempotent; the first run installs the wheel into a venv, later runs take a few seconds.
# Env: CRAWLRAG_SERVICES_DIR (default /var/tmp/crawlrag-services): the venv lives in its helm/.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_PY_VERSION=0.2.2
PYYAML_VERSION=6.0.3
VENV=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}/helm/venv

log() { echo "helm-check.sh: $*" >&2; }

if ! "$VENV/bin/python" -c "import helm_python, yaml; assert helm_python.__version__ == '$HELM_PY_VERSION'" 2>/dev/null; then
  log "installing helm-python-sdk $HELM_PY_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "helm-python-sdk==$HELM_PY_VERSION" "pyyaml==$PYYAML_VERSION" >&2
fi

"$VENV/bin/python" deploy/helm/check.py

# The compose file through Docker's own parser when the compose plugin exists (it needs no daemon).
if docker compose version >/dev/null 2>&1; then
  docker compose -f deploy/compose.yaml config --quiet
  log "docker compose config: ok"
fi

# nginx's own syntax check of deploy/nginx/nginx.conf, with the compose service names made
# resolvable (nginx resolves upstream servers when it loads the file).
nginx=${CRAWLRAG_TEST_NGINX:-$(command -v nginx || true)}
[ -z "$nginx" ] && [ -x /usr/sbin/nginx ] && nginx=/usr/sbin/nginx
if [ -n "$nginx" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  sed -E 's/server api-[0-9]+:8051/server 127.0.0.1:8051/; s/listen 8080;/listen 127.0.0.1:18080;/' \
    deploy/nginx/nginx.conf >"$dir/nginx.conf"
  if ! out=$("$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" -g "pid $dir/nginx.pid;" 2>&1); then
    log "nginx -t failed on deploy/nginx/nginx.conf:"
    echo "$out" >&2
    exit 1
  fi
  log "nginx -t: ok"
fi
log "all deploy checks passed"
