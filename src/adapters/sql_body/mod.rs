//! The store code both SQL dialects share, written once: each body is a macro instantiated per
//! store (`PgStore`, `SqliteStore`), and each dialect supplies only its SQL text (placeholders,
//! clock functions, row locking) as constants in its own files. A macro rather than generic code
//! over `sqlx::Database`: sqlx's higher-ranked executor bounds do not compose with the `Send`
//! futures `async_trait` needs, and the per-store bodies would be identical anyway. Every
//! statement binds the same Rust types in the same order on both dialects.
//!
//! - `job_queue`: the `JobQueue` port on `crawl_jobs`;
//! - `webhooks`: the `WebhookLog` port on `webhook_deliveries`;
//! - `api_keys`: the `ApiKeys` port on `api_keys`;
//! - `catalog`: the `SourceCatalog` port and page deletion (`sources`, `pages` and their rows);
//! - `text_cache`: the `TextCache` port on `llm_cache`, batched through a JSON array parameter;
//! - `graph`: the embedded `GraphStore` backend on the `graph_*` tables.

pub(crate) mod api_keys;
pub(crate) mod catalog;
pub(crate) mod code_graph;
pub(crate) mod graph;
pub(crate) mod job_queue;
pub(crate) mod text_cache;
pub(crate) mod webhooks;
