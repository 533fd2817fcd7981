//! Vertical-slice benchmark: prints figures, never fails on time.
//!
//! 1. HTML -> Markdown + chunking per page, over a local page set: the HTML files under
//!    `CRAWLRAG_BENCH_HTML_DIR` (default: Debian's Python docs at /usr/share/doc/python3.11/html
//!    when installed, else the Rust book shipped with the toolchain), else 300 generated pages.
//! 2. GraphRAG entity extraction without a language model (`domain::entity_extract`): chunks/s
//!    of entity extraction plus co-occurrence relations over all chunks, one core.
//! 3. Local embedding throughput (chunks/s) at call batch sizes 1, 16 and 64
//!    (needs `CRAWLRAG_EMBEDDING_MODEL_PATH`).
//! 4. Postgres store insert rate (chunks/s through `replace_page`, one transaction per page;
//!    needs `DATABASE_URL`), in a throwaway schema.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench slice`
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder};
use crawlrag::adapters::postgres::{PgConfig, PgStore};
use crawlrag::crawl::extract::extract_html;
use crawlrag::domain::entity_extract::{extract_entities, related_entities};
use crawlrag::domain::{Chunk, Links, Page, SourceId, split_markdown};
use crawlrag::ports::{Embedder, PageStore, PageWrite, StoreAdmin};
use url::Url;

const CHUNK_SIZE: usize = 1000;

fn main() {
    // `cargo test --all-targets` also runs this binary: only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("slice benchmark: run it with `cargo bench --bench slice`");
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let pages = load_pages();
    println!("# crawlrag slice benchmark ({} pages, {} MB of HTML)", pages.len(), total_mb(&pages));
    let chunks = bench_extract_and_chunk(&pages);
    bench_entity_extraction(&chunks);

    match std::env::var("CRAWLRAG_EMBEDDING_MODEL_PATH") {
        Ok(dir) => bench_embedding(Path::new(&dir), &chunks).await,
        Err(_) => println!("embedding: skipped (CRAWLRAG_EMBEDDING_MODEL_PATH not set)"),
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) => bench_store(&url, &chunks).await,
        Err(_) => println!("store: skipped (DATABASE_URL not set)"),
    }
}

fn load_pages() -> Vec<(String, String)> {
    let rust_book = common::rust_book_dir();
    let dirs: Vec<PathBuf> = match std::env::var("CRAWLRAG_BENCH_HTML_DIR") {
        Ok(dir) => vec![PathBuf::from(dir)],
        Err(_) => std::iter::once(PathBuf::from("/usr/share/doc/python3.11/html")).chain(rust_book).collect(),
    };
    let mut files = Vec::new();
    for dir in dirs {
        collect_html(&dir, &mut files);
        if !files.is_empty() {
            break;
        }
    }
    files.sort();
    let pages: Vec<(String, String)> = files
        .into_iter()
        .take(500)
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|html| (p.display().to_string(), html)))
        .collect();
    if pages.is_empty() { generated_pages() } else { pages }
}

fn collect_html(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_html(&path, out);
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
}

/// Documentation-like pages: nav chrome, headings, prose, lists and code blocks (~40 KB each).
fn generated_pages() -> Vec<(String, String)> {
    (0..300)
        .map(|page| {
            let mut html = format!(
                "<html><head><title>Module {page}</title><script>var x = {page};</script></head><body>\
                 <nav><ul>{}</ul></nav><main><h1>Module {page}</h1>",
                (0..40).map(|i| format!("<li><a href=\"/m{i}.html\">Module {i}</a></li>")).collect::<String>()
            );
            for section in 0..12 {
                html.push_str(&format!("<h2>Function f{section}</h2><p>"));
                html.push_str(&"The function validates its arguments, allocates a buffer and returns a handle. ".repeat(8));
                html.push_str("</p><ul><li>Raises <code>ValueError</code> on bad input.</li><li>Thread safe.</li></ul>");
                html.push_str(&format!(
                    "<pre><code class=\"language-python\">def f{section}(x, y=None):\n    if x is None:\n        raise ValueError('x')\n    return [x] * {section}\n</code></pre>"
                ));
            }
            html.push_str("</main><footer>footer</footer></body></html>");
            (format!("generated/{page}.html"), html)
        })
        .collect()
}

fn total_mb(pages: &[(String, String)]) -> String {
    format!("{:.1}", pages.iter().map(|(_, h)| h.len()).sum::<usize>() as f64 / 1e6)
}

fn bench_extract_and_chunk(pages: &[(String, String)]) -> Vec<Chunk> {
    let base = Url::parse("http://127.0.0.1/").expect("base");
    let started = Instant::now();
    let mut markdown_bytes = 0;
    let mut chunks = Vec::new();
    let mut per_page_ms = Vec::with_capacity(pages.len());
    for (_, html) in pages {
        let page_started = Instant::now();
        let extracted = extract_html(html, &base);
        let page_chunks = split_markdown(&extracted.markdown, CHUNK_SIZE);
        per_page_ms.push(page_started.elapsed().as_secs_f64() * 1e3);
        markdown_bytes += extracted.markdown.len();
        chunks.extend(page_chunks);
    }
    let secs = started.elapsed().as_secs_f64();
    per_page_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| per_page_ms[((per_page_ms.len() - 1) as f64 * p) as usize];
    println!(
        "html->markdown+chunk: {} pages in {secs:.2}s = {:.0} pages/s, {:.1} MB/s of HTML; per page p50 {:.2} ms, p95 {:.2} ms; {} chunks ({:.1} MB markdown)",
        pages.len(),
        pages.len() as f64 / secs,
        pages.iter().map(|(_, h)| h.len()).sum::<usize>() as f64 / 1e6 / secs,
        pct(0.5),
        pct(0.95),
        chunks.len(),
        markdown_bytes as f64 / 1e6
    );
    chunks
}

fn bench_entity_extraction(chunks: &[Chunk]) {
    let started = Instant::now();
    let mentions: Vec<_> = chunks.iter().map(|c| extract_entities(&c.content)).collect();
    let extracted = started.elapsed().as_secs_f64();
    let relations = related_entities(&mentions, 2);
    let secs = started.elapsed().as_secs_f64();
    let distinct: std::collections::HashSet<&str> = mentions.iter().flatten().map(|m| m.key.as_str()).collect();
    println!(
        "entity extraction (no LLM): {} chunks in {secs:.2}s = {:.0} chunks/s on one core ({:.0} without relations); \
         {} distinct entities, {} relations",
        chunks.len(),
        chunks.len() as f64 / secs,
        chunks.len() as f64 / extracted,
        distinct.len(),
        relations.len()
    );
}

async fn bench_embedding(dir: &Path, chunks: &[Chunk]) {
    let loaded = Instant::now();
    let embedder = match LocalEmbedder::load(dir, DEFAULT_LOCAL_MODEL_NAME, common::local_runtime()) {
        Ok(e) => e,
        Err(e) => return println!("embedding: skipped ({e})"),
    };
    println!("embedding: model loaded in {:.2}s", loaded.elapsed().as_secs_f64());
    let texts: Vec<String> = chunks.iter().take(64).map(|c| c.content.clone()).collect();
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    for batch in [1, 16, 64] {
        let started = Instant::now();
        for group in texts.chunks(batch) {
            embedder.embed(group).await.expect("embed");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "embedding: batch {batch:>2}: {} chunks (avg {} chars) in {secs:.2}s = {:.1} chunks/s",
            texts.len(),
            chars / texts.len().max(1),
            texts.len() as f64 / secs
        );
    }
}

async fn bench_store(url: &str, chunks: &[Chunk]) {
    let schema = format!("bench_{}", std::process::id());
    let store =
        match PgStore::connect(&PgConfig { url: url.to_owned(), schema: Some(schema.clone()), max_connections: 4 })
            .await
        {
            Ok(s) => Arc::new(s),
            Err(e) => return println!("store: skipped ({e})"),
        };
    store.ensure_embedding_space("bench:random", 384).await.expect("embedding space");
    let per_page = 10;
    let pages = 200;
    // Chunk numbers must be unique per page: renumber the sampled chunks 0..per_page.
    let sample: Vec<Chunk> =
        chunks.iter().cycle().take(per_page).enumerate().map(|(index, c)| Chunk { index, ..c.clone() }).collect();
    let mut seed = 42u64;
    let vectors: Vec<Vec<f32>> = (0..per_page).map(|_| random_unit(&mut seed)).collect();
    let started = Instant::now();
    for page in 0..pages {
        let url = Url::parse(&format!("http://bench.local/page/{page}")).expect("url");
        let page = Page {
            source_id: SourceId::from_url(&url).expect("source"),
            url,
            title: Some("bench".into()),
            markdown: "bench page".into(),
            links: Links::default(),
            validators: Default::default(),
        };
        store
            .replace_page(PageWrite {
                page: &page,
                chunks: &sample,
                embeddings: &vectors,
                content_hash: "h",
                source_summary: "s",
                code_examples: &[],
                code_embeddings: &[],
            })
            .await
            .expect("insert");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "store (postgres, hnsw index live): {pages} pages x {per_page} chunks in {secs:.2}s = {:.0} chunks/s, {:.0} pages/s",
        (pages * per_page) as f64 / secs,
        pages as f64 / secs
    );
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade"))).execute(store.pool()).await;
}

fn random_unit(seed: &mut u64) -> Vec<f32> {
    let v: Vec<f32> = (0..384)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}
