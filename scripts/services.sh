#!/usr/bin/env bash
# Installs and starts everything the tests need, idempotently and offline (registries only),
# then prints the environment to use them:   eval "$(scripts/services.sh)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

database_url=$("$here/postgres.sh" start)
model_path=$("$here/model.sh")
onnxruntime=$("$here/onnxruntime.sh")
chromium=$("$here/chromium.sh")

cat <<ENV
export DATABASE_URL='$database_url'
export CRAWLRAG_EMBEDDING_MODEL_PATH='$model_path'
export CRAWLRAG_ONNXRUNTIME_LIB='$onnxruntime'
export CRAWLRAG_POSTGRES_SCRIPT='$here/postgres.sh'
export CRAWLRAG_CHROMIUM_PATH='$chromium'
ENV
