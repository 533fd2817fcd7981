//! Crawl benchmark: prints figures, never fails on time.
//!
//! A generated site of real documentation pages (the Rust book that ships with the toolchain
//! without its one-page `print.html`, or `CRAWLRAG_BENCH_HTML_DIR`; page i is page i mod n of that
//! set, symlinked, plus a sitemap) is
//! served by nginx (`scripts/nginx.sh` installs it) on a loopback port, and crawled through its
//! sitemap at concurrency 16:
//!
//! 1. HTTP mode, fetch + Markdown + chunk (no indexing), 2,000 pages: pages/s and peak RSS.
//! 2. The same for 10,000 pages: peak RSS must stay flat in site size (target <= 150 MB).
//! 3. HTTP mode with indexing (local MiniLM embedder + the embedded SQLite store), a slice of the
//!    site: pages/s and chunks/s (embedding-bound).
//!
//! Browser mode is `benches/browser.rs` (side by side with Crawl4AI).
//!
//! Peak RSS is this process's high-water mark (`VmHWM`), reset before each run through
//! `/proc/self/clear_refs`.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench crawl`
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crawlrag::adapters::http_fetcher::{HttpFetcher, HttpFetcherConfig};
use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::app::{App, ServiceSettings};
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::crawl::{CrawlConfig, Render};
use crawlrag::ports::{Embedder, Renderer};
use crawlrag::process_memory::status_mb;
use crawlrag::progress::NoProgress;

use common::site::{Nginx, build_site, source_pages};

// The allocator the binary uses, so RSS figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 16;
const SITE_PAGES: usize = 10_000;

fn main() {
    // `cargo test --all-targets` also runs this binary: only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("crawl benchmark: run it with `cargo bench --bench crawl`");
        return;
    }
    crawlrag::process_memory::return_freed_memory_promptly();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let Ok(model) = std::env::var("CRAWLRAG_EMBEDDING_MODEL_PATH") else {
        println!("crawl benchmark: skipped (CRAWLRAG_EMBEDDING_MODEL_PATH not set; eval \"$(scripts/services.sh)\")");
        return;
    };
    let sources = source_pages();
    if sources.is_empty() {
        println!("crawl benchmark: skipped (no HTML pages found; set CRAWLRAG_BENCH_HTML_DIR)");
        return;
    }
    let work = std::env::temp_dir().join(format!("crawlrag-crawl-bench-{}", std::process::id()));
    let site = work.join("site");
    build_site(&site, &sources, SITE_PAGES);
    let Some(server) = Nginx::start(&work, &site) else { return };
    let base = format!("http://127.0.0.1:{}", server.port);
    println!(
        "# crawlrag crawl benchmark: {SITE_PAGES}-page site of {} real pages ({:.1} KB HTML on average), nginx on {base}, concurrency {CONCURRENCY}",
        sources.len(),
        sources.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum::<u64>() as f64
            / sources.len() as f64
            / 1024.0
    );

    let embedder: Arc<dyn Embedder> = Arc::new(
        LocalEmbedder::load(Path::new(&model), DEFAULT_LOCAL_MODEL_NAME, common::local_runtime()).expect("load model"),
    );
    let app = |name: &str, renderer: Option<Arc<dyn Renderer>>| {
        let (embedder, db) = (Arc::clone(&embedder), work.join(format!("{name}.db")));
        async move {
            let store = Arc::new(SqliteStore::open(&db).await.expect("sqlite store"));
            let fetcher = HttpFetcher::new(HttpFetcherConfig { allow_private_networks: true, ..Default::default() })
                .expect("fetcher");
            let settings = ServiceSettings {
                crawl: CrawlConfig { per_host_concurrency: CONCURRENCY, ..CrawlConfig::default() },
                renderer,
                ..ServiceSettings::default()
            };
            App::from_parts(store, embedder, Arc::new(fetcher), settings).await.expect("app")
        }
    };

    let plain = app("plain", None).await;
    for pages in [2_000, SITE_PAGES] {
        let request = CrawlRequest { index: false, ..crawl(&base, pages, Render::Http) };
        measure(&plain, &format!("http, no indexing, {pages} pages"), &request).await;
    }
    if std::env::var("CRAWLRAG_BENCH_ONLY").as_deref() == Ok("http") {
        return;
    }
    let indexing = app("indexed", None).await;
    measure(&indexing, "http, with indexing (MiniLM + SQLite), 40 pages", &crawl(&base, 40, Render::Http)).await;

    // Browser mode is measured side by side with Crawl4AI: `cargo bench --bench browser`.
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
}

/// A sitemap crawl of the first `pages` pages.
fn crawl(base: &str, pages: usize, render: Render) -> CrawlRequest {
    CrawlRequest {
        max_pages: pages,
        max_concurrent: std::env::var("CRAWLRAG_BENCH_CONCURRENCY")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(CONCURRENCY),
        render,
        ..CrawlRequest::new(format!("{base}/sitemap.xml"))
    }
}

async fn measure(app: &App, label: &str, request: &CrawlRequest) {
    reset_peak_rss();
    let before = rss_mb("VmRSS");
    let started = Instant::now();
    let report = app.crawler.smart_crawl(request, &NoProgress).await.expect("crawl");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label}: {} pages in {secs:.1}s = {:.0} pages/s; {} chunks ({:.0}/s); {} failed; RSS before {before:.0} MB, peak {:.0} MB",
        report.pages_crawled,
        report.pages_crawled as f64 / secs,
        report.chunks_stored,
        report.chunks_stored as f64 / secs,
        report.pages_failed,
        rss_mb("VmHWM"),
    );
    if let Some(failure) = report.failed.first() {
        println!("  first failure: {} — {}", failure.url, failure.error);
    }
}

fn rss_mb(field: &str) -> f64 {
    status_mb(field).unwrap_or_default()
}

/// Reset the kernel's peak-RSS counter for this process (Linux: "5" > /proc/self/clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
