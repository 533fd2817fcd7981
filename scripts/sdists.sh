#!/usr/bin/env bash
# Downloads the source distributions of real open-source packages that the code graph tests parse
# (requests 2.32.3, from PyPI, as its .tar.gz sdist) and prints their folder for
# CRAWLRAG_TEST_SDIST_DIR. Idempotent. Env: CRAWLRAG_SERVICES_DIR (default /var/tmp/crawlrag-services).
set -euo pipefail

ROOT=${CRAWLRAG_SERVICES_DIR:-/var/tmp/crawlrag-services}
DIR=$ROOT/sdists
PACKAGES=("requests==2.32.3")

mkdir -p "$DIR"
for spec in "${PACKAGES[@]}"; do
  name=${spec%%==*}
  version=${spec##*==}
  sdist=$DIR/$name-$version.tar.gz
  if [ ! -s "$sdist" ]; then
    dl=$(mktemp -d)
    # --no-binary :all: takes the sdist; pip prepares its metadata, so fall back to no build isolation.
    python3 -m pip download --no-deps --quiet --disable-pip-version-check --no-binary :all: "$spec" -d "$dl" >&2 ||
      python3 -m pip download --no-deps --quiet --disable-pip-version-check --no-binary :all: \
        --no-build-isolation "$spec" -d "$dl" >&2
    mv "$dl/$name-$version.tar.gz" "$sdist"
    rm -rf "$dl"
  fi
  tar -tzf "$sdist" >/dev/null || { echo "sdists.sh: $sdist is not a readable .tar.gz" >&2; exit 1; }
done
echo "$DIR"
