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
    /// Crawl one page into the index.
    Crawl {
        url: String,
        /// Chunk size in characters (default: what fits the embedding model).
        #[arg(long)]
        chunk_size: Option<usize>,
        /// Print the result as JSON.
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
        #[arg(long)]
        json: bool,
    },
    /// List crawled sources.
    Sources {
        #[arg(long)]
        json: bool,
    },
    /// Apply database migrations and bind the database to the embedding model, then exit.
    Migrate,
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
}

#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Postgres (with pgvector) connection URL, e.g. a Supabase connection string.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
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
}

impl Config {
    /// Check settings that clap cannot, with a message saying what to set.
    ///
    /// # Errors
    /// A sentence naming the setting to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.store.database_url.as_deref().is_none_or(str::is_empty) {
            return Err("DATABASE_URL is not set: crawlrag stores its index in Postgres with pgvector. \
                        Start a local one with `scripts/postgres.sh start` (it prints the URL) or use a Supabase connection string."
                .into());
        }
        match self.embed.embedding_provider {
            EmbeddingProvider::Local if self.embed.embedding_model_path.is_none() => {
                return Err("CRAWLRAG_EMBEDDING_MODEL_PATH is not set: point it at an all-MiniLM-L6-v2 folder \
                            (`scripts/model.sh` installs one and prints its path), or set \
                            CRAWLRAG_EMBEDDING_PROVIDER=openai with OPENAI_API_KEY."
                    .into());
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

    pub fn pg(&self) -> PgConfig {
        PgConfig {
            url: self.store.database_url.clone().unwrap_or_default(),
            schema: self.store.pg_schema.clone().filter(|s| !s.is_empty()),
            max_connections: self.store.pg_max_connections,
        }
    }

    pub fn fetcher(&self) -> HttpFetcherConfig {
        HttpFetcherConfig {
            timeout: Duration::from_secs(self.fetch.fetch_timeout_secs),
            max_redirects: self.fetch.max_redirects,
            max_page_bytes: self.fetch.max_page_bytes,
            user_agent: self.fetch.user_agent.clone(),
            allow_private_networks: self.fetch.allow_private_networks,
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
    fn missing_settings_say_what_to_set() {
        let cli = parse(&["crawlrag", "--embedding-model-path", "/m", "sources"]);
        if cli.config.store.database_url.is_none() {
            assert!(cli.config.validate().unwrap_err().contains("DATABASE_URL"));
        }
        let cli = parse(&["crawlrag", "--database-url", "postgres://x/y", "sources"]);
        if cli.config.embed.embedding_model_path.is_none() {
            assert!(cli.config.validate().unwrap_err().contains("CRAWLRAG_EMBEDDING_MODEL_PATH"));
        }
    }
}
