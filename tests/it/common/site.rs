//! A fixture web site served over HTTP on 127.0.0.1: documentation pages with known answers,
//! an unrelated page, and every bad-input case (binary, oversized, 404, redirect loop).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

pub const INSTALL_PAGE: &str = r#"<!doctype html><html><head><title>Installing Frobnicator</title></head>
<body><nav><a href="/docs/install.html">Install</a> <a href="/docs/config.html">Config</a></nav>
<main>
<h1>Installing Frobnicator</h1>
<p>Frobnicator is a command-line tool that compacts telemetry archives. This page explains how to
install it on Linux, macOS and Windows.</p>
<h2>Requirements</h2>
<p>You need Rust 1.80 or newer and about 200 MB of free disk space.</p>
<h2>Install with cargo</h2>
<p>To install Frobnicator, run the cargo installer with the locked flag:</p>
<pre><code class="language-sh">cargo install frobnicator --locked
frobnicator --version</code></pre>
<p>After installation the <code>frobnicator</code> binary is on your PATH. See the
<a href="/docs/config.html">configuration guide</a> or the <a href="https://example.org/upstream">upstream project</a>.</p>
</main><footer>Copyright Frobnicator authors</footer></body></html>"#;

pub const CONFIG_PAGE: &str = r#"<!doctype html><html><head><title>Configuring Frobnicator</title></head>
<body><main>
<h1>Configuration</h1>
<p>Frobnicator reads its settings from the configuration file <code>~/.frobrc</code>, written in TOML.</p>
<h2>Compression level</h2>
<p>The <code>level</code> key sets the compression level from 1 (fastest) to 9 (smallest archives).
The default level is 6.</p>
<h2>Archive retention</h2>
<p>The <code>retention_days</code> key deletes archives older than the given number of days.</p>
</main></body></html>"#;

pub const PASTA_PAGE: &str = r#"<!doctype html><html><head><title>Cooking pasta</title></head>
<body><article>
<h1>How to cook pasta</h1>
<p>Bring a large pot of water to a rolling boil and salt it generously, about ten grams of salt per
litre. Add the spaghetti and stir during the first minute so it does not stick.</p>
<p>Cook until al dente, usually nine to eleven minutes, then drain and toss with the sauce.</p>
</article></body></html>"#;

/// Error codes that differ only in digit order: one page each, identical prose otherwise, so only
/// exact keyword matching can tell them apart.
pub const ERROR_CODES: [&str; 12] = [
    "QX7731", "QX7713", "QX7371", "QX7317", "QX7173", "QX7137", "QX3771", "QX3717", "QX3177", "QX1773", "QX1737",
    "QX1377",
];

fn error_page(code: &str) -> String {
    format!(
        "<html><head><title>Error {code}</title></head><body><main><h1>Error {code}</h1>\
         <p>The widget service stopped the current operation and wrote error {code} to its log. Retry the \
         operation after checking the service configuration and the network connection.</p></main></body></html>"
    )
}

/// A page with two long code examples (python, rust) and one short snippet.
pub const EXAMPLES_PAGE: &str = r#"<html><head><title>Examples</title></head><body><main>
<h1>Examples</h1>
<h2>Reading the configuration file</h2>
<p>Load the TOML settings file and fall back to defaults when a key is missing:</p>
<pre><code class="language-python">import tomllib
from pathlib import Path

DEFAULTS = {"level": 6, "retention_days": 30, "archive_dir": "~/archives"}

def load_settings(path: str = "~/.frobrc") -> dict:
    """Read the TOML configuration file, merging it over the defaults."""
    file = Path(path).expanduser()
    if not file.exists():
        return dict(DEFAULTS)
    with file.open("rb") as handle:
        settings = tomllib.load(handle)
    return {**DEFAULTS, **settings}
</code></pre>
<h2>Compressing an archive</h2>
<p>Compress every file of a directory into one archive with a progress counter:</p>
<pre><code class="language-rust">use std::fs;
use std::io::{self, Write};

fn compress_dir(dir: &amp;str, out: &amp;mut impl Write) -> io::Result&lt;usize&gt; {
    let mut count = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let bytes = fs::read(&amp;path)?;
        out.write_all(&amp;bytes)?;
        count += 1;
        eprintln!("compressed {} files", count);
    }
    Ok(count)
}
</code></pre>
<p>Check the version with a one-liner:</p>
<pre><code class="language-sh">frobnicator --version</code></pre>
</main></body></html>"#;

/// A page that sends the browser elsewhere at once (old chapter names in mdBook sites do this).
pub const REFRESH_PAGE: &str = r#"<!doctype html><html><head><meta http-equiv="refresh" content="0; url=/docs/install.html">
<title>Moved</title></head><body><p>Moved to <a href="/docs/install.html">install</a>.</p></body></html>"#;

/// A page whose script moves the browser on after it loaded.
pub const SCRIPT_REDIRECT_PAGE: &str = r#"<!doctype html><html><head><title>Redirecting</title></head><body><p>One moment.</p>
<script>setTimeout(function () { location.replace('/docs/config.html'); }, 150);</script></body></html>"#;

/// A single-page-app shell: its content exists only after scripts run, part of it after a timer.
pub const JS_PAGE: &str = r#"<!doctype html><html><head><title>Loading</title></head><body><div id="app"></div>
<script>
document.title = 'Quantum widget manual';
document.getElementById('app').innerHTML = '<main><h1>Quantum widgets</h1><p>Quantum widgets entangle telemetry streams so that archives compress twice as well as before.</p></main>';
setTimeout(function () {
  var p = document.createElement('p');
  p.textContent = 'Late paragraph: calibrate the flux capacitor every Tuesday morning.';
  document.querySelector('main').appendChild(p);
}, 300);
</script></body></html>"#;

/// A page that shows its content only to browsers that do not look automated, and adds a late
/// section 1.5 s after load (past the settle rule; only `wait_for_selector` catches it).
pub const BOT_CHECK_PAGE: &str = r#"<!doctype html><html><head><title>Plans</title></head><body><main id="root"></main>
<script>
var bot = navigator.webdriver || /Headless/.test(navigator.userAgent) || navigator.plugins.length === 0
  || !navigator.languages || navigator.languages.length === 0;
var root = document.getElementById('root');
root.innerHTML = bot ? '<p>Access denied: automated browser detected.</p>'
  : '<h1>Pricing</h1><p>The team plan costs 42 euros per seat each month, billed yearly.</p>';
if (!bot) setTimeout(function () {
  root.insertAdjacentHTML('beforeend', '<div id="late"><p>Enterprise plans are negotiated with the sales team.</p></div>');
}, 1500);
</script></body></html>"#;

/// A page whose script reads an "internal service" (this site under the name `localhost`) and
/// writes what it got into the page: what an SSRF through the browser would store.
pub const SSRF_PAGE: &str = r#"<!doctype html><html><head><title>Status</title></head><body><main>
<h1>Service status</h1><p>The status of every service appears below once it has been fetched.</p><p id="out">pending</p>
<script>
fetch('http://localhost:' + location.port + '/internal/secret.txt')
  .then(function (r) { return r.text(); })
  .then(function (t) { document.getElementById('out').textContent = 'LEAKED ' + t; })
  .catch(function () { document.getElementById('out').textContent = 'request refused'; });
</script></main></body></html>"#;

/// A page in the style of a blog post: a short share line, a byline and real paragraphs, inside
/// an `<article>` next to a sidebar inside `<main>`.
pub const BLOG_PAGE: &str = r#"<!doctype html><html><head><title>Release 2.0</title></head><body><main>
<aside><p>Popular posts</p><p>Tag cloud</p></aside>
<article><h1>Release 2.0 is out</h1><p>Share this</p>
<p>Frobnicator 2.0 compresses telemetry archives forty percent faster than the previous release did.</p>
<p>Upgrading keeps every existing archive readable, so no migration step is needed at all.</p></article>
</main></body></html>"#;

/// A long page: several sections that must become several chunks.
pub fn long_page() -> String {
    let mut html =
        String::from("<html><head><title>Frobnicator reference</title></head><body><main><h1>Reference</h1>");
    for section in 0..12 {
        html.push_str(&format!("<h2>Command {section}</h2>"));
        for para in 0..4 {
            html.push_str(&format!(
                "<p>The subcommand number {section} accepts option {para}. It validates its input, reports \
                 progress and writes a summary of the work it performed to standard error when done.</p>"
            ));
        }
    }
    html.push_str("</main></body></html>");
    html
}

/// What one fixture site counts and toggles; tests read and flip it through [`Site::state`].
#[derive(Debug, Default)]
pub struct SiteState {
    /// Fetches of `/docs/changing.html` (its content changes with each).
    pub versions: AtomicUsize,
    /// Full (200) responses of `/docs/etag.html`, to prove re-crawls got 304s instead.
    pub etag_full_responses: AtomicUsize,
    /// When set, `/docs/retired.html` answers 410 Gone.
    pub retired: AtomicBool,
}

fn router(state: &'static SiteState) -> Router {
    Router::new()
        .route(
            "/docs/etag.html",
            get(move |headers: axum::http::HeaderMap| async move {
                let etag = "\"release-7\"";
                if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == etag) {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                state.etag_full_responses.fetch_add(1, Ordering::SeqCst);
                (
                    [
                        (header::CONTENT_TYPE, "text/html"),
                        (header::ETAG, etag),
                        (header::LAST_MODIFIED, "Tue, 03 Nov 2026 10:00:00 GMT"),
                    ],
                    "<html><body><main><h1>Cached</h1><p>This page carries an ETag so that re-crawls can ask \
                     whether it changed.</p></main></body></html>",
                )
                    .into_response()
            }),
        )
        .route(
            "/docs/retired.html",
            get(move || async move {
                if state.retired.load(Ordering::SeqCst) {
                    return (StatusCode::GONE, "this page was removed").into_response();
                }
                html(
                    "<html><body><main><h1>Legacy exporter</h1><p>The legacy exporter writes CSV files \
                      nightly.</p></main></body></html>"
                        .to_owned(),
                )
                .into_response()
            }),
        )
        .route(
            "/retire-sitemap.xml",
            get(move |headers: axum::http::HeaderMap| async move {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
                (
                    [(header::CONTENT_TYPE, "application/xml")],
                    format!(
                        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                         <url><loc>http://{host}/docs/install.html</loc></url>\
                         <url><loc>http://{host}/docs/retired.html</loc></url></urlset>"
                    ),
                )
            }),
        )
        .route(
            "/docs/changing.html",
            get(move || {
                let version = state.versions.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    html(format!(
                        "<html><body><main><h1>Release notes</h1><p>This is release notes version {version}. \
                    It changes every time the page is fetched.</p></main></body></html>"
                    ))
                }
            }),
        )
        .route(
            "/errors/{page}",
            get(|axum::extract::Path(page): axum::extract::Path<String>| async move {
                match page.strip_suffix(".html").filter(|code| ERROR_CODES.contains(code)) {
                    Some(code) => html(error_page(code)).into_response(),
                    None => (StatusCode::NOT_FOUND, "no such error").into_response(),
                }
            }),
        )
        .route("/docs/examples.html", get(|| async { html(EXAMPLES_PAGE.to_owned()) }))
        .route("/js/app.html", get(|| async { html(JS_PAGE.to_owned()) }))
        .route("/js/plans.html", get(|| async { html(BOT_CHECK_PAGE.to_owned()) }))
        .route("/js/ssrf.html", get(|| async { html(SSRF_PAGE.to_owned()) }))
        .route("/js/refresh.html", get(|| async { html(REFRESH_PAGE.to_owned()) }))
        .route("/js/script-redirect.html", get(|| async { html(SCRIPT_REDIRECT_PAGE.to_owned()) }))
        .route(
            "/internal/secret.txt",
            get(|| async { ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], "metadata-token-1234") }),
        )
        .route("/blog/release-2.html", get(|| async { html(BLOG_PAGE.to_owned()) }))
        .route("/docs/install.html", get(|| async { html(INSTALL_PAGE.to_owned()) }))
        .route("/docs/config.html", get(|| async { html(CONFIG_PAGE.to_owned()) }))
        .route("/blog/pasta.html", get(|| async { html(PASTA_PAGE.to_owned()) }))
        .route("/docs/reference.html", get(|| async { html(long_page()) }))
        .route(
            "/llms.txt",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "# Frobnicator\n\n> Compacts telemetry archives.\n",
                )
            }),
        )
        .route(
            "/image.png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0x89u8, b'P', b'N', b'G', 0, 0, 0, 13]) }),
        )
        .route("/download.bin", get(|| async { vec![0u8, 1, 2, 3, 0, 255] }))
        .route(
            "/mislabelled.html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], vec![0x7fu8, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0]) }),
        )
        .route(
            "/huge.html",
            get(|| async {
                let mut body = String::from("<html><body><main>");
                body.push_str(&"<p>padding text that makes this page far too large</p>".repeat(40_000));
                body.push_str("</main></body></html>");
                html(body)
            }),
        )
        .route("/loop/a", get(|| async { Redirect::temporary("/loop/b") }))
        .route("/loop/b", get(|| async { Redirect::temporary("/loop/a") }))
        .route("/moved", get(|| async { Redirect::permanent("/docs/install.html") }))
        .route("/empty.html", get(|| async { html("<html><body><main>   </main></body></html>".to_owned()) }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page") })
}

fn html(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}

/// A running fixture site; it stops when the test's runtime ends.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    pub addr: SocketAddr,
    pub state: &'static SiteState,
}

impl Site {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fixture site");
        let addr = listener.local_addr().expect("fixture addr");
        // Leaked on purpose: a few bytes per test, and the router needs it for 'static.
        let state: &'static SiteState = Box::leak(Box::default());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router(state)).await;
        });
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The source id crawlrag gives pages of this site (`host:port`).
    pub fn source_id(&self) -> String {
        self.addr.to_string()
    }
}
