#!/usr/bin/env bash
# Installs headless Chromium from Debian's packages if no Chromium-family browser is present, and
# prints its path (for CRAWLRAG_CHROMIUM_PATH). Idempotent; never downloads a browser of its own.
set -euo pipefail

for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if path=$(command -v "$name"); then
    echo "$path"
    exit 0
  fi
done
echo "chromium.sh: installing chromium from apt" >&2
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
"${sudo[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
command -v chromium
