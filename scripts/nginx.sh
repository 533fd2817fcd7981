#!/usr/bin/env bash
# Installs nginx (the static server the crawl benchmark serves its generated site with) from
# Debian's packages if it is missing, and prints its path. Idempotent; the package's own service
# is not started (the benchmark runs its own instance on a loopback port).
set -euo pipefail

for path in "$(command -v nginx || true)" /usr/sbin/nginx; do
  if [ -n "$path" ] && [ -x "$path" ]; then
    echo "$path"
    exit 0
  fi
done
echo "nginx.sh: installing nginx-light from apt" >&2
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
"${sudo[@]}" apt-get update -qq >&2
# policy-rc.d 101: do not start the packaged service during installation.
printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
"${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nginx-light >&2 || {
  "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  exit 1
}
"${sudo[@]}" rm -f /usr/sbin/policy-rc.d
echo /usr/sbin/nginx
