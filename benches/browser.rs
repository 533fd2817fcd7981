//! Browser-mode crawl benchmark, side by side with Crawl4AI in the same run: prints figures,
//! never fails on time.
//!
//! One nginx-served site of 300 real documentation pages (the Rust book that ships with the
//! toolchain, or `CRAWLRAG_BENCH_HTML_DIR`), rendered in the system Chromium by both crawlers at
//! the same concurrency (10; `CRAWLRAG_BENCH_CONCURRENCY`), fetch + render + Markdown only (no
//! indexing on either side):
//!
//! - crawlrag: a sitemap crawl with `render = browser` through its `ChromiumRenderer`, in this
//!   process;
//! - Crawl4AI (installed into a venv by `scripts/crawl4ai.sh`): `arun_many` over the same URLs,
//!   driving its own Chromium over CDP (`benches/peers/crawl4ai_crawl.py`).
//!
//! Memory is the peak PSS of each side's whole process tree (the crawler and every Chromium
//! process it started), sampled every 100 ms from `/proc/<pid>/smaps_rollup`.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench browser`
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crawlrag::adapters::chromium::{ChromiumConfig, ChromiumRenderer, find_chromium};
use crawlrag::adapters::http_fetcher::{HttpFetcher, HttpFetcherConfig};
use crawlrag::adapters::memory::{HashEmbedder, MemoryStore};
use crawlrag::app::{App, ServiceSettings};
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::crawl::{CrawlConfig, Render};
use crawlrag::ports::Renderer;
use crawlrag::progress::NoProgress;

use common::site::{Nginx, build_site, source_pages};

const PAGES: usize = 300;
const DEFAULT_CONCURRENCY: usize = 10;

fn main() {
    // `cargo test --all-targets` also runs this binary: only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("browser benchmark: run it with `cargo bench --bench browser`");
        return;
    }
    crawlrag::process_memory::return_freed_memory_promptly();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

/// One side's figures.
struct Run {
    pages: usize,
    failed: usize,
    seconds: f64,
    peak_pss_mb: f64,
}

async fn run() {
    let Some(chromium) = std::env::var_os("CRAWLRAG_CHROMIUM_PATH").map(PathBuf::from).or_else(find_chromium) else {
        println!("browser benchmark: skipped (no Chromium; scripts/chromium.sh installs it)");
        return;
    };
    // Redirect stubs (`<meta http-equiv="refresh">` to a chapter's old name) point outside the
    // generated site: neither crawler could store anything from them.
    let sources: Vec<PathBuf> = source_pages()
        .into_iter()
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|html| !html.contains("http-equiv=\"refresh\"")))
        .collect();
    if sources.is_empty() {
        println!("browser benchmark: skipped (no HTML pages found; set CRAWLRAG_BENCH_HTML_DIR)");
        return;
    }
    let concurrency =
        std::env::var("CRAWLRAG_BENCH_CONCURRENCY").ok().and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_CONCURRENCY);
    let work = std::env::temp_dir().join(format!("crawlrag-browser-bench-{}", std::process::id()));
    let site = work.join("site");
    build_site(&site, &sources, PAGES);
    let Some(server) = Nginx::start(&work, &site) else { return };
    let base = format!("http://127.0.0.1:{}", server.port);
    let version =
        Command::new(&chromium).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    println!(
        "# browser crawl: {PAGES} pages of real documentation on nginx ({base}), concurrency {concurrency}, {} ({})",
        version.unwrap_or_default(),
        chromium.display()
    );

    let ours = crawlrag_side(&chromium, &base, concurrency).await;
    let theirs = if std::env::var("CRAWLRAG_BENCH_PEER").is_ok_and(|v| v == "0") {
        None
    } else {
        crawl4ai_side(&chromium, &base, concurrency)
    };
    println!();
    println!("| crawler | pages | failed | seconds | pages/s | peak PSS of the process tree |");
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, r: &Run| {
        println!(
            "| {name} | {} | {} | {:.1} | {:.1} | {:.0} MiB |",
            r.pages,
            r.failed,
            r.seconds,
            r.pages as f64 / r.seconds,
            r.peak_pss_mb
        );
    };
    row("crawlrag", &ours);
    match &theirs {
        Some(theirs) => {
            row("Crawl4AI 0.9.5", theirs);
            let speed = (ours.pages as f64 / ours.seconds) / (theirs.pages as f64 / theirs.seconds);
            println!();
            println!(
                "crawlrag vs Crawl4AI: {speed:.2}x the pages/s at {:.2}x the memory",
                ours.peak_pss_mb / theirs.peak_pss_mb
            );
        }
        None => println!("| Crawl4AI | (not run: see above) | | | | |"),
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
}

async fn crawlrag_side(chromium: &std::path::Path, base: &str, concurrency: usize) -> Run {
    let renderer: Arc<dyn Renderer> = Arc::new(ChromiumRenderer::new(ChromiumConfig {
        executable: chromium.to_owned(),
        tabs: concurrency,
        timeout: Duration::from_secs(30),
        allow_private_networks: true,
        trusted_hosts: Default::default(),
    }));
    // Nothing is embedded or stored (a dry run), so the in-memory ports stand in for the store.
    let fetcher =
        HttpFetcher::new(HttpFetcherConfig { allow_private_networks: true, ..Default::default() }).expect("fetcher");
    let settings = ServiceSettings {
        crawl: CrawlConfig { per_host_concurrency: concurrency, ..CrawlConfig::default() },
        renderer: Some(renderer),
        ..ServiceSettings::default()
    };
    let app =
        App::from_parts(Arc::new(MemoryStore::new()), Arc::new(HashEmbedder::new(32)), Arc::new(fetcher), settings)
            .await
            .expect("app");
    let request = CrawlRequest {
        max_pages: PAGES,
        max_concurrent: concurrency,
        render: Render::Browser,
        index: false,
        ..CrawlRequest::new(format!("{base}/sitemap.xml"))
    };
    let sampler = PssSampler::start(std::process::id());
    let started = Instant::now();
    let report = app.crawler.smart_crawl(&request, &NoProgress).await.expect("crawl");
    let seconds = started.elapsed().as_secs_f64();
    for failure in report.failed.iter().take(3) {
        println!("crawlrag: failed: {} — {}", failure.url, failure.error);
    }
    Run { pages: report.pages_crawled, failed: report.pages_failed, seconds, peak_pss_mb: sampler.stop() }
}

fn crawl4ai_side(chromium: &std::path::Path, base: &str, concurrency: usize) -> Option<Run> {
    let python = match Command::new("scripts/crawl4ai.sh").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => {
            println!("Crawl4AI: not installed: {}", String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        Err(e) => {
            println!("Crawl4AI: cannot run scripts/crawl4ai.sh: {e}");
            return None;
        }
    };
    let urls = (0..PAGES).map(|i| format!("{base}/page-{i}.html"));
    let child = Command::new(python)
        .arg("benches/peers/crawl4ai_crawl.py")
        .arg(chromium)
        .arg(concurrency.to_string())
        .args(urls)
        .env("CRAWL4AI_NO_CLOUD_NOTICE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let sampler = PssSampler::start(child.id());
    let out = child.wait_with_output().ok()?;
    let peak_pss_mb = sampler.stop();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        println!("Crawl4AI: no result (exit {:?})", out.status.code());
        return None;
    };
    let result: serde_json::Value = serde_json::from_str(line).ok()?;
    for error in result["errors"].as_array().into_iter().flatten() {
        println!("Crawl4AI: failed: {}", error.as_str().unwrap_or_default());
    }
    let count = |k: &str| usize::try_from(result[k].as_u64().unwrap_or(0)).unwrap_or(0);
    Some(Run { pages: count("pages"), failed: count("failed"), seconds: result["seconds"].as_f64()?, peak_pss_mb })
}

/// Samples the summed PSS of a process and all its descendants until stopped; answers the peak.
struct PssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl PssSampler {
    fn start(root: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peak = 0.0f64;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(tree_pss_mb(root));
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        });
        Self { stop, thread }
    }

    fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// PSS of `root` and every descendant, in MiB (processes that vanish mid-read count as 0).
fn tree_pss_mb(root: u32) -> f64 {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    let kb: u64 = tree
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|rollup| {
            rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .sum();
    kb as f64 / 1024.0
}
