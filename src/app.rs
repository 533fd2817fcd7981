//! Composition root: the only place that names concrete adapters. Builds the services from a
//! `Config` (or from ready-made ports, for tests and benches) and answers readiness.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::adapters::chromium::{ChromiumConfig, ChromiumRenderer};
use crate::adapters::cross_encoder::{CrossEncoder, DEFAULT_CROSS_ENCODER_REPO};
use crate::adapters::http_fetcher::HttpFetcher;
use crate::adapters::http_reranker::HttpReranker;
use crate::adapters::local_embedder::LocalEmbedder;
use crate::adapters::model_download::{DEFAULT_HF_REPO, ensure_model};
use crate::adapters::openai_chat::OpenAiChat;
use crate::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};
use crate::adapters::postgres::PgStore;
use crate::adapters::provider_http::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT as PROVIDER_TIMEOUT, ProviderConfig};
use crate::adapters::sqlite::SqliteStore;
use crate::config::{Config, EmbeddingProvider, StoreChoice, default_model_dir};
use crate::crawl::{CrawlConfig, Crawler};
use crate::domain::target::TrustedHosts;
use crate::ingest::{IngestConfig, Pipeline};
use crate::jobs::{JobConfig, Jobs};
use crate::ports::{ChatModel, Embedder, Fetcher, JobStore, Renderer, Reranker, Store};
use crate::progress::ProgressSink;
use crate::retrieve::{RetrieveConfig, Retriever, SearchMode};

/// How long one readiness probe of a dependency may take.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct App {
    pub crawler: Crawler,
    pub retriever: Retriever,
    pub pipeline: Arc<Pipeline>,
    pub jobs: Arc<Jobs>,
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
}

/// The services' own settings (each service receives only its part), plus the optional
/// browser renderer.
#[derive(Debug, Clone, Default)]
pub struct ServiceSettings {
    pub crawl: CrawlConfig,
    pub ingest: IngestConfig,
    pub retrieve: RetrieveConfig,
    pub jobs: JobConfig,
    /// Headless browser for `render = browser | auto`; `None` when none is installed.
    pub renderer: Option<Arc<dyn Renderer>>,
    /// Reorders query candidates when a query (or USE_RERANKING) asks; `None`: not available.
    pub reranker: Option<Arc<dyn Reranker>>,
    /// Chat model for contextual embeddings and summaries; `None`: extractive summaries.
    pub chat: Option<Arc<dyn ChatModel>>,
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
        config.validate().map_err(anyhow::Error::msg)?;
        let embedder = build_embedder(config, progress).await?;
        let store: Arc<dyn Store> = match config.store() {
            StoreChoice::Postgres(pg) => {
                Arc::new(PgStore::connect(&pg).await.context("could not open the Postgres store (DATABASE_URL)")?)
            }
            StoreChoice::Sqlite(path) => Arc::new(
                SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("could not open the SQLite store {} (CRAWLRAG_DB)", path.display()))?,
            ),
        };
        let fetcher: Arc<dyn Fetcher> = Arc::new(HttpFetcher::new(config.fetcher())?);
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
            ..IngestConfig::default()
        };
        let renderer = config.chromium_path().map(|executable| {
            Arc::new(ChromiumRenderer::new(ChromiumConfig {
                executable,
                tabs: config.fetch.browser_tabs,
                timeout: Duration::from_secs(config.fetch.fetch_timeout_secs.max(10)),
                allow_private_networks: config.fetch.allow_private_networks,
                trusted_hosts: TrustedHosts::new(config.fetch.trusted_hosts.clone()),
            })) as Arc<dyn Renderer>
        });
        let jobs = config.jobs();
        let settings = ServiceSettings { crawl, ingest, retrieve, jobs, renderer, reranker, chat };
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
        let ServiceSettings { crawl, ingest, retrieve, jobs, renderer, reranker, chat } = settings;
        store.ensure_embedding_space(embedder.model_id(), embedder.dimensions()).await?;
        let jobs = Arc::new(Jobs::new(Arc::clone(&store) as Arc<dyn JobStore>, jobs));
        let interrupted = jobs.interrupt_stale().await?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "crawl jobs whose process stopped were marked interrupted");
        }
        let pipeline = Arc::new(Pipeline::new(Arc::clone(&embedder), Arc::clone(&store), ingest).with_chat(chat));
        Ok(Self {
            crawler: Crawler::new(fetcher, renderer, Arc::clone(&pipeline), crawl),
            pipeline,
            jobs,
            retriever: Retriever::new(Arc::clone(&embedder), Arc::clone(&store), retrieve).with_reranker(reranker),
            store,
            embedder,
        })
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
        let database = database.await;
        // The embedder is loaded before the app exists; report which model serves.
        vec![
            ComponentStatus { component: "database", ok: database.is_none(), error: database },
            ComponentStatus { component: "embedder", ok: self.embedder.dimensions() > 0, error: None },
        ]
    }
}

/// Load the configured embedder (model loading is blocking file I/O: off the runtime).
///
/// # Errors
/// When the model cannot be loaded or the provider client cannot be built.
pub async fn build_embedder(config: &Config, progress: &dyn ProgressSink) -> anyhow::Result<Arc<dyn Embedder>> {
    Ok(match config.embed.embedding_provider {
        EmbeddingProvider::Local => {
            let dir = match config.local_model_dir() {
                Some(dir) => dir,
                None if config.can_download_model() => {
                    let dir = default_model_dir().context("no cache folder for the model ($HOME is not set)")?;
                    ensure_model(&config.embed.hf_endpoint, DEFAULT_HF_REPO, &dir, progress).await?
                }
                None => anyhow::bail!("CRAWLRAG_EMBEDDING_MODEL_PATH is not set and model download is off"),
            };
            let name = config.local_model_name();
            let embedder = tokio::task::spawn_blocking(move || LocalEmbedder::load(&dir, &name)).await??;
            Arc::new(embedder)
        }
        EmbeddingProvider::Openai => Arc::new(OpenAiEmbedder::new(OpenAiEmbedderConfig {
            base_url: config.embed.openai_base_url.clone(),
            api_key: config.embed.openai_api_key.clone().unwrap_or_default(),
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
            api_key: r.rerank_api_key.clone(),
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
        api_key: config.embed.openai_api_key.clone(),
        timeout: PROVIDER_TIMEOUT,
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    };
    Ok(Some(Arc::new(OpenAiChat::new(provider, model)?)))
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
