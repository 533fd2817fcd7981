//! Defaults of settings that both the configuration (flags and environment) and the adapters'
//! own `Default`s use, kept in one place so the two never drift apart.

/// The user agent sent to sites and matched against robots.txt rules.
pub const DEFAULT_USER_AGENT: &str =
    concat!("crawlrag/", env!("CARGO_PKG_VERSION"), " (+https://github.com/crawlrag/crawlrag)");
/// Redirects followed before a fetch fails.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// Largest page body accepted, in bytes.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 10 * 1024 * 1024;
/// Browser tabs rendering at the same time: as many as a crawl fetches pages at once by default
/// (renderer processes are bounded separately, so tabs are cheap).
pub const DEFAULT_BROWSER_TABS: usize = 10;
/// Postgres connection pool size.
pub const DEFAULT_PG_MAX_CONNECTIONS: u32 = 10;
/// Distinct query strings followed for one path before it is treated as a generated space
/// (calendars, faceted search); one crawl's limit, in one process or across workers.
pub const MAX_QUERY_VARIANTS_PER_PATH: usize = 25;
/// The local embedding model.
pub const DEFAULT_LOCAL_MODEL_NAME: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// The local cross-encoder used for reranking.
pub const DEFAULT_CROSS_ENCODER_REPO: &str = "cross-encoder/ms-marco-MiniLM-L-6-v2";
/// Where missing local models are downloaded from.
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_OPENAI_MODEL: &str = "text-embedding-3-small";
pub const DEFAULT_OPENAI_DIMENSIONS: usize = 1536;
/// Texts per embeddings request for OpenAI-compatible providers.
pub const DEFAULT_OPENAI_BATCH_SIZE: usize = 100;
