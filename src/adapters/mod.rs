//! Adapters: the only home of driver crates (reqwest, sqlx, chromiumoxide, candle, async-openai,
//! falkordb, neo4rs, redis; `git_checkout` runs the `git` CLI). Each file implements ports from `ports/`;
//! adapters never import services, `mcp` or `config`, and share only the helpers here made for
//! sharing (`provider_http` + `circuit_breaker` for provider clients, `sql_body` for the SQL both
//! stores run, `cypher` for the openCypher every graph server runs, `entity_vectors` for entity
//! vectors searched in memory, `redis_conn` for the Redis connections and errors both Redis adapters
//! use).

pub mod bolt;
pub mod chromium;
pub mod circuit_breaker;
pub mod code_parser;
pub mod cross_encoder;
pub(crate) mod cypher;
pub(crate) mod entity_vectors;
pub mod falkordb;
mod falkordb_code;
pub mod git_checkout;
pub mod http_fetcher;
pub mod http_reranker;
pub mod jwks_http;
pub mod local_embedder;
pub mod local_rate_limiter;
pub mod memory;
pub mod model_download;
pub mod openai_chat;
pub mod openai_embedder;
pub mod postgres;
pub mod provider_http;
pub mod redis_broker;
pub(crate) mod redis_conn;
pub mod redis_host_gate;
pub mod redis_rate_limiter;
pub(crate) mod sql_body;
pub mod sqlite;
pub mod webhook_sender;
