//! A generated documentation site on 127.0.0.1 for crawler tests: linked pages, robots.txt with a
//! disallowed folder and a crawl delay, sitemaps (plain, index, gzip, one listing another host),
//! an llms.txt, a calendar trap, a flaky page (503 then 200), and broken sitemaps (truncated, a
//! gzip bomb). Counts every request so tests can prove what was (not) fetched.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Pages `page-0.html` .. `page-{PAGES-1}.html` under /docs/.
pub const PAGES: usize = 40;

/// `/slow-sitemap.xml` lists this many `/slow/page-{i}.html` pages, each answering after
/// [`SLOW_PAGE_DELAY`]: a crawl that takes a while, for job tests.
pub const SLOW_PAGES: usize = 12;
pub const SLOW_PAGE_DELAY: std::time::Duration = std::time::Duration::from_millis(400);

#[derive(Clone, Default)]
struct Hits(Arc<Mutex<HashMap<String, usize>>>);

impl Hits {
    fn record(&self, path: &str) -> usize {
        let mut hits = self.0.lock().unwrap();
        let n = hits.entry(path.to_owned()).or_default();
        *n += 1;
        *n
    }
}

#[derive(Debug, Clone)]
pub struct DocsSite {
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Page i links to pages i+1 and i+10 (so depth bounds are exact), the index, and the blog.
fn page(i: usize) -> String {
    let topic = ["parsers", "allocators", "schedulers", "codecs", "indexes"][i % 5];
    format!(
        "<html><head><title>Page {i}</title></head><body><main><h1>Page {i}: {topic}</h1>\
         <p>This page documents component number {i}, which belongs to the {topic} family. It explains \
         configuration, failure modes and tuning of component {i} in detail.</p>\
         <a href=\"/docs/page-{}.html\">next</a> <a href=\"page-{}.html#section\">ten ahead</a> \
         <a href=\"/docs/index.html?utm_source=nav\">index</a> <a href=\"/blog/post.html\">blog</a></main></body></html>",
        i + 1,
        i + 10
    )
}

fn index() -> String {
    let links: String = (0..10).map(|i| format!("<li><a href=\"/docs/page-{i}.html\">Page {i}</a></li>")).collect();
    format!(
        "<html><head><title>Docs</title></head><body><main><h1>Documentation index</h1><ul>{links}</ul>\
         <a href=\"/docs/private/secret.html\">secret</a> <a href=\"/docs/cal?month=1\">calendar</a> \
         <a href=\"https://example.org/elsewhere\">elsewhere</a></main></body></html>"
    )
}

fn urlset(base: &str, range: std::ops::Range<usize>, extra: &[&str]) -> String {
    let mut locs: Vec<String> = range.map(|i| format!("{base}/docs/page-{i}.html")).collect();
    locs.extend(extra.iter().map(|s| (*s).to_owned()));
    let urls: String = locs.iter().map(|l| format!("<url><loc>{l}</loc></url>")).collect();
    format!("<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{urls}</urlset>")
}

async fn route(
    State((hits, base)): State<(Hits, String)>,
    uri: Uri,
    query: Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_owned();
    let n = hits.record(&path);
    let page_number =
        path.strip_prefix("/docs/page-").and_then(|n| n.strip_suffix(".html")).and_then(|n| n.parse::<usize>().ok());
    if let Some(i) = path.strip_prefix("/slow/page-").and_then(|n| n.strip_suffix(".html")) {
        tokio::time::sleep(SLOW_PAGE_DELAY).await;
        return html(page(i.parse().unwrap_or(0)));
    }
    if let Some(i) = page_number {
        return if i < PAGES { html(page(i)) } else { (StatusCode::NOT_FOUND, "not found").into_response() };
    }
    match path.as_str() {
        "/robots.txt" => "User-agent: *\nDisallow: /docs/private/\nCrawl-delay: 0.01\n".into_response(),
        "/docs/index.html" | "/docs/" => html(index()),
        "/docs/private/secret.html" => html("<main><p>secret</p></main>".into()),
        "/docs/cal" => {
            let month: usize = query.get("month").and_then(|m| m.parse().ok()).unwrap_or(1);
            html(format!(
                "<main><h1>Calendar month {month}</h1><p>No events this month.</p><a href=\"/docs/cal?month={}\">next month</a></main>",
                month + 1
            ))
        }
        "/docs/flaky.html" if n == 1 => {
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "0")], "busy").into_response()
        }
        "/docs/flaky.html" => html("<main><h1>Flaky</h1><p>Served on the second attempt.</p></main>".into()),
        "/blog/post.html" => html("<main><p>blog post outside the docs</p></main>".into()),
        "/llms.txt" => (
            [(header::CONTENT_TYPE, "text/plain")],
            "# Widgets\n\n> Widgets compact telemetry.\n\n- [Docs](/docs/index.html)\n",
        )
            .into_response(),
        "/sitemap.xml" => xml(urlset(&base, 0..20, &["http://other.invalid/page.html"])),
        "/sitemap_index.xml" => xml(format!(
            "<?xml version=\"1.0\"?><sitemapindex><sitemap><loc>{base}/sitemap-a.xml</loc></sitemap>\
             <sitemap><loc>/sitemap-b.xml.gz</loc></sitemap></sitemapindex>"
        )),
        "/slow-sitemap.xml" => xml(format!(
            "<?xml version=\"1.0\"?><urlset>{}</urlset>",
            (0..SLOW_PAGES).map(|i| format!("<url><loc>{base}/slow/page-{i}.html</loc></url>")).collect::<String>()
        )),
        "/sitemap-a.xml" => xml(urlset(&base, 20..30, &[])),
        "/sitemap-b.xml.gz" => {
            ([(header::CONTENT_TYPE, "application/gzip")], gz(urlset(&base, 30..40, &[]).as_bytes())).into_response()
        }
        "/broken-sitemap.xml" => xml(urlset(&base, 0..5, &[])[..150].to_owned()),
        "/bomb-sitemap.xml.gz" => {
            ([(header::CONTENT_TYPE, "application/gzip")], gz(&vec![b' '; 64 * 1024 * 1024])).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

impl DocsSite {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind docs site");
        let addr = listener.local_addr().expect("addr");
        let hits = Hits::default();
        let state = (hits.clone(), format!("http://{addr}"));
        let router = Router::new().fallback(get(route)).with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, hits: hits.0 }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn source_id(&self) -> String {
        self.addr.to_string()
    }

    /// How many times `path` was requested.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}
