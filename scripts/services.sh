#!/usr/bin/env bash
# Installs and starts everything the tests need, idempotently and offline (registries only),
# then prints the environment to use them:   eval "$(scripts/services.sh)"
# The graph servers (FalkorDB, and ArcadeDB over Bolt) and Redis get CRAWLRAG_TEST_* names on
# purpose: the production names (FALKORDB_URL, NEO4J_URI, REDIS_URL) would switch every test's
# server to that backend.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

database_url=$("$here/postgres.sh" start)
falkordb_url=$("$here/falkordb.sh" start)
bolt_uri=$("$here/arcadedb.sh" start)
bolt_user=$("$here/arcadedb.sh" user)
bolt_password=$("$here/arcadedb.sh" password)
bolt_database=$("$here/arcadedb.sh" database)
model_path=$("$here/model.sh")
onnxruntime=$("$here/onnxruntime.sh")
chromium=$("$here/chromium.sh")
sdist_dir=$("$here/sdists.sh")
redis_url=$("$here/redis.sh" start)
redis_server=$("$here/redis.sh" binary)
nginx=$("$here/nginx.sh")

cat <<ENV
export DATABASE_URL='$database_url'
export CRAWLRAG_EMBEDDING_MODEL_PATH='$model_path'
export CRAWLRAG_ONNXRUNTIME_LIB='$onnxruntime'
export CRAWLRAG_POSTGRES_SCRIPT='$here/postgres.sh'
export CRAWLRAG_CHROMIUM_PATH='$chromium'
export CRAWLRAG_TEST_FALKORDB_URL='$falkordb_url'
export CRAWLRAG_TEST_BOLT_URI='$bolt_uri'
export CRAWLRAG_TEST_BOLT_USER='$bolt_user'
export CRAWLRAG_TEST_BOLT_PASSWORD='$bolt_password'
export CRAWLRAG_TEST_BOLT_DATABASE='$bolt_database'
export CRAWLRAG_TEST_SDIST_DIR='$sdist_dir'
export CRAWLRAG_TEST_REDIS_URL='$redis_url'
export CRAWLRAG_TEST_REDIS_SERVER='$redis_server'
export CRAWLRAG_TEST_NGINX='$nginx'
ENV
