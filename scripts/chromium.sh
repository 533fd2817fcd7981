#!/usr/bin/env bash
# Installs Chromium's headless shell from Debian's packages (the automation build: the same
# renderer as the browser in about half the memory) unless a Chromium-family browser is present,
# and prints its path (for CRAWLRAG_CHROMIUM_PATH). Idempotent; never downloads a browser of its
# own. The headless shell is preferred when several are installed, as crawlrag itself does.
set -euo pipefail

for name in chromium-headless-shell chrome-headless-shell; do
  if path=$(command -v "$name"); then
    echo "$path"
    exit 0
  fi
done
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
if command -v apt-get >/dev/null; then
  echo "chromium.sh: installing chromium-headless-shell from apt" >&2
  if "${sudo[@]}" apt-get update -qq >&2 \
    && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium-headless-shell >&2; then
    command -v chromium-headless-shell
    exit 0
  fi
fi
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if path=$(command -v "$name"); then
    echo "chromium.sh: no headless shell; using $path" >&2
    echo "$path"
    exit 0
  fi
done
echo "chromium.sh: no Chromium found and none could be installed" >&2
exit 1
