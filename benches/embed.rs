//! Embedding benchmark: prints figures, never fails on time.
//!
//! The same real documentation chunks (the Rust book shipped with the toolchain, or
//! `CRAWLRAG_BENCH_HTML_DIR`, extracted and chunked by crawlrag at the local model's chunk size)
//! are embedded, in one run, by:
//! 1. crawlrag's local model on ONNX Runtime (`CRAWLRAG_ONNXRUNTIME_LIB`, from `scripts/services.sh`);
//! 2. the same model on candle (pure Rust, the fallback);
//! 3. sentence-transformers on PyTorch (CPU), as its users run it, in a venv that
//!    `scripts/sentence-transformers.sh` installs (`benches/peers/sentence_transformers_embed.py`).
//!
//! It prints chunks/s of each, crawlrag's ratio to sentence-transformers, and the cosine of
//! crawlrag's vectors to sentence-transformers' (over chunks within one 256-token window:
//! sentence-transformers truncates longer ones where crawlrag windows them). Then end-to-end
//! ingest: the chunks as pages of 10 through the ingest pipeline into SQLite (chunk + embed +
//! store, as the crawler hands pages over), against the raw rate.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench embed`
//! Env: CRAWLRAG_BENCH_CHUNKS (default 1000), CRAWLRAG_BENCH_CANDLE=0 skips candle,
//! CRAWLRAG_BENCH_PEER=0 skips sentence-transformers.
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder, LocalRuntime};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::domain::{IngestOptions, Links, Page, SourceId};
use crawlrag::ingest::{IngestConfig, Pipeline};
use crawlrag::ports::{Embedder, Store};
use crawlrag::progress::NoProgress;
use url::Url;

const WINDOW_TOKENS: usize = 254;
const CHUNKS_PER_PAGE: usize = 10;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("embedding benchmark: run it with `cargo bench --bench embed`");
        return;
    }
    tokio::runtime::Runtime::new().expect("runtime").block_on(run());
}

fn enabled(name: &str) -> bool {
    std::env::var(name).map_or(true, |v| v != "0")
}

async fn run() {
    let Ok(model_dir) = std::env::var("CRAWLRAG_EMBEDDING_MODEL_PATH").map(PathBuf::from) else {
        return println!("embed: skipped (CRAWLRAG_EMBEDDING_MODEL_PATH not set)");
    };
    let limit = std::env::var("CRAWLRAG_BENCH_CHUNKS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let texts: Vec<String> = common::real_chunks(limit).into_iter().map(|c| c.content).collect();
    let one_window = fits_one_window(&model_dir, &texts);
    println!(
        "# crawlrag embedding benchmark: {} real documentation chunks ({} within one 256-token window), {} cores",
        texts.len(),
        one_window.iter().filter(|f| **f).count(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    let peer = if enabled("CRAWLRAG_BENCH_PEER") { sentence_transformers(&model_dir, &texts) } else { None };
    let mut rows = Vec::new();
    let mut onnx = None;
    if let Some(library) = std::env::var_os("CRAWLRAG_ONNXRUNTIME_LIB").map(PathBuf::from) {
        let embedder = Arc::new(load(&model_dir, LocalRuntime::Onnx { onnxruntime: library }));
        let (rate, vectors) = embed_all(&embedder, &texts).await;
        rows.push(("crawlrag (ONNX Runtime)", rate, Some(vectors)));
        let started = Instant::now();
        for page in texts.chunks(CHUNKS_PER_PAGE) {
            embedder.embed(page).await.expect("embed");
        }
        let per_page = texts.len() as f64 / started.elapsed().as_secs_f64();
        rows.push(("crawlrag (ONNX Runtime), one call per 10 chunks", per_page, None));
        onnx = Some((embedder, rate));
    } else {
        println!("ONNX Runtime: skipped (CRAWLRAG_ONNXRUNTIME_LIB not set; scripts/onnxruntime.sh installs it)");
    }
    if enabled("CRAWLRAG_BENCH_CANDLE") {
        let embedder = Arc::new(load(&model_dir, LocalRuntime::Candle));
        let (rate, vectors) = embed_all(&embedder, &texts).await;
        rows.push(("crawlrag (candle)", rate, Some(vectors)));
    }

    println!("\n| embedder | chunks/s | vs sentence-transformers | cosine to sentence-transformers (min / mean) |");
    println!("|---|---|---|---|");
    if let Some((rate, _)) = &peer {
        println!("| sentence-transformers (PyTorch, CPU) | {rate:.1} | 1.00x | - |");
    }
    for (name, rate, vectors) in &rows {
        let ratio = peer.as_ref().map_or("-".to_owned(), |(peer_rate, _)| format!("{:.2}x", rate / peer_rate));
        let cosine = match (&peer, vectors) {
            (Some((_, theirs)), Some(ours)) => {
                let sims: Vec<f32> = ours
                    .iter()
                    .zip(theirs)
                    .zip(&one_window)
                    .filter(|(_, fits)| **fits)
                    .map(|((a, b), _)| a.iter().zip(b).map(|(x, y)| x * y).sum())
                    .collect();
                let min = sims.iter().copied().fold(f32::INFINITY, f32::min);
                format!("{min:.6} / {:.6}", sims.iter().sum::<f32>() / sims.len().max(1) as f32)
            }
            _ => "-".to_owned(),
        };
        println!("| {name} | {rate:.1} | {ratio} | {cosine} |");
    }
    if let Some((embedder, raw_rate)) = onnx {
        ingest_end_to_end(&embedder, &texts, raw_rate).await;
    }
}

fn load(dir: &Path, runtime: LocalRuntime) -> LocalEmbedder {
    LocalEmbedder::load(dir, DEFAULT_LOCAL_MODEL_NAME, runtime).expect("load the local model")
}

/// Chunks/s of one `embed` call over every text, after a warm-up call (which also loads the model).
async fn embed_all(embedder: &Arc<LocalEmbedder>, texts: &[String]) -> (f64, Vec<Vec<f32>>) {
    embedder.embed(&texts[..texts.len().min(16)]).await.expect("warm-up");
    let started = Instant::now();
    let vectors = embedder.embed(texts).await.expect("embed");
    (texts.len() as f64 / started.elapsed().as_secs_f64(), vectors)
}

/// Which texts fit one window (so sentence-transformers sees all of them too).
fn fits_one_window(model_dir: &Path, texts: &[String]) -> Vec<bool> {
    let mut tokenizer = tokenizers::Tokenizer::from_file(model_dir.join("tokenizer.json")).expect("tokenizer");
    tokenizer.with_truncation(None).expect("no truncation");
    texts
        .iter()
        .map(|t| tokenizer.encode(t.as_str(), false).is_ok_and(|e| e.get_ids().len() <= WINDOW_TOKENS))
        .collect()
}

/// sentence-transformers' chunks/s and vectors for `texts`, from its venv.
fn sentence_transformers(model_dir: &Path, texts: &[String]) -> Option<(f64, Vec<Vec<f32>>)> {
    let install = Command::new("scripts/sentence-transformers.sh").output().ok().filter(|o| o.status.success());
    let Some(install) = install else {
        println!("sentence-transformers: skipped (scripts/sentence-transformers.sh failed)");
        return None;
    };
    let python = String::from_utf8_lossy(&install.stdout).trim().to_owned();
    let scratch = std::env::temp_dir().join(format!("crawlrag-bench-embed-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).ok()?;
    let (texts_path, vectors_path) = (scratch.join("texts.json"), scratch.join("vectors.f32"));
    std::fs::write(&texts_path, serde_json::to_vec(texts).ok()?).ok()?;
    let output = Command::new(python)
        .arg("benches/peers/sentence_transformers_embed.py")
        .args([model_dir, &texts_path, &vectors_path])
        .arg("16")
        .output()
        .ok()?;
    if !output.status.success() {
        println!("sentence-transformers: failed: {}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    let report: serde_json::Value = serde_json::from_slice(output.stdout.trim_ascii()).ok()?;
    println!("sentence-transformers: torch {} on {} threads, batch 16", report["torch"], report["threads"]);
    let raw = std::fs::read(&vectors_path).ok()?;
    let _ = std::fs::remove_dir_all(&scratch);
    let floats: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Some((report["chunks_per_s"].as_f64()?, floats.chunks(floats.len() / texts.len()).map(<[f32]>::to_vec).collect()))
}

/// The texts as pages of 10 chunks through the ingest pipeline into SQLite.
async fn ingest_end_to_end(embedder: &Arc<LocalEmbedder>, texts: &[String], raw_rate: f64) {
    let path = std::env::temp_dir().join(format!("crawlrag-bench-ingest-{}.db", std::process::id()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("sqlite"));
    store.ensure_embedding_space(embedder.model_id(), embedder.dimensions()).await.expect("space");
    let pipeline = Pipeline::new(embedder.clone(), store.clone(), store, IngestConfig::default());
    let started = Instant::now();
    let mut stored = 0;
    for (i, group) in texts.chunks(CHUNKS_PER_PAGE).enumerate() {
        let url = Url::parse(&format!("http://ingest.local/{i}")).expect("url");
        let page = Page {
            source_id: SourceId::from_url(&url).expect("source"),
            url,
            title: None,
            markdown: group.join("\n\n"),
            links: Links::default(),
            validators: Default::default(),
        };
        stored +=
            pipeline.ingest_page(&page, &IngestOptions::default(), &NoProgress).await.expect("ingest").chunks_stored;
    }
    let rate = stored as f64 / started.elapsed().as_secs_f64();
    println!(
        "\nend-to-end ingest (chunk + embed + store into SQLite, pages of {CHUNKS_PER_PAGE} chunks, ONNX Runtime): \
         {rate:.1} chunks/s = {:.0}% of raw embedding",
        rate / raw_rate * 100.0
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
