//! The crawler service: fetch pages (HTTP, or Chromium when a page needs it), extract them to
//! Markdown, and hand each one to a [`PageSink`] (the ingest pipeline implements it). Knows the
//! `Fetcher`, `Renderer` and `PageStore` ports and the sink, never a driver crate or another service.

pub mod extract;
pub mod hosts;
pub mod memory_aware;
pub mod multi;
pub mod robots;
pub mod sink;
pub mod site;
pub mod sitemap;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

use tracing::instrument;

use crate::domain::target::DEFAULT_USER_AGENT;
use ::url::Url;
use extract::ContentProfile;
use serde::{Deserialize, Serialize};
pub use sink::PageSink;

use crate::domain::{IngestOptions, Links, Page, SourceId, Validators, target};
use crate::error::{Error, Result};
use crate::ports::{Accept, FetchError, Fetched, FetchedBody, Fetcher, PageStore, RenderOptions, Renderer};
use crate::progress::ProgressSink;

/// How many links a page has, on its own host and elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LinkCounts {
    pub internal: usize,
    pub external: usize,
}

/// What `crawl_single_page` stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinglePageReport {
    pub url: String,
    pub source_id: SourceId,
    pub title: Option<String>,
    /// Content identical to what was stored: nothing re-embedded.
    pub unchanged: bool,
    pub chunks_stored: usize,
    pub code_examples_stored: usize,
    pub content_length: usize,
    pub total_word_count: usize,
    pub links_count: LinkCounts,
    /// The links themselves (not kept with a job's stored result: the counts are).
    #[serde(skip)]
    pub links: Links,
}

/// How pages are fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Render {
    /// Plain HTTP first; Chromium when the HTML is a script-only shell.
    #[default]
    Auto,
    /// Plain HTTP only (fastest; no JavaScript).
    Http,
    /// Always render in headless Chromium.
    Browser,
}

/// How the pages of one crawl are fetched and extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagePlan {
    pub render: Render,
    /// Browser behaviour when a page is rendered (stealth, selector wait, extra wait).
    pub browser: RenderOptions,
    /// Which part of a page counts as content.
    pub profile: ContentProfile,
}

impl PagePlan {
    pub fn new(render: Render) -> Self {
        Self { render, ..Self::default() }
    }
}

/// Default requests in flight to one host.
pub const DEFAULT_PER_HOST_CONCURRENCY: usize = 8;
/// Largest sitemap accepted after decompression.
pub const DEFAULT_MAX_SITEMAP_BYTES: usize = 50 * 1024 * 1024;

/// Settings of the crawler service.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    /// The user agent robots.txt rules are matched against (the fetcher sends the same).
    pub user_agent: String,
    pub per_host_concurrency: usize,
    /// Minimum spacing of requests to one host (robots.txt Crawl-delay can raise it).
    pub min_host_delay: Duration,
    pub max_sitemap_bytes: usize,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        Self {
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            per_host_concurrency: DEFAULT_PER_HOST_CONCURRENCY,
            min_host_delay: Duration::ZERO,
            max_sitemap_bytes: DEFAULT_MAX_SITEMAP_BYTES,
        }
    }
}

#[derive(Debug)]
pub struct Crawler {
    fetcher: Arc<dyn Fetcher>,
    /// Headless browser, when one is installed.
    renderer: Option<Arc<dyn Renderer>>,
    /// The validators of stored pages, for conditional re-crawls.
    pages: Arc<dyn PageStore>,
    /// Where fetched pages go (the ingest pipeline).
    sink: Arc<dyn PageSink>,
    config: CrawlConfig,
}

/// What the crawler is built from.
#[derive(Debug, Clone)]
pub struct CrawlerParts {
    pub fetcher: Arc<dyn Fetcher>,
    pub renderer: Option<Arc<dyn Renderer>>,
    pub pages: Arc<dyn PageStore>,
    pub sink: Arc<dyn PageSink>,
}

impl Crawler {
    pub fn new(parts: CrawlerParts, config: CrawlConfig) -> Self {
        let CrawlerParts { fetcher, renderer, pages, sink } = parts;
        Self { fetcher, renderer, pages, sink, config }
    }

    /// Like [`Crawler::fetch_page`], but over plain HTTP asks the server whether the stored copy
    /// changed (its validators), so an unchanged page answers 304 and costs no download.
    async fn fetch_page_if_changed(
        &self,
        url: &Url,
        plan: &PagePlan,
        known: &Validators,
    ) -> Result<Fetched, FetchError> {
        if plan.render == Render::Browser || known.is_empty() {
            return self.fetch_page(url, plan).await.map(Fetched::Body);
        }
        match self.fetcher.fetch_if_changed(url, Accept::Page, known).await? {
            Fetched::NotModified => Ok(Fetched::NotModified),
            Fetched::Body(body) => self.upgrade_if_shell(body, plan).await.map(Fetched::Body),
        }
    }

    /// Where this crawler hands its pages (a distributed crawl stores them itself).
    pub(crate) fn sink(&self) -> &dyn PageSink {
        self.sink.as_ref()
    }

    /// The crawler's settings.
    pub(crate) fn config(&self) -> &CrawlConfig {
        &self.config
    }

    /// Whether a browser is available for `render = browser`.
    pub fn can_render(&self) -> bool {
        self.renderer.is_some()
    }

    /// The validators stored for `url` (empty when the page is new).
    pub(crate) async fn known_validators(&self, url: &Url) -> Result<Validators> {
        Ok(self.pages.page_validators(url.as_str()).await?.unwrap_or_default())
    }

    /// In `auto` mode, render a script-only shell in the browser (when one is available).
    async fn upgrade_if_shell(&self, body: FetchedBody, plan: &PagePlan) -> Result<FetchedBody, FetchError> {
        let shell =
            plan.render == Render::Auto && body.content_type.contains("html") && extract::looks_script_only(&body.text);
        match (&self.renderer, shell) {
            (Some(renderer), true) => renderer.render(&body.final_url, &plan.browser).await,
            _ => Ok(body),
        }
    }

    /// Fetch a page over HTTP or in the browser, as the plan says.
    async fn fetch_page(&self, url: &Url, plan: &PagePlan) -> Result<FetchedBody, FetchError> {
        let renderer = || {
            self.renderer.as_ref().ok_or_else(|| FetchError::Other {
                url: url.to_string(),
                reason: "browser rendering needs Chromium: install it (apt-get install chromium) or set CRAWLRAG_CHROMIUM_PATH".into(),
            })
        };
        match plan.render {
            Render::Http => self.fetcher.fetch(url, Accept::Page).await,
            Render::Browser => renderer()?.render(url, &plan.browser).await,
            Render::Auto => {
                let body = self.fetcher.fetch(url, Accept::Page).await?;
                self.upgrade_if_shell(body, plan).await
            }
        }
    }

    /// Fetch one page, convert it to Markdown, chunk, embed and store it.
    ///
    /// # Errors
    /// `BadInput` for invalid or refused URLs, HTTP errors, non-text bodies and oversized pages;
    /// `Unavailable`/`Timeout` for unreachable hosts and failing dependencies.
    #[instrument(skip(self, progress), fields(tool = "crawl_single_page"))]
    pub async fn crawl_single_page(
        &self,
        raw_url: &str,
        chunk_size: Option<usize>,
        plan: &PagePlan,
        progress: &dyn ProgressSink,
    ) -> Result<SinglePageReport> {
        let url = target::parse_target(raw_url).map_err(Error::BadInput)?;
        progress.report(0, None, "fetching page").await;
        // An explicit chunk size means "re-chunk": fetch the body even if unchanged.
        let fetched = if chunk_size.is_some() {
            Fetched::Body(self.fetch_page(&url, plan).await?)
        } else {
            let known = self.known_validators(&url).await?;
            self.fetch_page_if_changed(&url, plan, &known).await?
        };
        let body = match fetched {
            Fetched::Body(body) => body,
            Fetched::NotModified => {
                return Ok(SinglePageReport {
                    source_id: SourceId::from_url(&url)
                        .ok_or_else(|| Error::bad_input(format!("{url} has no host")))?,
                    url: url.to_string(),
                    title: None,
                    unchanged: true,
                    chunks_stored: 0,
                    code_examples_stored: 0,
                    content_length: 0,
                    total_word_count: 0,
                    links_count: LinkCounts::default(),
                    links: Links::default(),
                });
            }
        };
        let page = to_page(body, plan.profile).await?;
        let options = IngestOptions { chunk_size, graph: None };
        let report = self.sink.store_page(&page, &options, progress).await?;
        Ok(SinglePageReport {
            url: page.url.to_string(),
            source_id: page.source_id,
            title: page.title,
            unchanged: report.unchanged,
            chunks_stored: report.chunks_stored,
            code_examples_stored: report.code_examples_stored,
            content_length: report.content_length,
            total_word_count: report.word_count,
            links_count: LinkCounts { internal: page.links.internal.len(), external: page.links.external.len() },
            links: page.links,
        })
    }
}

/// Extract a fetched body into a `Page` off the async runtime (HTML parsing is CPU-bound).
async fn to_page(body: FetchedBody, profile: ContentProfile) -> Result<Page> {
    let source_id = SourceId::from_url(&body.final_url)
        .ok_or_else(|| Error::bad_input(format!("{} has no host", body.final_url)))?;
    let FetchedBody { final_url, content_type, text, validators, .. } = body;
    let (url, extracted) = crate::cpu::run("extraction", move || {
        let extracted = if content_type.contains("html") {
            extract::extract_html_as(&text, &final_url, profile)
        } else {
            extract::extract_text(&text)
        };
        (final_url, extracted)
    })
    .await?;
    Ok(Page {
        url,
        source_id,
        title: extracted.title,
        markdown: extracted.markdown,
        links: extracted.links,
        validators,
    })
}
