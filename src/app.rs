//! Composition root: the only place that names concrete adapters. Builds the services from a
//! `Config` (or from ready-made ports, for tests and benches) and answers readiness.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::adapters::chromium::{ChromiumConfig, ChromiumRenderer};
use crate::adapters::http_fetcher::HttpFetcher;
use crate::adapters::local_embedder::LocalEmbedder;
use crate::adapters::model_download::{DEFAULT_HF_REPO, ensure_model};
use crate::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};
use crate::adapters::postgres::PgStore;
use crate::adapters::sqlite::SqliteStore;
use crate::config::{Config, EmbeddingProvider, StoreChoice, default_model_dir};
use crate::crawl::{CrawlConfig, Crawler};
use crate::ingest::{IngestConfig, Pipeline};
use crate::jobs::{JobConfig, Jobs};
use crate::ports::{Embedder, Fetcher, JobStore, Renderer, Store};
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
        };
        let ingest =
            IngestConfig { extract_code_examples: config.retrieval.use_agentic_rag, ..IngestConfig::default() };
        let renderer = config.chromium_path().map(|executable| {
            Arc::new(ChromiumRenderer::new(ChromiumConfig {
                executable,
                tabs: config.fetch.browser_tabs,
                timeout: Duration::from_secs(config.fetch.fetch_timeout_secs.max(10)),
                allow_private_networks: config.fetch.allow_private_networks,
            })) as Arc<dyn Renderer>
        });
        let jobs = config.jobs();
        Self::from_parts(store, embedder, fetcher, ServiceSettings { crawl, ingest, retrieve, jobs, renderer }).await
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
        let ServiceSettings { crawl, ingest, retrieve, jobs, renderer } = settings;
        store.ensure_embedding_space(embedder.model_id(), embedder.dimensions()).await?;
        let jobs = Arc::new(Jobs::new(Arc::clone(&store) as Arc<dyn JobStore>, jobs));
        let interrupted = jobs.interrupt_stale().await?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "crawl jobs whose process stopped were marked interrupted");
        }
        let pipeline = Arc::new(Pipeline::new(Arc::clone(&embedder), Arc::clone(&store), ingest));
        Ok(Self {
            crawler: Crawler::new(fetcher, renderer, Arc::clone(&pipeline), crawl),
            pipeline,
            jobs,
            retriever: Retriever::new(Arc::clone(&embedder), Arc::clone(&store), retrieve),
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
