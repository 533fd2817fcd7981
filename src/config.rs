//! Typed configuration as plain data: every setting is a flag and an environment variable,
//! grouped per subsystem. This module imports no adapter and no service and touches no file:
//! `Config::validate` checks what can be checked from the values alone; the composition root
//! (`app.rs`) turns the settings into adapter and service configs and looks for the browser and
//! the model on disk. Secrets are [`Secret`]s, which never print.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, ValueEnum};

use crate::domain::Secret;
use crate::domain::defaults::{
    DEFAULT_BROWSER_TABS, DEFAULT_CROSS_ENCODER_REPO, DEFAULT_HF_ENDPOINT, DEFAULT_LOCAL_MODEL_NAME,
    DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_REDIRECTS, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_BATCH_SIZE,
    DEFAULT_OPENAI_DIMENSIONS, DEFAULT_OPENAI_MODEL, DEFAULT_PG_MAX_CONNECTIONS, DEFAULT_USER_AGENT,
};

#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub store: StoreConfig,
    #[command(flatten)]
    pub embed: EmbedConfig,
    #[command(flatten)]
    pub fetch: FetchConfig,
    #[command(flatten)]
    pub retrieval: RetrievalConfig,
    #[command(flatten)]
    pub jobs: JobSettings,
    #[command(flatten)]
    pub code: CodeSettings,
    #[command(flatten)]
    pub scale: ScaleSettings,
}

/// What a process does in a scaled-out deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything in one process: serve, and run the jobs it accepts (the default).
    #[default]
    All,
    /// Serve MCP and queue jobs for the workers; never launches a browser.
    Api,
    /// Claim and run jobs and crawl pages (`crawlrag worker`).
    Worker,
}

#[derive(Debug, Clone, Args)]
pub struct ScaleSettings {
    /// Redis (`redis://[user:password@]host:port[/db]`) shared by the replicas: the queue engine
    /// (crawl pages spread over worker processes, with `CRAWLRAG_ROLE` api/worker) and the HTTP
    /// rate limits. Unset: limits are counted in each process, and crawls run where accepted.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// This process's part: `all` (default), `api` (serve and queue) or `worker`.
    #[arg(long, env = "CRAWLRAG_ROLE", global = true, value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// Prefix of every Redis key crawlrag writes (several deployments may share one Redis).
    #[arg(long, env = "CRAWLRAG_QUEUE_PREFIX", global = true, default_value = "crawlrag")]
    pub queue_prefix: String,
    /// Seconds a taken page may go without a heartbeat before another worker gets it (a worker
    /// that died); also how long a page's claim lasts.
    #[arg(long, env = "CRAWLRAG_QUEUE_VISIBILITY_SECS", global = true, default_value_t = 60)]
    pub queue_visibility_secs: u64,
    /// Deliveries of one entry before it goes to the dead-letter stream (poison work).
    #[arg(long, env = "CRAWLRAG_QUEUE_MAX_DELIVERIES", global = true, default_value_t = 5)]
    pub queue_max_deliveries: u64,
    /// Pages a worker crawls at the same time.
    #[arg(long, env = "CRAWLRAG_PAGE_SLOTS", global = true, default_value_t = 8)]
    pub page_slots: usize,
    /// Seconds between reconciler rounds (heartbeats of open crawls, lost work republished).
    #[arg(long, env = "CRAWLRAG_RECONCILE_SECS", global = true, default_value_t = 5)]
    pub reconcile_secs: u64,
    /// Seconds a queued page may wait while the queue is idle before it counts as lost by the
    /// queue engine (Redis restarted without its data) and is published again.
    #[arg(long, env = "CRAWLRAG_LOST_AFTER_SECS", global = true, default_value_t = 30)]
    pub lost_after_secs: u64,
    /// Hours the URL ledger keeps a finished distributed crawl (its frontier and per-URL
    /// outcomes; the job keeps its report); 0 keeps them forever.
    #[arg(long, env = "CRAWLRAG_LEDGER_KEEP_HOURS", global = true, default_value_t = 168)]
    pub ledger_keep_hours: u64,
    /// On SIGTERM: seconds `/ready` answers 503 before the process stops taking work (so a load
    /// balancer stops sending requests first).
    #[arg(long, env = "CRAWLRAG_DRAIN_DELAY_SECS", global = true, default_value_t = 0)]
    pub drain_delay_secs: u64,
    /// On SIGTERM: seconds in-flight pages and jobs may take to finish.
    #[arg(long, env = "CRAWLRAG_DRAIN_SECS", global = true, default_value_t = 30)]
    pub drain_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct RetrievalConfig {
    /// Rank queries by vector + full-text search fused by reciprocal rank unless a query says otherwise.
    #[arg(long, env = "USE_HYBRID_SEARCH", global = true, default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub use_hybrid_search: bool,
    /// Extract code examples (fenced blocks of 300+ characters) with summaries and embed them for
    /// search_code_examples.
    #[arg(long, env = "USE_AGENTIC_RAG", global = true, default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub use_agentic_rag: bool,
    /// Extract entities and relations of every crawled page into the graph (GraphRAG), as
    /// crawl_with_graph_extraction always does.
    #[arg(long, env = "USE_GRAPHRAG", global = true, default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub use_graphrag: bool,
    /// Who reads entities out of chunks: `auto` (the structural extractor, plus the chat model
    /// of MODEL_CHOICE when set, with the anchor's entity and relation types) or `structural`
    /// (never calls a model).
    #[arg(long, env = "CRAWLRAG_GRAPH_EXTRACTOR", global = true, value_enum, default_value_t = GraphExtractor::Auto)]
    pub graph_extractor: GraphExtractor,
    /// Rerank query results with a cross-encoder (or a /rerank service) unless a query says otherwise.
    #[arg(long, env = "USE_RERANKING", global = true, default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub use_reranking: bool,
    /// Before embedding, have the chat model (MODEL_CHOICE) write a sentence situating each chunk
    /// within its page, and embed that with the chunk.
    #[arg(long, env = "USE_CONTEXTUAL_EMBEDDINGS", global = true, default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub use_contextual_embeddings: bool,
    /// Chat model (OpenAI-compatible, at OPENAI_BASE_URL) for contextual embeddings and for
    /// source and code summaries. Unset: summaries are extractive.
    #[arg(long, env = "MODEL_CHOICE", global = true)]
    pub model_choice: Option<String>,
    /// Folder of a local cross-encoder (config.json, model.safetensors, tokenizer.json), e.g.
    /// cross-encoder/ms-marco-MiniLM-L-6-v2. Unset with USE_RERANKING: downloaded from the hub.
    #[arg(long, env = "CRAWLRAG_RERANK_MODEL_PATH", global = true)]
    pub rerank_model_path: Option<PathBuf>,
    /// Base URL of a /rerank service (Cohere, Jina, vLLM, TEI) used instead of a local cross-encoder.
    #[arg(long, env = "CRAWLRAG_RERANK_URL", global = true)]
    pub rerank_url: Option<String>,
    /// Model name sent to the /rerank service.
    #[arg(long, env = "CRAWLRAG_RERANK_MODEL", global = true, default_value = DEFAULT_CROSS_ENCODER_REPO)]
    pub rerank_model: String,
    /// Bearer key for the /rerank service (never logged).
    #[arg(long, env = "CRAWLRAG_RERANK_API_KEY", global = true, hide_env_values = true)]
    pub rerank_api_key: Option<Secret>,
}

#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Postgres (with pgvector) connection URL, e.g. a Supabase connection string. Unset: the
    /// embedded SQLite store (`--db`). A `sqlite://PATH` URL also selects SQLite.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// SQLite database file used when DATABASE_URL is unset
    /// (default: $XDG_DATA_HOME/crawlrag/crawlrag.db, i.e. ~/.local/share/crawlrag/crawlrag.db).
    #[arg(long, env = "CRAWLRAG_DB", global = true)]
    pub db: Option<PathBuf>,
    /// Schema for crawlrag's tables (created if missing). Default: the server's search path.
    #[arg(long, env = "CRAWLRAG_PG_SCHEMA", global = true)]
    pub pg_schema: Option<String>,
    #[arg(long, env = "CRAWLRAG_PG_MAX_CONNECTIONS", global = true, default_value_t = DEFAULT_PG_MAX_CONNECTIONS)]
    pub pg_max_connections: u32,
    /// FalkorDB for the knowledge graph (`falkor://[user:password@]host:port`). Unset: the graph
    /// lives in the store's own tables (no Cypher for query_document_graph).
    #[arg(long, env = "FALKORDB_URL", global = true, hide_env_values = true)]
    pub falkordb_url: Option<Secret>,
    /// Graph name inside FalkorDB.
    #[arg(long, env = "FALKORDB_GRAPH", global = true, default_value = "crawlrag")]
    pub falkordb_graph: String,
    /// A Bolt server for the knowledge graph: Neo4j, AuraDB, Memgraph or ArcadeDB
    /// (`bolt://host:7687`, `bolt+s://...`, `neo4j://...`).
    #[arg(long, env = "NEO4J_URI", global = true)]
    pub neo4j_uri: Option<String>,
    #[arg(long, env = "NEO4J_USER", global = true, default_value = "neo4j")]
    pub neo4j_user: String,
    #[arg(long, env = "NEO4J_PASSWORD", global = true, hide_env_values = true)]
    pub neo4j_password: Option<Secret>,
    /// Database on the Bolt server; unset: the server's default.
    #[arg(long, env = "NEO4J_DATABASE", global = true)]
    pub neo4j_database: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbeddingProvider {
    /// all-MiniLM-L6-v2 in-process (no API key).
    Local,
    /// Any OpenAI-compatible /v1/embeddings endpoint.
    Openai,
}

/// Who extracts the graph's entities (`CRAWLRAG_GRAPH_EXTRACTOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphExtractor {
    /// The structural extractor, plus the chat model when MODEL_CHOICE is set.
    Auto,
    /// The structural extractor only (no model calls).
    Structural,
}

/// Which forward pass runs the local model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocalBackend {
    /// ONNX Runtime when its library is found and loads, else candle.
    Auto,
    /// ONNX Runtime (about twice candle's speed); an error when its library cannot be loaded.
    Onnx,
    /// candle, pure Rust: no native library.
    Candle,
}

#[derive(Debug, Clone, Args)]
pub struct EmbedConfig {
    #[arg(long, env = "CRAWLRAG_EMBEDDING_PROVIDER", global = true, value_enum, default_value_t = EmbeddingProvider::Local)]
    pub embedding_provider: EmbeddingProvider,
    /// Folder of the local sentence-transformers model (config.json, model.safetensors, tokenizer.json).
    #[arg(long, env = "CRAWLRAG_EMBEDDING_MODEL_PATH", global = true)]
    pub embedding_model_path: Option<PathBuf>,
    /// Forward pass of the local model.
    #[arg(long, env = "CRAWLRAG_EMBEDDING_BACKEND", global = true, value_enum, default_value_t = LocalBackend::Auto)]
    pub embedding_backend: LocalBackend,
    /// ONNX Runtime library (libonnxruntime.so) for the local model; default: ORT_DYLIB_PATH, else
    /// the one scripts/onnxruntime.sh installs into the cache folder.
    #[arg(long, env = "CRAWLRAG_ONNXRUNTIME_LIB", global = true)]
    pub onnxruntime_lib: Option<PathBuf>,
    /// Embedding model name (local default: all-MiniLM-L6-v2; OpenAI default: text-embedding-3-small).
    #[arg(long, env = "CRAWLRAG_EMBEDDING_MODEL", global = true)]
    pub embedding_model: Option<String>,
    /// Dimensions of the OpenAI-compatible model's vectors.
    #[arg(long, env = "CRAWLRAG_EMBEDDING_DIMENSIONS", global = true, default_value_t = DEFAULT_OPENAI_DIMENSIONS)]
    pub embedding_dimensions: usize,
    /// Texts per embeddings request for OpenAI-compatible providers.
    #[arg(long, env = "CRAWLRAG_EMBEDDING_BATCH_SIZE", global = true, default_value_t = DEFAULT_OPENAI_BATCH_SIZE)]
    pub embedding_batch_size: usize,
    /// Download the local model from the HuggingFace hub on first run when no folder is found.
    #[arg(long, env = "CRAWLRAG_MODEL_DOWNLOAD", global = true, default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub model_download: bool,
    /// HuggingFace hub (or mirror) the model is downloaded from.
    #[arg(long, env = "HF_ENDPOINT", global = true, default_value = DEFAULT_HF_ENDPOINT)]
    pub hf_endpoint: String,
    #[arg(long, env = "OPENAI_API_KEY", global = true, hide_env_values = true)]
    pub openai_api_key: Option<Secret>,
    #[arg(long, env = "OPENAI_BASE_URL", global = true, default_value = DEFAULT_OPENAI_BASE_URL)]
    pub openai_base_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct FetchConfig {
    /// Allow crawling loopback, private, link-local and metadata addresses (local use only).
    #[arg(long, env = "CRAWLRAG_ALLOW_PRIVATE_NETWORKS", global = true, default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub allow_private_networks: bool,
    /// Private hosts crawled anyway, comma-separated names or IPs (e.g. an internal docs server);
    /// every other private target stays refused.
    #[arg(long, env = "CRAWLRAG_TRUSTED_HOSTS", global = true, value_delimiter = ',')]
    pub trusted_hosts: Vec<String>,
    /// Largest page body accepted, in bytes.
    #[arg(long, env = "CRAWLRAG_MAX_PAGE_BYTES", global = true, default_value_t = DEFAULT_MAX_PAGE_BYTES)]
    pub max_page_bytes: usize,
    /// Per-request timeout, in seconds.
    #[arg(long, env = "CRAWLRAG_FETCH_TIMEOUT_SECS", global = true, default_value_t = 30)]
    pub fetch_timeout_secs: u64,
    #[arg(long, env = "CRAWLRAG_MAX_REDIRECTS", global = true, default_value_t = DEFAULT_MAX_REDIRECTS)]
    pub max_redirects: usize,
    #[arg(long, env = "CRAWLRAG_USER_AGENT", global = true, default_value = DEFAULT_USER_AGENT)]
    pub user_agent: String,
    /// Chromium (or Chrome) used for `render=browser|auto`. Default: found on PATH.
    #[arg(long, env = "CRAWLRAG_CHROMIUM_PATH", global = true)]
    pub chromium_path: Option<PathBuf>,
    /// Browser tabs rendering at the same time.
    #[arg(long, env = "CRAWLRAG_BROWSER_TABS", global = true, default_value_t = DEFAULT_BROWSER_TABS)]
    pub browser_tabs: usize,
}

#[derive(Debug, Clone, Args)]
pub struct JobSettings {
    /// Seconds a crawl tool waits for its crawl before answering with a job id (the crawl goes
    /// on in the background; clients give up on requests after about 60 s).
    #[arg(long, env = "CRAWLRAG_FOREGROUND_WAIT_SECS", global = true, default_value_t = 45)]
    pub foreground_wait_secs: u64,
    /// Seconds between a running job's progress writes; a job silent for three is interrupted.
    #[arg(long, env = "CRAWLRAG_JOB_HEARTBEAT_SECS", global = true, default_value_t = 5)]
    pub job_heartbeat_secs: u64,
    /// Queued jobs a worker loop (`serve`, `worker`) runs at the same time.
    #[arg(long, env = "CRAWLRAG_JOB_SLOTS", global = true, default_value_t = 4)]
    pub job_slots: usize,
    /// Signs webhook deliveries (`X-Crawlrag-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`).
    #[arg(long, env = "CRAWLRAG_WEBHOOK_SECRET", global = true, hide_env_values = true)]
    pub webhook_secret: Option<Secret>,
}

#[derive(Debug, Clone, Args)]
pub struct CodeSettings {
    /// Folders check_ai_script_hallucinations may read script_path from, comma-separated (none:
    /// only script_content is accepted).
    #[arg(long, env = "CRAWLRAG_SCRIPT_ROOTS", global = true, value_delimiter = ',')]
    pub script_roots: Vec<PathBuf>,
    /// Accept local paths and file:// URLs in parse_github_repository (off for servers whose
    /// callers must not read the server's disk).
    #[arg(long, env = "CRAWLRAG_ALLOW_LOCAL_REPOS", global = true, default_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub allow_local_repos: bool,
    /// Most files a repository checkout may have.
    #[arg(long, env = "CRAWLRAG_REPO_MAX_FILES", global = true, default_value_t = 50_000)]
    pub repo_max_files: usize,
    /// Most megabytes a repository checkout may have.
    #[arg(long, env = "CRAWLRAG_REPO_MAX_MB", global = true, default_value_t = 500)]
    pub repo_max_mb: u64,
    /// Seconds a repository checkout may take.
    #[arg(long, env = "CRAWLRAG_REPO_TIMEOUT_SECS", global = true, default_value_t = 300)]
    pub repo_timeout_secs: u64,
}

/// Where the index lives.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Postgres(PgSettings),
    Sqlite(PathBuf),
}

/// The Postgres store's settings.
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub url: Secret,
    pub schema: Option<String>,
    pub max_connections: u32,
}

/// `$XDG_DATA_HOME/crawlrag/crawlrag.db` (default `~/.local/share/crawlrag/crawlrag.db`).
pub fn default_db_path() -> PathBuf {
    xdg_dir("XDG_DATA_HOME", ".local/share")
        .map_or_else(|| PathBuf::from("crawlrag.db"), |d| d.join("crawlrag/crawlrag.db"))
}

/// `$XDG_CACHE_HOME/crawlrag/models/all-MiniLM-L6-v2` (default under `~/.cache`).
pub fn default_model_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CACHE_HOME", ".cache").map(|d| d.join("crawlrag/models/all-MiniLM-L6-v2"))
}

/// Where `scripts/onnxruntime.sh` installs ONNX Runtime by default.
pub fn default_onnxruntime_lib() -> Option<PathBuf> {
    xdg_dir("XDG_CACHE_HOME", ".cache").map(|d| d.join("crawlrag/onnxruntime/libonnxruntime.so"))
}

fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(fallback)))
}

impl Config {
    /// Check settings that clap cannot, with a message saying what to set.
    ///
    /// # Errors
    /// A sentence naming the setting to fix.
    pub fn validate(&self) -> Result<(), String> {
        if let StoreChoice::Sqlite(path) = self.store()
            && path.as_os_str().is_empty()
        {
            return Err("the SQLite database path is empty: set --db / CRAWLRAG_DB".into());
        }
        match self.embed.embedding_provider {
            EmbeddingProvider::Openai
                if self.embed.openai_api_key.is_none() && self.embed.openai_base_url == DEFAULT_OPENAI_BASE_URL =>
            {
                return Err(
                    "OPENAI_API_KEY is not set (needed for CRAWLRAG_EMBEDDING_PROVIDER=openai with the OpenAI API)"
                        .into(),
                );
            }
            EmbeddingProvider::Local | EmbeddingProvider::Openai => {}
        }
        if self.fetch.max_page_bytes < 1024 {
            return Err("CRAWLRAG_MAX_PAGE_BYTES must be at least 1024".into());
        }
        if self.fetch.fetch_timeout_secs == 0 {
            return Err("CRAWLRAG_FETCH_TIMEOUT_SECS must be at least 1".into());
        }
        if self.scale.redis_url.is_some()
            && self.scale.role != Role::All
            && !matches!(self.store(), StoreChoice::Postgres(_))
        {
            return Err(
                "REDIS_URL with CRAWLRAG_ROLE api or worker spreads crawls over processes, which share one database: \
                 set DATABASE_URL to a Postgres database"
                    .into(),
            );
        }
        if self.scale.queue_visibility_secs < 2 {
            return Err("CRAWLRAG_QUEUE_VISIBILITY_SECS must be at least 2".into());
        }
        if self.store.falkordb_url.is_some() && self.store.neo4j_uri.is_some() {
            return Err(
                "FALKORDB_URL and NEO4J_URI are both set: the graph lives in one of them; unset the other".into()
            );
        }
        Ok(())
    }

    /// Which store to open: Postgres when DATABASE_URL is a Postgres URL, else the SQLite file.
    pub fn store(&self) -> StoreChoice {
        match self.store.database_url.as_ref().map(|u| u.expose().trim()).filter(|u| !u.is_empty()) {
            Some(url) if url.starts_with("sqlite:") => {
                StoreChoice::Sqlite(PathBuf::from(url.trim_start_matches("sqlite://").trim_start_matches("sqlite:")))
            }
            Some(url) => StoreChoice::Postgres(PgSettings {
                url: Secret::new(url),
                schema: self.store.pg_schema.clone().filter(|s| !s.is_empty()),
                max_connections: self.store.pg_max_connections,
            }),
            None => StoreChoice::Sqlite(self.store.db.clone().unwrap_or_else(default_db_path)),
        }
    }

    /// Whether a missing local model may be fetched from the hub into the default cache folder.
    pub fn can_download_model(&self) -> bool {
        self.embed.model_download && self.embed.embedding_model_path.is_none() && default_model_dir().is_some()
    }

    pub fn local_model_name(&self) -> String {
        self.embed.embedding_model.clone().unwrap_or_else(|| DEFAULT_LOCAL_MODEL_NAME.to_owned())
    }

    pub fn openai_model_name(&self) -> String {
        self.embed.embedding_model.clone().unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        config: Config,
    }

    /// The configuration these flags give (for other modules' tests too).
    pub(crate) fn parse(args: &[&str]) -> Config {
        Flags::try_parse_from(std::iter::once("crawlrag").chain(args.iter().copied())).unwrap().config
    }

    #[test]
    fn flags_parse_and_validate() {
        let config = parse(&[
            "--database-url",
            "postgres://x/y",
            "--embedding-model-path",
            "/m",
            "--allow-private-networks",
            "true",
        ]);
        assert!(config.validate().is_ok());
        assert!(config.fetch.allow_private_networks);
        let both = parse(&["--falkordb-url", "falkor://127.0.0.1:1", "--neo4j-uri", "bolt://127.0.0.1:2"]);
        assert!(both.validate().unwrap_err().contains("FALKORDB_URL and NEO4J_URI"));
        let bad = parse(&["--max-page-bytes", "10"]);
        assert!(bad.validate().unwrap_err().contains("CRAWLRAG_MAX_PAGE_BYTES"));
    }

    #[test]
    fn store_choice_follows_database_url() {
        let config = parse(&["--database-url", "postgres://u@h/db"]);
        assert!(matches!(config.store(), StoreChoice::Postgres(pg) if pg.url.expose() == "postgres://u@h/db"));
        let config = parse(&["--database-url", "sqlite:///tmp/x.db"]);
        assert!(matches!(config.store(), StoreChoice::Sqlite(p) if p == std::path::Path::new("/tmp/x.db")));
        let config = parse(&["--database-url", "", "--db", "/tmp/y.db"]);
        assert!(matches!(config.store(), StoreChoice::Sqlite(p) if p == std::path::Path::new("/tmp/y.db")));
    }

    #[test]
    fn secrets_do_not_print() {
        let config = parse(&["--database-url", "postgres://u:hunter2@h/db", "--openai-api-key", "sk-123"]);
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("sk-123"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }
}
