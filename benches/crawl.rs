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
//! 4. Browser mode (headless Chromium, tab pool), a slice: pages/s; Chromium's memory is its own.
//!
//! Peak RSS is this process's high-water mark (`VmHWM`), reset before each run through
//! `/proc/self/clear_refs`.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench crawl`
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlrag::adapters::chromium::{ChromiumConfig, ChromiumRenderer, find_chromium};
use crawlrag::adapters::http_fetcher::{HttpFetcher, HttpFetcherConfig};
use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::app::{App, ServiceSettings};
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::crawl::{CrawlConfig, Render};
use crawlrag::ports::{Embedder, Renderer};
use crawlrag::process_memory::status_mb;
use crawlrag::progress::NoProgress;

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
    build_site(&site, &sources);
    let Some(server) = Nginx::start(&work, &site) else { return };
    let base = format!("http://127.0.0.1:{}", server.port);
    println!(
        "# crawlrag crawl benchmark: {SITE_PAGES}-page site of {} real pages ({:.1} KB HTML on average), nginx on {base}, concurrency {CONCURRENCY}",
        sources.len(),
        sources.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum::<u64>() as f64
            / sources.len() as f64
            / 1024.0
    );

    let embedder: Arc<dyn Embedder> =
        Arc::new(LocalEmbedder::load(Path::new(&model), DEFAULT_LOCAL_MODEL_NAME).expect("load model"));
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

    match std::env::var_os("CRAWLRAG_CHROMIUM_PATH").map(PathBuf::from).or_else(find_chromium) {
        Some(executable) => {
            let tabs = 8;
            let renderer: Arc<dyn Renderer> = Arc::new(ChromiumRenderer::new(ChromiumConfig {
                executable,
                tabs,
                timeout: Duration::from_secs(30),
                allow_private_networks: true,
                trusted_hosts: Default::default(),
            }));
            let browser = app("browser", Some(renderer)).await;
            let request = CrawlRequest { index: false, ..crawl(&base, 300, Render::Browser) };
            measure(&browser, &format!("browser ({tabs} tabs), no indexing, 300 pages"), &request).await;
        }
        None => println!("browser mode: skipped (no Chromium; scripts/chromium.sh installs it)"),
    }
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

fn source_pages() -> Vec<PathBuf> {
    let rust_book = common::rust_book_dir();
    let dir = std::env::var_os("CRAWLRAG_BENCH_HTML_DIR").map(PathBuf::from).or(rust_book).unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                // print.html is the whole book on one 1.9 MB page: every other page again.
                .filter(|p| p.extension().is_some_and(|e| e == "html") && !p.ends_with("print.html"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `page-{i}.html` symlinked to source page `i mod n`, and a sitemap listing them all.
fn build_site(site: &Path, sources: &[PathBuf]) {
    std::fs::create_dir_all(site).expect("site dir");
    let mut sitemap = String::from("<?xml version=\"1.0\"?><urlset>");
    for i in 0..SITE_PAGES {
        let name = format!("page-{i}.html");
        let _ = std::os::unix::fs::symlink(&sources[i % sources.len()], site.join(&name));
        sitemap.push_str(&format!("<url><loc>/{name}</loc></url>"));
    }
    sitemap.push_str("</urlset>");
    std::fs::write(site.join("sitemap.xml"), sitemap).expect("sitemap");
}

/// nginx serving the site, stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(work: &Path, site: &Path) -> Option<Self> {
        let Some(binary) = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|p| p.is_file())
        else {
            println!("crawl benchmark: skipped (nginx not installed; scripts/nginx.sh installs it)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        // Running as root, workers would switch to `nobody`, who cannot read a toolchain under /root.
        let user = if std::env::var("USER").as_deref() == Ok("root") || is_root() { "user root;" } else { "" };
        let conf = format!(
            "{user}\nworker_processes 2;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/nginx-error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; types {{ text/html html; application/xml xml; }}\n\
               server {{ listen 127.0.0.1:{port}; root {site}; }} }}\n",
            work = work.display(),
            site = site.display(),
        );
        let conf_path = work.join("nginx.conf");
        std::fs::write(&conf_path, conf).ok()?;
        let child =
            Command::new(binary).arg("-p").arg(work).arg("-c").arg(&conf_path).stdout(Stdio::null()).spawn().ok()?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { child, port });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        println!("crawl benchmark: nginx did not start (see {}/nginx-error.log)", work.display());
        None
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(|u| u.split_whitespace().next() == Some("0")))
        .unwrap_or(false)
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
