//! Retrieval benchmark: prints figures, never fails on time.
//!
//! Corpus: real documentation (the Rust book shipped with the toolchain, or
//! `CRAWLRAG_BENCH_HTML_DIR`), extracted and chunked by crawlrag, embedded with the real local
//! model. To reach 10k / 100k chunks without hours of CPU embedding, each real chunk is repeated
//! with a small random perturbation of its real embedding (and a numbered suffix on its text), so
//! the vector space keeps the real corpus' structure.
//!
//! For each store (Postgres + pgvector HNSW, SQLite exact scan) and size it prints: store insert
//! rate, and query latency p50/p95 for vector and hybrid search, excluding the query embedding
//! (vectors precomputed) and including it (real model). Embedding speed itself (against
//! sentence-transformers, and end-to-end ingest) is `benches/embed.rs`.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench retrieval`
//! Env: CRAWLRAG_BENCH_SIZES (default "10000,100000"), CRAWLRAG_BENCH_REAL (real chunks, default 400),
//! CRAWLRAG_BENCH_QUERIES (default 100).
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss, clippy::cast_possible_truncation)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use common::{Precomputed, percentiles, perturb};
use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder};
use crawlrag::adapters::postgres::{PgConfig, PgStore};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::domain::{Chunk, Links, Page, SourceId};
use crawlrag::ports::{Embedder, PageWrite, Store};
use crawlrag::retrieve::{RagQuery, RetrieveConfig, Retriever, SearchMode};
use url::Url;

const CHUNKS_PER_PAGE: usize = 100;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("retrieval benchmark: run it with `cargo bench --bench retrieval`");
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Runtime::new().expect("runtime").block_on(run());
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn run() {
    let Ok(model_dir) = std::env::var("CRAWLRAG_EMBEDDING_MODEL_PATH") else {
        return println!("retrieval: skipped (CRAWLRAG_EMBEDDING_MODEL_PATH not set)");
    };
    let embedder = Arc::new(
        LocalEmbedder::load(Path::new(&model_dir), DEFAULT_LOCAL_MODEL_NAME, common::local_runtime()).expect("model"),
    );
    let chunks = common::real_chunks(env_usize("CRAWLRAG_BENCH_REAL", 400));
    println!("# crawlrag retrieval benchmark: {} real chunks from real documentation", chunks.len());

    let started = Instant::now();
    let texts: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(16) {
        vectors.extend(embedder.embed(batch).await.expect("embed"));
    }
    let raw_rate = texts.len() as f64 / started.elapsed().as_secs_f64();
    println!("raw local embedding: {raw_rate:.1} chunks/s (batch 16)");

    let queries: Vec<String> = chunks
        .iter()
        .step_by((chunks.len() / env_usize("CRAWLRAG_BENCH_QUERIES", 100)).max(1))
        .map(|c| c.content.split_whitespace().take(12).collect::<Vec<_>>().join(" "))
        .collect();
    let mut query_vectors = Vec::new();
    let started = Instant::now();
    for q in &queries {
        query_vectors.extend(embedder.embed(std::slice::from_ref(q)).await.expect("embed query"));
    }
    println!(
        "query embedding (local model): {:.1} ms mean over {} queries",
        started.elapsed().as_secs_f64() * 1e3 / queries.len() as f64,
        queries.len()
    );

    let sizes: Vec<usize> = std::env::var("CRAWLRAG_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "\n| store | chunks | insert chunks/s | vector p50 / p95 | hybrid p50 / p95 | vector+embed p50 | hybrid+embed p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &size in &sizes {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            let schema = format!("bench_retrieval_{}_{size}", std::process::id());
            let config = PgConfig { url, schema: Some(schema.clone()), max_connections: 4 };
            let store = Arc::new(PgStore::connect(&config).await.expect("postgres"));
            bench_store("postgres", store.clone(), size, &chunks, &vectors, &queries, &query_vectors, &embedder).await;
            let _ =
                sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade"))).execute(store.pool()).await;
        }
        let path = std::env::temp_dir().join(format!("crawlrag-bench-{}-{size}.db", std::process::id()));
        let store = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
        bench_store("sqlite", store, size, &chunks, &vectors, &queries, &query_vectors, &embedder).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn bench_store(
    name: &str,
    store: Arc<dyn Store>,
    size: usize,
    chunks: &[Chunk],
    vectors: &[Vec<f32>],
    queries: &[String],
    query_vectors: &[Vec<f32>],
    embedder: &Arc<LocalEmbedder>,
) {
    store.ensure_embedding_space(embedder.model_id(), 384).await.expect("embedding space");
    let mut seed = 7u64;
    let started = Instant::now();
    let mut written = 0;
    let mut page_no = 0;
    while written < size {
        let n = CHUNKS_PER_PAGE.min(size - written);
        let page_chunks: Vec<Chunk> = (0..n)
            .map(|i| {
                let source = &chunks[(written + i) % chunks.len()];
                Chunk { index: i, content: format!("{} [copy {}]", source.content, written + i), ..source.clone() }
            })
            .collect();
        let page_vectors: Vec<Vec<f32>> = (0..n)
            .map(|i| {
                let real = &vectors[(written + i) % vectors.len()];
                if written + i < vectors.len() { real.clone() } else { perturb(real, &mut seed, 0.02) }
            })
            .collect();
        let url = Url::parse(&format!("http://bench.local/page/{page_no}")).expect("url");
        let page = Page {
            source_id: SourceId::from_url(&url).expect("source"),
            url,
            title: None,
            markdown: String::new(),
            links: Links::default(),
            validators: Default::default(),
        };
        store
            .replace_page(PageWrite {
                page: &page,
                chunks: &page_chunks,
                embeddings: &page_vectors,
                content_hash: "bench",
                source_summary: "bench",
                code_examples: &[],
                code_embeddings: &[],
            })
            .await
            .expect("insert");
        written += n;
        page_no += 1;
    }
    let insert_rate = size as f64 / started.elapsed().as_secs_f64();

    let precomputed: Arc<dyn Embedder> =
        Arc::new(Precomputed { queries: queries.to_vec(), vectors: query_vectors.to_vec() });
    let fast = Retriever::new(precomputed, store.clone(), RetrieveConfig::default());
    let real = Retriever::new(embedder.clone(), store.clone(), RetrieveConfig::default());
    let mut results = Vec::new();
    for (retriever, mode) in [
        (&fast, SearchMode::Vector),
        (&fast, SearchMode::Hybrid),
        (&real, SearchMode::Vector),
        (&real, SearchMode::Hybrid),
    ] {
        let mut samples = Vec::with_capacity(queries.len());
        for q in queries {
            let query =
                RagQuery { query: q.clone(), source: None, match_count: 5, offset: 0, mode: Some(mode), rerank: None };
            let t = Instant::now();
            let hits = retriever.search(&query).await.expect("search");
            samples.push(t.elapsed());
            assert!(!hits.is_empty());
        }
        results.push(percentiles(samples));
    }
    println!(
        "| {name} | {size} | {insert_rate:.0} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.1} ms | {:.1} ms |",
        results[0].0, results[0].1, results[1].0, results[1].1, results[2].0, results[3].0
    );
}
