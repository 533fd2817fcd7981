//! Shared helpers: service discovery, per-test schemas, the shared embedder, app builders.

pub mod binary;
pub mod cluster;
pub mod db;
pub mod docs_site;
pub mod nginx;
pub mod openai_stub;
pub mod repo;
pub mod site;
pub mod sse_client;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crawlrag::adapters::http_fetcher::{HttpFetcher, HttpFetcherConfig};
use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder, LocalRuntime};
use crawlrag::adapters::postgres::{PgConfig, PgStore};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::app::{App, ServiceSettings};
use crawlrag::ports::{CodeGraphStore, Embedder, Fetcher, GraphStore, Store};

/// Page size cap used in tests (the fixture's huge page is larger).
pub const TEST_MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Where the real services are, from `scripts/services.sh`.
#[derive(Debug, Clone)]
pub struct Services {
    pub database_url: String,
    pub model_path: PathBuf,
    /// Headless Chromium (`CRAWLRAG_CHROMIUM_PATH`, else found on PATH).
    pub chromium: Option<PathBuf>,
    /// ONNX Runtime's library (`CRAWLRAG_ONNXRUNTIME_LIB`); without it the local model runs on candle.
    pub onnxruntime: Option<PathBuf>,
}

/// The services, or `None` (with the reason printed) when they are not running locally.
/// Under `CI=true` a missing service is a failure, never a skip.
pub fn services() -> Option<Services> {
    let database_url = std::env::var("DATABASE_URL").ok();
    let model_path = std::env::var("CRAWLRAG_EMBEDDING_MODEL_PATH").ok();
    match (database_url, model_path) {
        (Some(database_url), Some(model_path)) => Some(Services {
            database_url,
            model_path: model_path.into(),
            chromium: std::env::var_os("CRAWLRAG_CHROMIUM_PATH")
                .map(PathBuf::from)
                .or_else(crawlrag::adapters::chromium::find_chromium),
            onnxruntime: std::env::var_os("CRAWLRAG_ONNXRUNTIME_LIB").map(PathBuf::from),
        }),
        _ => {
            let reason =
                "DATABASE_URL and CRAWLRAG_EMBEDDING_MODEL_PATH must be set (run: eval \"$(scripts/services.sh)\")";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but services are missing: {reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

/// A schema name no other test uses, so tests run in parallel on one database.
pub fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("t_{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// The local embedding model, loaded once per test binary, on ONNX Runtime when the services
/// provide it (they do under CI), else on candle.
pub fn embedder(services: &Services) -> Arc<LocalEmbedder> {
    static EMBEDDER: OnceLock<Arc<LocalEmbedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let runtime = match &services.onnxruntime {
                Some(library) => LocalRuntime::Onnx { onnxruntime: library.clone() },
                None => LocalRuntime::Candle,
            };
            Arc::new(LocalEmbedder::load(&services.model_path, DEFAULT_LOCAL_MODEL_NAME, runtime).expect("load model"))
        })
        .clone()
}

pub async fn store(services: &Services, schema: &str) -> PgStore {
    PgStore::connect(&PgConfig {
        url: services.database_url.clone(),
        schema: Some(schema.to_owned()),
        max_connections: 4,
    })
    .await
    .expect("connect to Postgres")
}

/// A fetcher that may reach the loopback fixture sites.
pub fn loopback_fetcher() -> Arc<dyn Fetcher> {
    Arc::new(
        HttpFetcher::new(HttpFetcherConfig {
            allow_private_networks: true,
            max_page_bytes: TEST_MAX_PAGE_BYTES,
            // No test waits for a fetch to time out; the default's margin keeps a loopback
            // fetch on a heavily loaded machine from reading as a failure.
            timeout: std::time::Duration::from_secs(30),
            ..HttpFetcherConfig::default()
        })
        .expect("fetcher"),
    )
}

/// The app on a store of its own (a fresh Postgres schema or SQLite file), plus a handle to
/// inspect the rows it writes.
pub async fn app(services: &Services, backend: Backend, prefix: &str) -> (Arc<App>, db::Db) {
    app_with(services, backend, prefix, ServiceSettings::default()).await
}

/// [`app`] with non-default service settings.
pub async fn app_with(
    services: &Services,
    backend: Backend,
    prefix: &str,
    settings: ServiceSettings,
) -> (Arc<App>, db::Db) {
    let (store, graph, code, db) = open_stores(services, backend, &unique_schema(prefix)).await;
    let embedder: Arc<dyn Embedder> = embedder(services);
    // Like production: the graphs live in the store's own tables unless a test brings another.
    let settings = ServiceSettings {
        graph: settings.graph.or(Some(graph)),
        code_store: settings.code_store.or(Some(code)),
        ..settings
    };
    let app = App::from_parts(store, embedder, loopback_fetcher(), settings).await.expect("build app");
    (Arc::new(app), db)
}

/// Open (or reopen) the store called `name`: a Postgres schema, or a SQLite file in the temp dir.
pub async fn open_store(services: &Services, backend: Backend, name: &str) -> (Arc<dyn Store>, db::Db) {
    let (store, _, _, db) = open_stores(services, backend, name).await;
    (store, db)
}

/// [`open_store`], with the store's embedded document and code graphs.
pub async fn open_stores(
    services: &Services,
    backend: Backend,
    name: &str,
) -> (Arc<dyn Store>, Arc<dyn GraphStore>, Arc<dyn CodeGraphStore>, db::Db) {
    match backend {
        Backend::Postgres => {
            let store = Arc::new(store(services, name).await);
            let pool = store.pool().clone();
            (
                Arc::clone(&store) as Arc<dyn Store>,
                Arc::clone(&store) as Arc<dyn GraphStore>,
                store as Arc<dyn CodeGraphStore>,
                db::Db::Postgres(pool),
            )
        }
        Backend::Sqlite => {
            let store = Arc::new(SqliteStore::open(&sqlite_path(name)).await.expect("open sqlite"));
            let pool = store.pool().clone();
            (
                Arc::clone(&store) as Arc<dyn Store>,
                Arc::clone(&store) as Arc<dyn GraphStore>,
                store as Arc<dyn CodeGraphStore>,
                db::Db::Sqlite(pool),
            )
        }
    }
}

/// The two stores every store-level test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The SQLite file called `name` under the system temp dir.
pub fn sqlite_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("crawlrag-it");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{name}.db"))
}

/// Generate one `#[tokio::test]` per backend for an `async fn(Backend)`:
/// `both_stores!(my_test);` gives `my_test::postgres` and `my_test::sqlite`.
#[macro_export]
macro_rules! both_stores {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await;
            }
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
        }
    };
}

/// The real headless browser, or `None` (with the reason printed) when it is not installed.
/// Under `CI=true` a missing browser is a failure, never a skip.
pub fn chromium(services: &Services) -> Option<PathBuf> {
    if services.chromium.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but Chromium is missing");
        eprintln!("SKIPPED: Chromium not installed (scripts/services.sh installs it)");
    }
    services.chromium.clone()
}
