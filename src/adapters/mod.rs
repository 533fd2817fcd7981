//! Adapters: the only home of driver crates (reqwest, sqlx, candle, async-openai). Each file
//! implements ports from `ports/`; adapters never import services, `mcp` or each other.

pub mod chromium;
pub mod circuit_breaker;
pub mod cross_encoder;
pub mod http_fetcher;
pub mod http_reranker;
pub mod local_embedder;
pub mod memory;
pub mod model_download;
pub mod openai_chat;
pub mod openai_embedder;
pub mod postgres;
pub mod provider_http;
pub(crate) mod sql_job_queue;
pub mod sqlite;
