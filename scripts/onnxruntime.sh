#!/usr/bin/env bash
# Installs ONNX Runtime's shared library (the local embedder's fast forward pass) offline, from the
# PyPI wheel `onnxruntime`, into the folder crawlrag looks in by default, and prints its path
# (for CRAWLRAG_ONNXRUNTIME_LIB). Only the library is kept; no Python package is installed.
# Idempotent. Env: XDG_CACHE_HOME (default ~/.cache).
set -euo pipefail

VERSION=1.32.0
DIR=${XDG_CACHE_HOME:-$HOME/.cache}/crawlrag/onnxruntime
LIB=$DIR/libonnxruntime.so.$VERSION

if [ ! -s "$LIB" ]; then
  mkdir -p "$DIR"
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  python3 -m pip download --no-deps --only-binary=:all: --quiet --disable-pip-version-check \
    "onnxruntime==$VERSION" -d "$dl" >&2
  python3 - "$dl" "$LIB" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/onnxruntime-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime.so."))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  mv "$LIB.part" "$LIB"
fi
ln -sfn "libonnxruntime.so.$VERSION" "$DIR/libonnxruntime.so"
echo "$DIR/libonnxruntime.so"
