//! Getting pages: plain HTTP fetches (`Fetcher`) and browser renders (`Renderer`), and the
//! errors both speak.

use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::domain::Validators;

/// What a fetch is for: it decides which content types are accepted and how the body comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// HTML, plain text or Markdown, decoded to text; binary bodies are refused.
    Page,
    /// XML, gzip or text (sitemaps, robots.txt), returned as raw bytes.
    Raw,
}

/// A fetched HTTP body that passed the size and content-type checks.
#[derive(Debug, Clone)]
pub struct FetchedBody {
    /// URL after redirects.
    pub final_url: Url,
    /// MIME type without parameters, lowercase (e.g. `text/html`).
    pub content_type: String,
    /// Decoded text for [`Accept::Page`]; lossy UTF-8 of the bytes for [`Accept::Raw`].
    pub text: String,
    /// The raw body for [`Accept::Raw`]; empty for pages.
    pub bytes: Vec<u8>,
    pub validators: Validators,
}

/// The outcome of a conditional fetch.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "returned once per fetch, never stored in bulk")]
pub enum Fetched {
    Body(FetchedBody),
    /// The server answered 304: the stored copy is current.
    NotModified,
}

/// Why a fetch failed; every variant reads as an actionable sentence.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("refused to fetch {url}: {reason} (set CRAWLRAG_ALLOW_PRIVATE_NETWORKS=true to allow private targets)")]
    Blocked { url: String, reason: String },
    #[error("could not connect to {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("timed out after {0:?} fetching {1}")]
    Timeout(Duration, String),
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16, retry_after: Option<Duration> },
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("too many redirects (more than {max}) starting at {url}")]
    TooManyRedirects { url: String, max: usize },
    #[error("{url} has content type '{content_type}', which is not a text page (HTML, plain text or Markdown)")]
    UnsupportedContentType { url: String, content_type: String },
    #[error("{url} is larger than the page size cap of {cap} bytes")]
    TooLarge { url: String, cap: usize },
    #[error("fetching {url} failed: {reason}")]
    Other { url: String, reason: String },
}

/// Fetches one URL's text body.
#[async_trait]
pub trait Fetcher: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// A [`FetchError`] naming the URL and what went wrong.
    async fn fetch(&self, url: &Url, accept: Accept) -> Result<FetchedBody, FetchError>;

    /// Fetch unless the page is unchanged since `known` (If-None-Match / If-Modified-Since).
    ///
    /// # Errors
    /// As [`Fetcher::fetch`].
    async fn fetch_if_changed(&self, url: &Url, accept: Accept, known: &Validators) -> Result<Fetched, FetchError> {
        let _ = known;
        self.fetch(url, accept).await.map(Fetched::Body)
    }
}

/// How a browser render behaves beyond loading the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderOptions {
    /// Hide common automation fingerprints (navigator.webdriver, headless user agent, languages,
    /// plugins, WebGL vendor) before any page script runs.
    pub stealth: bool,
    /// Wait until this CSS selector matches before reading the page.
    pub wait_for_selector: Option<String>,
    /// Extra time to wait after the page settled (for late content).
    pub extra_wait: Duration,
}

/// Renders a page in a real browser (JavaScript executed) and returns the live DOM as HTML.
#[async_trait]
pub trait Renderer: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// A [`FetchError`] naming the URL and what went wrong (refused target, timeout, browser
    /// failure, a `wait_for_selector` that never appeared).
    async fn render(&self, url: &Url, options: &RenderOptions) -> Result<FetchedBody, FetchError>;
}
