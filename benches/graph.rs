//! GraphRAG benchmark: prints figures, never fails on time.
//!
//! 1. Extraction: chunks/s of the structural extractor (mentions, relations, descriptions) on
//!    real documentation (the Rust book, or `CRAWLRAG_BENCH_HTML_DIR`), one core.
//! 2. Ingest slowdown: the same pages ingested into two fresh SQLite stores with the real local
//!    model, without and with graph extraction (which also embeds entity names).
//! 3. `graphrag_query` latency per mode at `CRAWLRAG_BENCH_ENTITIES` entities (default 100,000) on
//!    the embedded backend (SQLite; Postgres too when `DATABASE_URL` is set) and FalkorDB, excluding the query
//!    embedding (vectors precomputed). To get there without hours of embedding, the real pages'
//!    graphs are replicated with renamed entities ("tokio#17") and slightly perturbed vectors,
//!    ten pages sharing each replica's entities, with their chunks stored beside them.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench graph`
//! Env: CRAWLRAG_BENCH_REAL (real chunks, default 600), CRAWLRAG_BENCH_ENTITIES, CRAWLRAG_BENCH_QUERIES
//! (default 50), CRAWLRAG_BENCH_PG=0 (SQLite only), CRAWLRAG_BENCH_INGEST=0 (no ingest comparison);
//! FalkorDB joins when `CRAWLRAG_TEST_FALKORDB_URL` is set (as `scripts/services.sh` exports it),
//! the Bolt server (`CRAWLRAG_TEST_BOLT_*`) with `CRAWLRAG_BENCH_BOLT=1`.
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss, clippy::cast_possible_truncation)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Precomputed, percentiles, perturb};
use crawlrag::adapters::bolt::BoltGraph;
use crawlrag::adapters::falkordb::FalkorGraph;
use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder};
use crawlrag::adapters::postgres::{PgConfig, PgStore};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::domain::{Chunk, GraphExtraction, IngestOptions, Links, Page, SourceId};
use crawlrag::graphrag::{GraphMode, GraphQuery, GraphRag};
use crawlrag::ingest::graph::extract_graph;
use crawlrag::ingest::{IngestConfig, Pipeline};
use crawlrag::ports::{Embedder, EntityFacts, GraphStore, PageGraph, PageWrite, SearchIndex, Store, StoreAdmin};
use crawlrag::progress::NoProgress;
use crawlrag::retrieve::{RetrieveConfig, Retriever};
use url::Url;

const CHUNKS_PER_PAGE: usize = 10;
/// Pages sharing one replica's entities.
const PAGES_PER_REPLICA: usize = 10;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("graph benchmark: run it with `cargo bench --bench graph`");
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Runtime::new().expect("runtime").block_on(run());
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn page(i: usize, chunks: &[Chunk]) -> Page {
    let url = Url::parse(&format!("http://127.0.0.1/book/page-{i}.html")).expect("url");
    Page {
        source_id: SourceId::from_url(&url).expect("source"),
        url,
        title: Some(format!("Page {i}")),
        markdown: chunks.iter().map(|c| c.content.as_str()).collect::<Vec<_>>().join("\n\n"),
        links: Links::default(),
        validators: Default::default(),
    }
}

async fn run() {
    let Ok(model_dir) = std::env::var("CRAWLRAG_EMBEDDING_MODEL_PATH") else {
        return println!("graph: skipped (CRAWLRAG_EMBEDDING_MODEL_PATH not set)");
    };
    let embedder = Arc::new(
        LocalEmbedder::load(Path::new(&model_dir), DEFAULT_LOCAL_MODEL_NAME, common::local_runtime()).expect("model"),
    );
    let chunks = common::real_chunks(env_usize("CRAWLRAG_BENCH_REAL", 600));
    // Pages of ten consecutive real chunks, numbered within their page as stored chunks are.
    let owned: Vec<Vec<Chunk>> = chunks
        .chunks(CHUNKS_PER_PAGE)
        .map(|group| group.iter().enumerate().map(|(index, c)| Chunk { index, ..c.clone() }).collect())
        .collect();
    let pages: Vec<&[Chunk]> = owned.iter().map(Vec::as_slice).collect();
    println!("# crawlrag GraphRAG benchmark: {} real chunks in {} pages", chunks.len(), pages.len());

    // 1. Extraction alone.
    let started = Instant::now();
    let graphs: Vec<_> = pages.iter().map(|p| extract_graph(p, GraphExtraction::ALL)).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let entities: usize = graphs.iter().map(|g| g.entities.len()).sum();
    let relations: usize = graphs.iter().map(|g| g.relations.len()).sum();
    println!(
        "extraction: {:.0} chunks/s on one core ({entities} entities, {relations} relations over the pages)",
        chunks.len() as f64 / elapsed
    );

    // 2. Ingest with and without graph extraction, fresh stores (cold embedding caches).
    if std::env::var("CRAWLRAG_BENCH_INGEST").as_deref() != Ok("0") {
        ingest_slowdown(&embedder, &pages).await;
    }
    query_latency(&embedder, &chunks, &pages, &graphs).await;
}

async fn ingest_slowdown(embedder: &Arc<LocalEmbedder>, pages: &[&[Chunk]]) {
    println!("\n| ingest (SQLite, local model) | chunks/s | entities/page |");
    println!("|---|---|---|");
    let mut rates = Vec::new();
    for graph in [false, true] {
        let path = std::env::temp_dir().join(format!("crawlrag-bench-graph-{}-{graph}.db", std::process::id()));
        let store = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
        store.ensure_embedding_space(embedder.model_id(), embedder.dimensions()).await.expect("space");
        let pipeline = Pipeline::new(
            Arc::clone(embedder) as Arc<dyn Embedder>,
            Arc::clone(&store) as Arc<dyn crawlrag::ports::PageStore>,
            Arc::clone(&store) as Arc<dyn crawlrag::ports::EmbeddingCache>,
            IngestConfig { graph_by_default: graph, ..IngestConfig::default() },
        )
        .with_graph(Some(Arc::clone(&store) as Arc<dyn GraphStore>));
        let started = Instant::now();
        let (mut stored, mut entities) = (0, 0);
        for (i, chunks) in pages.iter().enumerate() {
            let report =
                pipeline.ingest_page(&page(i, chunks), &IngestOptions::default(), &NoProgress).await.expect("ingest");
            stored += report.chunks_stored;
            entities += report.entities_stored;
        }
        let rate = stored as f64 / started.elapsed().as_secs_f64();
        rates.push(rate);
        let label = if graph { "with USE_GRAPHRAG=true" } else { "without graph" };
        println!("| {label} | {rate:.1} | {:.0} |", entities as f64 / pages.len() as f64);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    println!("ingest slowdown with graph extraction: {:.1}%", (1.0 - rates[1] / rates[0]) * 100.0);
}

/// 3. Query latency at scale.
async fn query_latency(
    embedder: &Arc<LocalEmbedder>,
    chunks: &[Chunk],
    pages: &[&[Chunk]],
    graphs: &[crawlrag::ingest::graph::ExtractedGraph],
) {
    let chunk_vectors = embed_all(embedder, chunks.iter().map(|c| c.content.clone()).collect()).await;
    let names: Vec<Vec<String>> =
        graphs.iter().map(|g| g.entities.iter().map(|(e, _, _)| e.name.clone()).collect()).collect();
    let name_vectors: Vec<Vec<Vec<f32>>> = {
        let mut out = Vec::new();
        for page_names in &names {
            out.push(embed_all(embedder, page_names.clone()).await);
        }
        out
    };
    let queries: Vec<String> = chunks
        .iter()
        .step_by((chunks.len() / env_usize("CRAWLRAG_BENCH_QUERIES", 50)).max(1))
        .map(|c| c.content.split_whitespace().take(12).collect::<Vec<_>>().join(" "))
        .collect();
    let query_vectors = embed_all(embedder, queries.clone()).await;
    // Distinct entities one replica of the corpus adds (pages in groups of ten share names).
    let per_replica: usize = graphs
        .chunks(PAGES_PER_REPLICA)
        .map(|group| {
            group
                .iter()
                .flat_map(|g| g.entities.iter().map(|(e, _, _)| e.key.as_str()))
                .collect::<std::collections::HashSet<_>>()
                .len()
        })
        .sum();
    let target = env_usize("CRAWLRAG_BENCH_ENTITIES", 100_000);
    let replicas = target.div_ceil(per_replica.max(1)).max(1);
    let corpus = Corpus { pages, graphs, chunk_vectors: &chunk_vectors, name_vectors: &name_vectors };
    println!("\n| backend | entities | relations | chunks | build s | mode | p50 ms | p95 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    if std::env::var("CRAWLRAG_BENCH_PG").as_deref() != Ok("0")
        && let Ok(url) = std::env::var("DATABASE_URL")
    {
        let schema = format!("bench_graph_{}", std::process::id());
        let config = PgConfig { url, schema: Some(schema.clone()), max_connections: 4 };
        let store = Arc::new(PgStore::connect(&config).await.expect("postgres"));
        let graph = Arc::clone(&store) as Arc<dyn GraphStore>;
        bench_queries("postgres", store.clone(), graph, &corpus, replicas, &queries, &query_vectors).await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade"))).execute(store.pool()).await;
    }
    let path = std::env::temp_dir().join(format!("crawlrag-bench-graph-{}.db", std::process::id()));
    let store = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
    let graph = Arc::clone(&store) as Arc<dyn GraphStore>;
    bench_queries("sqlite", store, graph, &corpus, replicas, &queries, &query_vectors).await;
    remove_sqlite(&path);
    // FalkorDB holds the graph; the chunks stay in a SQLite store beside it.
    if let Ok(url) = std::env::var("CRAWLRAG_TEST_FALKORDB_URL") {
        let name = format!("bench_graph_{}", std::process::id());
        let graph = Arc::new(FalkorGraph::connect(&url, &name).await.expect("falkordb")) as Arc<dyn GraphStore>;
        let path = std::env::temp_dir().join(format!("crawlrag-bench-graph-falkor-{}.db", std::process::id()));
        let store = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
        bench_queries("falkordb", store, graph, &corpus, replicas, &queries, &query_vectors).await;
        remove_sqlite(&path);
        let info: falkordb::FalkorConnectionInfo = url.as_str().try_into().expect("FalkorDB URL");
        let client =
            falkordb::FalkorClientBuilder::new_async().with_connection_info(info).build().await.expect("client");
        let _ = client.select_graph(&name).delete().await;
    }
    if let Some(graph) = bolt_graph().await {
        let path = std::env::temp_dir().join(format!("crawlrag-bench-graph-bolt-{}.db", std::process::id()));
        let store = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
        bench_queries("bolt (ArcadeDB)", store, Arc::clone(&graph), &corpus, replicas, &queries, &query_vectors).await;
        remove_sqlite(&path);
        let source = SourceId::from("127.0.0.1".to_owned());
        graph.delete_source(&source).await.expect("clean the Bolt database");
    }
}

/// The Bolt server of `scripts/services.sh`, when `CRAWLRAG_BENCH_BOLT=1` asks for it (a 100k-entity
/// build through a Bolt server takes many minutes here, so it is opt-in).
async fn bolt_graph() -> Option<Arc<dyn GraphStore>> {
    if std::env::var("CRAWLRAG_BENCH_BOLT").as_deref() != Ok("1") {
        return None;
    }
    let uri = std::env::var("CRAWLRAG_TEST_BOLT_URI").ok()?;
    let user = std::env::var("CRAWLRAG_TEST_BOLT_USER").unwrap_or_else(|_| "neo4j".into());
    let password = std::env::var("CRAWLRAG_TEST_BOLT_PASSWORD").unwrap_or_default();
    let database = std::env::var("CRAWLRAG_TEST_BOLT_DATABASE").ok();
    let graph = BoltGraph::connect(&uri, &user, &password, database.as_deref()).await.expect("bolt");
    Some(Arc::new(graph))
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

async fn embed_all(embedder: &LocalEmbedder, texts: Vec<String>) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(16) {
        out.extend(embedder.embed(batch).await.expect("embed"));
    }
    out
}

struct Corpus<'a> {
    pages: &'a [&'a [Chunk]],
    graphs: &'a [crawlrag::ingest::graph::ExtractedGraph],
    chunk_vectors: &'a [Vec<f32>],
    name_vectors: &'a [Vec<Vec<f32>>],
}

async fn bench_queries(
    name: &str,
    store: Arc<dyn Store>,
    graph: Arc<dyn GraphStore>,
    corpus: &Corpus<'_>,
    replicas: usize,
    queries: &[String],
    query_vectors: &[Vec<f32>],
) {
    store.ensure_embedding_space("local:sentence-transformers/all-MiniLM-L6-v2", 384).await.expect("space");
    let started = Instant::now();
    let mut seed = 7_u64;
    for replica in 0..replicas {
        for (p, chunks) in corpus.pages.iter().enumerate() {
            let extracted = &corpus.graphs[p];
            let rename = |key: &str| format!("{key}#{}", (replica * corpus.pages.len() + p) / PAGES_PER_REPLICA);
            let page_no = replica * corpus.pages.len() + p;
            let page = page(page_no, chunks);
            let offset = p * CHUNKS_PER_PAGE;
            let embeddings: Vec<Vec<f32>> =
                (0..chunks.len()).map(|i| perturb(&corpus.chunk_vectors[offset + i], &mut seed, 0.02)).collect();
            let hash = format!("h{page_no}");
            store
                .replace_page(PageWrite {
                    page: &page,
                    chunks,
                    embeddings: &embeddings,
                    content_hash: &hash,
                    source_summary: "",
                    code_examples: &[],
                    code_embeddings: &[],
                })
                .await
                .expect("chunks");
            let mentions: Vec<Vec<_>> = extracted
                .chunk_mentions
                .iter()
                .map(|ms| {
                    ms.iter()
                        .map(|m| crawlrag::domain::entity::EntityMention { key: rename(&m.key), ..m.clone() })
                        .collect()
                })
                .collect();
            let relations: Vec<_> = extracted
                .relations
                .iter()
                .map(|r| crawlrag::domain::entity::EntityRelation {
                    source: rename(&r.source),
                    target: rename(&r.target),
                    ..r.clone()
                })
                .collect();
            let entities: Vec<EntityFacts> = extracted
                .entities
                .iter()
                .zip(&corpus.name_vectors[p])
                .map(|((e, description, score), vector)| EntityFacts {
                    key: rename(&e.key),
                    name: format!("{}#{}", e.name, page_no / PAGES_PER_REPLICA),
                    entity_type: e.entity_type,
                    description: description.clone(),
                    description_score: *score,
                    embedding: perturb(vector, &mut seed, 0.02),
                })
                .collect();
            graph
                .replace_page(PageGraph {
                    url: page.url.as_str(),
                    source: &page.source_id,
                    title: page.title.as_deref(),
                    content_hash: &hash,
                    chunk_mentions: &mentions,
                    relations: &relations,
                    entities: &entities,
                    links: &[],
                })
                .await
                .expect("graph");
        }
    }
    let build = started.elapsed().as_secs_f64();
    let counts = graph.source_counts().await.expect("counts");
    let (entities, relations) = counts.iter().fold((0, 0), |(e, r), c| (e + c.entities, r + c.relations));
    let chunks = replicas * corpus.pages.iter().map(|p| p.len()).sum::<usize>();
    let embedder = Arc::new(Precomputed { queries: queries.to_vec(), vectors: query_vectors.to_vec() });
    let index = Arc::clone(&store) as Arc<dyn SearchIndex>;
    let retriever = Arc::new(Retriever::new(embedder, Arc::clone(&index), RetrieveConfig::default()));
    let graphrag = GraphRag::new(graph, index, retriever, None);
    for mode in [GraphMode::Naive, GraphMode::Local, GraphMode::Global, GraphMode::Hybrid, GraphMode::Mix] {
        let mut samples: Vec<Duration> = Vec::new();
        for (i, query) in queries.iter().enumerate() {
            let q = GraphQuery {
                query: query.clone(),
                mode,
                use_graph: true,
                max_entities: 15,
                source: None,
                offset: 0,
                max_documents: 10,
                max_content_length: 1000,
                max_response_tokens: 20_000,
            };
            let started = Instant::now();
            let answer = graphrag.query(&q).await.expect("query");
            // The first query of each mode loads the in-memory vectors; it is not a steady-state sample.
            if i > 0 {
                samples.push(started.elapsed());
            }
            assert!(!answer.chunks.is_empty() || mode != GraphMode::Naive);
        }
        let (p50, p95) = percentiles(samples);
        println!("| {name} | {entities} | {relations} | {chunks} | {build:.0} | {mode:?} | {p50:.1} | {p95:.1} |");
    }
}
