#!/usr/bin/env bash
# The one test command (README, second command; .ci/run calls exactly this):
# installs and starts every service the tests need (Postgres + pgvector, the embedding model and
# ONNX Runtime, Chromium, FalkorDB, ArcadeDB with its Bolt listener, the sdists the code graph tests parse),
# then checks formatting, runs every test against the real parts, and runs clippy.
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep build output outside the clone so a second run on the same machine is warm.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/crawlrag-target}
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# The services are started below, so a test that finds one missing must fail, not skip.
export CI=${CI:-true}

echo "== starting services" >&2
eval "$(scripts/services.sh)"

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
scripts/helm-check.sh   # deploy/: Helm lint + render + manifest checks, compose and nginx config

echo "== cargo test (fast tier first, then everything against the real services)" >&2
cargo test --lib --locked   # the fast tier (in-memory ports, paused time): seconds
cargo test --all-targets --locked
cargo test --doc --locked

echo "== cargo clippy" >&2
cargo clippy --all-targets --locked -- -D warnings

echo "== all checks passed" >&2
