//! What the benchmarks share: where their real documentation corpus lives, and the fixture site
//! built from it.

#[allow(dead_code, reason = "only the crawl and browser benchmarks serve the site")]
pub(crate) mod site;

use std::path::PathBuf;
use std::time::Duration;

use crawlrag::crawl::extract::extract_html;
use crawlrag::domain::{Chunk, split_markdown};
use url::Url;

/// The Rust book that ships with the installed toolchain's docs, if present.
pub(crate) fn rust_book_dir() -> Option<PathBuf> {
    std::fs::read_dir(PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".rustup/toolchains"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(Result::ok)
        .map(|e| e.path().join("share/doc/rust/html/book"))
}

/// The local model's forward pass for a benchmark: ONNX Runtime from `CRAWLRAG_ONNXRUNTIME_LIB`
/// (as `scripts/services.sh` exports it) when set, else candle.
#[allow(dead_code, reason = "the browser benchmark embeds nothing")]
pub(crate) fn local_runtime() -> crawlrag::adapters::local_embedder::LocalRuntime {
    crawlrag::adapters::local_embedder::LocalRuntime::Auto {
        onnxruntime: std::env::var_os("CRAWLRAG_ONNXRUNTIME_LIB").map(PathBuf::from),
    }
}

#[allow(dead_code, reason = "the browser benchmark reads no chunks")]
/// Real chunks: the Rust book (or CRAWLRAG_BENCH_HTML_DIR), extracted and chunked by crawlrag.
pub(crate) fn real_chunks(limit: usize) -> Vec<Chunk> {
    let dir = std::env::var("CRAWLRAG_BENCH_HTML_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| rust_book_dir().unwrap_or_default());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "html")).collect())
        .unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "no HTML under {} (set CRAWLRAG_BENCH_HTML_DIR)", dir.display());
    let base = Url::parse("http://127.0.0.1/").expect("url");
    let mut chunks = Vec::new();
    for file in files {
        let Ok(html) = std::fs::read_to_string(&file) else { continue };
        chunks.extend(
            split_markdown(&extract_html(&html, &base).markdown, 1000).into_iter().filter(|c| c.char_count > 200),
        );
        if chunks.len() >= limit {
            break;
        }
    }
    chunks.truncate(limit);
    chunks
}

#[allow(dead_code, reason = "not every benchmark perturbs vectors")]
/// Deterministic small perturbation of a unit vector, renormalised.
pub(crate) fn perturb(v: &[f32], seed: &mut u64, scale: f32) -> Vec<f32> {
    let out: Vec<f32> = v
        .iter()
        .map(|x| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            x + scale * ((*seed % 20_000) as f32 / 10_000.0 - 1.0)
        })
        .collect();
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    out.into_iter().map(|x| x / norm).collect()
}

#[allow(dead_code, reason = "not every benchmark times queries")]
pub(crate) fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.95))
}

#[allow(dead_code, reason = "not every benchmark precomputes queries")]
/// An embedder answering from precomputed query vectors: isolates search latency.
#[derive(Debug)]
pub(crate) struct Precomputed {
    pub(crate) queries: Vec<String>,
    pub(crate) vectors: Vec<Vec<f32>>,
}

#[async_trait::async_trait]
impl crawlrag::ports::Embedder for Precomputed {
    fn model_id(&self) -> &str {
        "local:sentence-transformers/all-MiniLM-L6-v2"
    }
    fn dimensions(&self) -> usize {
        384
    }
    fn preferred_chunk_chars(&self) -> usize {
        1000
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, crawlrag::ports::EmbedError> {
        texts
            .iter()
            .map(|t| {
                self.queries
                    .iter()
                    .position(|q| q == t)
                    .map(|i| self.vectors[i].clone())
                    .ok_or_else(|| crawlrag::ports::EmbedError::Internal("unknown query".into()))
            })
            .collect()
    }
}
