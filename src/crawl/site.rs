//! `smart_crawl_url`: detect the target (sitemap, text/Markdown file, or web page), build a
//! frontier, and stream pages through fetch -> extract -> ingest with bounded concurrency.
//!
//! # Architecture
//! Two loops run joined in one task: the fetch loop keeps up to `max_concurrent` fetches in flight
//! (`FuturesUnordered`), each behind the per-host `HostPool` and robots.txt, and sends extracted
//! pages into a bounded channel; the ingest loop embeds and stores them one by one. The channel
//! bound makes fetching wait for ingestion, so memory stays flat however large the site is.
//! Dropping the future (client cancellation) stops both loops and every in-flight request.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{debug, info, instrument, warn};
use url::Url;

use super::hosts::{HostPool, HostTurns};
use super::robots::Robots;
use super::sitemap::{self, Sitemap};
use super::url::{Scope, ScopeRule, glob_match, normalize, trap_reason};
use super::{Crawler, PagePlan, Render, to_page};
use crate::domain::{GraphExtraction, IngestOptions, IngestReport, JobProgress, Page, Validators, target};
use crate::error::{Error, Result};
use crate::ports::{Accept, FetchError, Fetched, RenderOptions};
use crate::progress::{NoProgress, ProgressSink};

pub const DEFAULT_MAX_DEPTH: usize = 3;
pub const DEFAULT_MAX_CONCURRENT: usize = 10;
pub const DEFAULT_MAX_PAGES: usize = 500;
pub const MAX_PAGES_LIMIT: usize = 100_000;
/// Results list at most this many URLs (the counts stay exact).
pub const LISTED_URLS: usize = 100;
const MAX_ATTEMPTS: u32 = 3;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
use crate::domain::defaults::MAX_QUERY_VARIANTS_PER_PATH as MAX_QUERIES_PER_PATH;
const MAX_SITEMAPS: usize = 100;
const MAX_SITEMAP_NESTING: usize = 3;

/// A whole-site crawl as the tools describe it: plain data, so it can travel in a job spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrawlRequest {
    pub url: String,
    /// Link levels: 1 = only the start page (the anchor's meaning).
    pub max_depth: usize,
    pub max_concurrent: usize,
    pub max_pages: usize,
    pub chunk_size: Option<usize>,
    pub scope: Scope,
    /// Only URLs matching one of these globs are crawled (empty: all).
    pub include: Vec<String>,
    /// URLs matching any of these globs are skipped.
    pub exclude: Vec<String>,
    pub render: Render,
    /// Browser behaviour for rendered pages (stealth crawls, selector waits).
    pub browser: RenderOptions,
    /// Embed and store pages (the default). Off: fetch, extract and chunk only (dry runs, and the
    /// crawl benchmark's "without indexing" figures); `chunks_stored` then counts the chunks
    /// that would have been stored.
    pub index: bool,
    /// Extract entities and relations into the graph; `None`: as configured (`USE_GRAPHRAG`).
    #[serde(default)]
    pub graph: Option<GraphExtraction>,
}

impl CrawlRequest {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_depth: DEFAULT_MAX_DEPTH,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_pages: DEFAULT_MAX_PAGES,
            chunk_size: None,
            scope: Scope::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            render: Render::Auto,
            browser: RenderOptions::default(),
            index: true,
            graph: None,
        }
    }
}

/// What kind of target was crawled (the anchor's `crawl_type` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrawlType {
    Sitemap,
    TxtFile,
    Webpage,
}

/// A page that was not stored, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageFailure {
    pub url: String,
    pub error: String,
}

/// The outcome of a crawl: counts, what was stored, and every page left out with its reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrawlReport {
    pub url: String,
    pub crawl_type: CrawlType,
    pub pages_crawled: usize,
    /// Pages whose content had not changed since the last crawl (not re-embedded).
    pub pages_unchanged: usize,
    /// Stored pages removed because the site now answers 404/410 for them.
    pub pages_pruned: usize,
    pub chunks_stored: usize,
    pub code_examples_stored: usize,
    /// Entities written to the graph, summed over pages (an entity on two pages counts twice).
    #[serde(default)]
    pub entities_stored: usize,
    /// Relations written to the graph, summed over pages.
    #[serde(default)]
    pub relations_stored: usize,
    /// Words of the pages stored.
    #[serde(default)]
    pub words_stored: usize,
    /// Time spent extracting and writing graphs, summed over pages.
    #[serde(default)]
    pub graph_millis: u64,
    pub sources_updated: BTreeSet<String>,
    pub urls_crawled: Vec<String>,
    pub failed: Vec<PageFailure>,
    /// Pages not fetched on purpose: robots.txt, trap patterns, budget, other hosts.
    pub skipped: Vec<PageFailure>,
    pub pages_failed: usize,
    pub pages_skipped: usize,
}

impl CrawlReport {
    pub(crate) fn new(url: String, crawl_type: CrawlType) -> Self {
        Self {
            url,
            crawl_type,
            pages_crawled: 0,
            pages_unchanged: 0,
            pages_pruned: 0,
            chunks_stored: 0,
            code_examples_stored: 0,
            entities_stored: 0,
            relations_stored: 0,
            words_stored: 0,
            graph_millis: 0,
            sources_updated: BTreeSet::new(),
            urls_crawled: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            pages_failed: 0,
            pages_skipped: 0,
        }
    }

    /// The running totals as a job reports them.
    pub fn tally(&self) -> JobProgress {
        JobProgress {
            pages_done: self.pages_crawled as u64,
            pages_queued: 0,
            pages_failed: self.pages_failed as u64,
            chunks_stored: self.chunks_stored as u64,
        }
    }

    fn fail(&mut self, url: &str, error: String) {
        metrics::counter!("crawlrag_pages_total", "outcome" => "failed").increment(1);
        self.pages_failed += 1;
        if self.failed.len() < LISTED_URLS {
            self.failed.push(PageFailure { url: url.to_owned(), error });
        }
    }

    fn skip(&mut self, url: &str, reason: String) {
        metrics::counter!("crawlrag_pages_total", "outcome" => "skipped").increment(1);
        self.pages_skipped += 1;
        if self.skipped.len() < LISTED_URLS {
            self.skipped.push(PageFailure { url: url.to_owned(), error: reason });
        }
    }
}

pub(crate) fn classify_target(url: &Url) -> CrawlType {
    let path = url.path().to_ascii_lowercase();
    if path.ends_with(".xml") || path.ends_with(".xml.gz") || path.contains("sitemap") {
        CrawlType::Sitemap
    } else if path.ends_with(".txt") || path.ends_with(".md") || path.ends_with(".markdown") {
        CrawlType::TxtFile
    } else {
        CrawlType::Webpage
    }
}

/// Which links a crawl follows: scope, include/exclude patterns and trap shapes. Pure rules, no
/// memory of what was seen (the frontier, or a distributed crawl's ledger, dedupes).
#[derive(Debug, Clone)]
pub(crate) struct LinkRules {
    scope: ScopeRule,
    include: Vec<String>,
    exclude: Vec<String>,
}

/// A URL as the rules see it.
pub(crate) enum Screened {
    /// Follow it (normalised).
    Follow(Url),
    OutOfScope,
    Skipped(String),
}

impl LinkRules {
    pub(crate) fn new(start: &Url, request: &CrawlRequest) -> Self {
        Self {
            scope: ScopeRule::new(start, request.scope),
            include: request.include.clone(),
            exclude: request.exclude.clone(),
        }
    }

    /// Sitemap pages are crawled as listed; the prefix scope would drop legitimate pages, so only
    /// the host must match.
    pub(crate) fn for_sitemap(mut self, start: &Url) -> Self {
        self.scope = ScopeRule::new(start, Scope::Host);
        self
    }

    pub(crate) fn screen(&self, url: &Url) -> Screened {
        let key = normalize(url);
        if !self.scope.allows(&key) {
            return Screened::OutOfScope;
        }
        let text = key.as_str();
        if !self.include.is_empty() && !self.include.iter().any(|p| glob_match(p, text)) {
            return Screened::Skipped("does not match include_patterns".into());
        }
        if let Some(pattern) = self.exclude.iter().find(|p| glob_match(p, text)) {
            return Screened::Skipped(format!("matches exclude pattern '{pattern}'"));
        }
        if let Some(reason) = trap_reason(&key) {
            return Screened::Skipped(format!("crawler trap: {reason}"));
        }
        Screened::Follow(key)
    }
}

/// Counts query-string variants per path: past [`MAX_QUERIES_PER_PATH`] a path is treated as a
/// generated space (calendars, faceted search).
#[derive(Debug, Default)]
pub(crate) struct QueryVariants(HashMap<String, usize>);

impl QueryVariants {
    /// Why `key` (normalised) is a trap, if its path has had too many query variants.
    pub(crate) fn too_many(&mut self, key: &Url) -> Option<String> {
        key.query()?;
        let path_key = format!("{}{}", key.host_str().unwrap_or_default(), key.path());
        let count = self.0.entry(path_key).or_default();
        *count += 1;
        (*count > MAX_QUERIES_PER_PATH)
            .then(|| format!("crawler trap: more than {MAX_QUERIES_PER_PATH} query variants of {}", key.path()))
    }
}

/// Breadth-first frontier with dedupe on normalised URLs, the link rules and trap detection.
struct Frontier {
    queue: VecDeque<(Url, usize)>,
    seen: HashSet<String>,
    queries: QueryVariants,
    rules: LinkRules,
}

enum Offer {
    Queued,
    Duplicate,
    OutOfScope,
    Skipped(String),
}

impl Frontier {
    fn new(start: &Url, request: &CrawlRequest) -> Self {
        Self {
            queue: VecDeque::new(),
            seen: HashSet::new(),
            queries: QueryVariants::default(),
            rules: LinkRules::new(start, request),
        }
    }

    fn offer(&mut self, url: Url, depth: usize) -> Offer {
        if !self.seen.insert(normalize(&url).to_string()) {
            return Offer::Duplicate;
        }
        let key = match self.rules.screen(&url) {
            Screened::Follow(key) => key,
            Screened::OutOfScope => return Offer::OutOfScope,
            Screened::Skipped(reason) => return Offer::Skipped(reason),
        };
        if let Some(reason) = self.queries.too_many(&key) {
            return Offer::Skipped(reason);
        }
        self.queue.push_back((key, depth));
        Offer::Queued
    }
}

/// Where a crawl gets robots.txt rules: fetched once per origin and kept for the crawl.
#[async_trait::async_trait]
pub(crate) trait RobotsBook: Send + Sync {
    async fn rules_for(&self, crawler: &Crawler, url: &Url) -> Arc<Robots>;
}

/// Per-crawl robots.txt cache in this process, one entry per `scheme://host:port`.
struct RobotsCache {
    by_origin: tokio::sync::Mutex<HashMap<String, Arc<Robots>>>,
}

#[async_trait::async_trait]
impl RobotsBook for RobotsCache {
    async fn rules_for(&self, crawler: &Crawler, url: &Url) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        let mut by_origin = self.by_origin.lock().await;
        if let Some(rules) = by_origin.get(&origin) {
            return Arc::clone(rules);
        }
        let rules = Arc::new(crawler.robots_rules(&crawler.robots_text(&origin).await));
        by_origin.insert(origin, Arc::clone(&rules));
        rules
    }
}

impl Crawler {
    /// Crawl a sitemap, a text file or a site, storing every page; see the module docs.
    ///
    /// # Errors
    /// `BadInput` for an invalid start URL or options, or a start page/sitemap that cannot be
    /// read; `Unavailable` when the embedder or database fails. Single pages failing are values
    /// in the report, not errors.
    pub async fn smart_crawl(&self, request: &CrawlRequest, progress: &dyn ProgressSink) -> Result<CrawlReport> {
        self.smart_crawl_limited(request, None, progress).await
    }

    /// [`Crawler::smart_crawl`] whose fetches in flight follow the live `limit` (at most
    /// `max_concurrent`); memory-aware crawls lower it while the crawl runs.
    ///
    /// # Errors
    /// As [`Crawler::smart_crawl`].
    #[instrument(skip(self, request, limit, progress), fields(url = %request.url, max_pages = request.max_pages))]
    pub async fn smart_crawl_limited(
        &self,
        request: &CrawlRequest,
        limit: Option<&AtomicUsize>,
        progress: &dyn ProgressSink,
    ) -> Result<CrawlReport> {
        let start = target::parse_target(&request.url).map_err(Error::BadInput)?;
        validate(request)?;
        let crawl_type = classify_target(&start);
        let mut report = CrawlReport::new(start.to_string(), crawl_type);
        let mut frontier = Frontier::new(&start, request);
        let robots = RobotsCache { by_origin: tokio::sync::Mutex::new(HashMap::new()) };
        match crawl_type {
            CrawlType::Sitemap => {
                let urls = self.sitemap_urls(&start, request.max_pages, &mut report).await?;
                frontier.rules = frontier.rules.for_sitemap(&start);
                for url in urls {
                    match frontier.offer(url.clone(), request.max_depth) {
                        Offer::Queued | Offer::Duplicate => {}
                        Offer::OutOfScope => report.skip(url.as_str(), "listed by a sitemap on another host".into()),
                        Offer::Skipped(reason) => report.skip(url.as_str(), reason),
                    }
                }
            }
            CrawlType::TxtFile | CrawlType::Webpage => {
                frontier.queue.push_back((normalize(&start), 0));
                frontier.seen.insert(normalize(&start).to_string());
            }
        }
        let report = std::sync::Mutex::new(report);
        self.run(request, limit, frontier, &robots, &report, progress).await?;
        let mut report = report.into_inner().unwrap_or_else(PoisonError::into_inner);
        progress.tally(&report.tally()).await;
        if report.pages_crawled == 0
            && report.pages_failed > 0
            && let Some(first) = report.failed.first()
        {
            return Err(Error::bad_input(format!("nothing could be crawled from {}: {}", first.url, first.error)));
        }
        report.urls_crawled.truncate(LISTED_URLS);
        info!(pages = report.pages_crawled, failed = report.pages_failed, skipped = report.pages_skipped, "crawl done");
        Ok(report)
    }

    async fn run(
        &self,
        request: &CrawlRequest,
        live_limit: Option<&AtomicUsize>,
        mut frontier: Frontier,
        robots: &RobotsCache,
        report: &Mutex<CrawlReport>,
        progress: &dyn ProgressSink,
    ) -> Result<()> {
        let hosts = HostPool::new(self.config.per_host_concurrency);
        let (tx, mut rx) = mpsc::channel::<(Page, Option<Result<IngestReport>>)>(request.max_concurrent.max(2));
        let hosts = &hosts;
        // Pages queued or in flight in the fetch loop, for progress totals.
        let pending = AtomicUsize::new(0);
        let pending = &pending;
        let lock = || report.lock().unwrap_or_else(PoisonError::into_inner);
        let follow_links = matches!(lock().crawl_type, CrawlType::Webpage);
        let plan = &PagePlan { render: request.render, browser: request.browser.clone(), ..PagePlan::default() };

        let fetch_loop = async {
            let mut in_flight = FuturesUnordered::new();
            let mut scheduled = 0usize;
            loop {
                let limit = live_limit.map_or(request.max_concurrent, |c| c.load(Ordering::Relaxed));
                while in_flight.len() < limit.clamp(1, request.max_concurrent) && scheduled < request.max_pages {
                    let Some((url, depth)) = frontier.queue.pop_front() else { break };
                    scheduled += 1;
                    // A 304 gives no links, so only pages whose links will not be followed are
                    // fetched conditionally (sitemap and text targets, the last BFS level).
                    // The lookup runs here, not inside the future: futures parked in
                    // `in_flight` while this loop waits on the channel must not hold pooled
                    // database connections the ingest loop needs.
                    // An explicit graph extraction needs the body even when unchanged (the graph may be missing).
                    let conditional = request.chunk_size.is_none()
                        && request.graph.is_none()
                        && !(follow_links && depth + 1 < request.max_depth);
                    let known = if conditional { self.known_validators(&url).await? } else { Validators::default() };
                    in_flight.push(async move {
                        let fetched = self.fetch_polite(&url, plan, &known, hosts, robots).await;
                        // A dry run chunks here, in parallel, instead of in the one ingest loop.
                        let chunked = match &fetched {
                            Ok(PageFetch::Fetched(page)) if !request.index => {
                                Some(self.sink.chunk_page(page, request.chunk_size).await)
                            }
                            Ok(_) | Err(_) => None,
                        };
                        (fetched, chunked, url, depth)
                    });
                }
                pending.store(frontier.queue.len() + in_flight.len(), Ordering::Relaxed);
                let Some((outcome, chunked, url, depth)) = in_flight.next().await else { break };
                match outcome {
                    Ok(PageFetch::NotModified) => {
                        let mut r = lock();
                        r.pages_crawled += 1;
                        r.pages_unchanged += 1;
                        if r.urls_crawled.len() < LISTED_URLS {
                            r.urls_crawled.push(url.to_string());
                        }
                        if let Some(host) = crate::domain::SourceId::from_url(&url) {
                            r.sources_updated.insert(host.to_string());
                        }
                    }
                    Ok(PageFetch::Fetched(page)) => {
                        if follow_links && depth + 1 < request.max_depth {
                            let links = page
                                .links
                                .internal
                                .iter()
                                .chain(page.links.external.iter().filter(|_| request.scope == Scope::Domain));
                            for link in links.filter_map(|l| Url::parse(l).ok()) {
                                if let Offer::Skipped(reason) = frontier.offer(link.clone(), depth + 1) {
                                    lock().skip(link.as_str(), reason);
                                }
                            }
                        }
                        if tx.send((page, chunked)).await.is_err() {
                            break; // ingestion stopped on a fatal error
                        }
                    }
                    Err(PageError::Skipped(reason)) => lock().skip(url.as_str(), reason),
                    Err(PageError::Gone(error)) => {
                        // A page the site removed: drop what was stored for it, too.
                        let pruned = self.sink.page_gone(url.as_str()).await?;
                        let mut r = lock();
                        r.pages_pruned += usize::try_from(pruned).unwrap_or(usize::MAX);
                        r.fail(url.as_str(), error);
                    }
                    Err(PageError::Failed(error)) => lock().fail(url.as_str(), error),
                }
            }
            let unvisited = frontier.queue.len();
            if unvisited > 0 {
                let mut r = lock();
                r.skip(
                    request.url.as_str(),
                    format!(
                        "page budget reached: {unvisited} more pages were queued (max_pages = {})",
                        request.max_pages
                    ),
                );
                r.pages_skipped += unvisited - 1;
            }
            drop(tx);
            Ok::<_, Error>(())
        };

        let ingest_options = IngestOptions { chunk_size: request.chunk_size, graph: request.graph };
        let ingest_loop = async {
            let mut done = 0u64;
            while let Some((page, chunked)) = rx.recv().await {
                let stored = match chunked {
                    Some(chunked) => chunked,
                    None => self.sink.store_page(&page, &ingest_options, &NoProgress).await,
                };
                match stored {
                    Ok(stored) => {
                        let outcome = if stored.unchanged { "unchanged" } else { "stored" };
                        metrics::counter!("crawlrag_pages_total", "outcome" => outcome).increment(1);
                        metrics::counter!("crawlrag_chunks_stored_total").increment(stored.chunks_stored as u64);
                        let mut r = lock();
                        r.pages_crawled += 1;
                        r.pages_unchanged += usize::from(stored.unchanged);
                        r.chunks_stored += stored.chunks_stored;
                        r.code_examples_stored += stored.code_examples_stored;
                        r.entities_stored += stored.entities_stored;
                        r.relations_stored += stored.relations_stored;
                        r.graph_millis += stored.graph_millis;
                        if !stored.unchanged {
                            r.words_stored += stored.word_count;
                        }
                        r.sources_updated.insert(page.source_id.to_string());
                        if r.urls_crawled.len() < LISTED_URLS {
                            r.urls_crawled.push(page.url.to_string());
                        }
                    }
                    // The database or embedder is down: every further page would fail too.
                    Err(e @ (Error::Unavailable { .. } | Error::Internal(_))) => return Err(e),
                    Err(e) => lock().fail(page.url.as_str(), e.to_string()),
                }
                done += 1;
                let queued = (rx.len() + pending.load(Ordering::Relaxed)) as u64;
                progress.report(done, Some(done + queued), &format!("stored {}", page.url)).await;
                let tally = JobProgress { pages_queued: queued, ..lock().tally() };
                progress.tally(&tally).await;
            }
            Ok(())
        };
        let (fetched, ingested) = tokio::join!(fetch_loop, ingest_loop);
        fetched.and(ingested)
    }

    /// Fetch one page behind robots.txt, the host's politeness turn, and retries.
    pub(crate) async fn fetch_polite(
        &self,
        url: &Url,
        plan: &PagePlan,
        known: &Validators,
        hosts: &dyn HostTurns,
        robots: &dyn RobotsBook,
    ) -> Result<PageFetch, PageError> {
        let rules = robots.rules_for(self, url).await;
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        if !rules.allows(&path) {
            return Err(PageError::Skipped("disallowed by robots.txt".into()));
        }
        let delay = rules.crawl_delay.unwrap_or_default().max(self.config.min_host_delay);
        let host = format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let turn = hosts.turn(&host, delay).await;
            let fetched = self.fetch_page_if_changed(url, plan, known).await;
            drop(turn);
            match fetched {
                Ok(Fetched::NotModified) => return Ok(PageFetch::NotModified),
                Ok(Fetched::Body(body)) => {
                    let page = to_page(body, plan.profile).await.map_err(|e| PageError::Failed(e.to_string()))?;
                    if page.markdown.trim().is_empty() {
                        return Err(PageError::Failed("no text content could be extracted".into()));
                    }
                    return Ok(PageFetch::Fetched(page));
                }
                Err(err) => match retry_wait(&err, attempt) {
                    Some(wait) if attempt < MAX_ATTEMPTS => {
                        debug!(%url, attempt, ?wait, error = %err, "retrying");
                        tokio::time::sleep(wait).await;
                    }
                    _ if matches!(err, FetchError::Status { status: 404 | 410, .. }) => {
                        return Err(PageError::Gone(err.to_string()));
                    }
                    _ => return Err(PageError::Failed(err.to_string())),
                },
            }
        }
    }

    /// robots.txt of `origin` as the rules to follow: the file's text, a full disallow when the
    /// server fails (RFC 9309 §2.3.1.4), or nothing (allow all) when there is none.
    pub(crate) async fn robots_text(&self, origin: &str) -> String {
        let Ok(robots_url) = Url::parse(&format!("{origin}/robots.txt")) else { return String::new() };
        match self.fetcher.fetch(&robots_url, Accept::Raw).await {
            Ok(body) => String::from_utf8_lossy(&body.bytes).into_owned(),
            Err(FetchError::Status { status, .. }) if status >= 500 => {
                warn!(%origin, status, "robots.txt unavailable; treating the site as disallowed");
                "User-agent: *\nDisallow: /\n".to_owned()
            }
            Err(_) => String::new(),
        }
    }

    /// The rules of a robots.txt text for this crawler's user agent.
    pub(crate) fn robots_rules(&self, text: &str) -> Robots {
        Robots::parse(text, &self.config.user_agent)
    }

    /// Every page URL a sitemap (or sitemap index, followed recursively) lists, up to `budget`.
    pub(crate) async fn sitemap_urls(&self, start: &Url, budget: usize, report: &mut CrawlReport) -> Result<Vec<Url>> {
        let mut pending = VecDeque::from([(start.clone(), 0usize)]);
        let mut visited = HashSet::new();
        let mut pages = Vec::new();
        while let Some((sitemap_url, nesting)) = pending.pop_front() {
            if pages.len() >= budget || visited.len() >= MAX_SITEMAPS || !visited.insert(sitemap_url.to_string()) {
                continue;
            }
            let parsed = match self.fetcher.fetch(&sitemap_url, Accept::Raw).await {
                Ok(body) => sitemap::parse(&body.bytes, self.config.max_sitemap_bytes),
                Err(e) => Err(e.to_string()),
            };
            let entries = match parsed {
                Ok(entries) => entries,
                // The start sitemap itself must be readable; a broken child is one failure.
                Err(e) if nesting == 0 => return Err(Error::bad_input(format!("sitemap {sitemap_url}: {e}"))),
                Err(e) => {
                    report.fail(sitemap_url.as_str(), e);
                    continue;
                }
            };
            match entries {
                Sitemap::Pages(locs) => {
                    for loc in locs {
                        match sitemap_url.join(&loc) {
                            Ok(url) if matches!(url.scheme(), "http" | "https") => pages.push(url),
                            _ => report.fail(&loc, "invalid URL in sitemap".into()),
                        }
                    }
                }
                Sitemap::Index(children) if nesting < MAX_SITEMAP_NESTING => {
                    pending.extend(children.iter().filter_map(|c| sitemap_url.join(c).ok()).map(|u| (u, nesting + 1)));
                }
                Sitemap::Index(_) => report.fail(sitemap_url.as_str(), "sitemap indexes nested too deeply".into()),
            }
        }
        pages.truncate(budget);
        Ok(pages)
    }
}

pub(crate) enum PageError {
    Skipped(String),
    Failed(String),
    /// 404/410: the page no longer exists.
    Gone(String),
}

/// A page fetched, or confirmed unchanged by a 304.
#[expect(clippy::large_enum_variant, reason = "short-lived, one per in-flight fetch")]
pub(crate) enum PageFetch {
    Fetched(Page),
    NotModified,
}

pub(crate) fn validate(request: &CrawlRequest) -> Result<()> {
    if request.max_depth == 0 {
        return Err(Error::bad_input("max_depth must be at least 1 (1 = only the start page)"));
    }
    if !(1..=100).contains(&request.max_concurrent) {
        return Err(Error::bad_input(format!(
            "max_concurrent must be between 1 and 100, got {}",
            request.max_concurrent
        )));
    }
    if !(1..=MAX_PAGES_LIMIT).contains(&request.max_pages) {
        return Err(Error::bad_input(format!(
            "max_pages must be between 1 and {MAX_PAGES_LIMIT}, got {}",
            request.max_pages
        )));
    }
    Ok(())
}

/// How long to wait before retrying, or `None` when retrying cannot help: only 429,
/// 500/502/503/504, timeouts and transport failures other than a failed connect are retried,
/// after the server's `Retry-After` (capped at `MAX_RETRY_WAIT`) or exponential backoff + jitter.
fn retry_wait(err: &FetchError, attempt: u32) -> Option<Duration> {
    let backoff = || {
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_millis() % 200)
            .unwrap_or(0);
        Duration::from_millis(300 * 2u64.pow(attempt.saturating_sub(1)) + u64::from(jitter))
    };
    match err {
        FetchError::Status { status: 429 | 500 | 502 | 503 | 504, retry_after, .. } => {
            Some(retry_after.map_or_else(backoff, |wait| wait.min(MAX_RETRY_WAIT)))
        }
        FetchError::Timeout(..) | FetchError::Other { .. } => Some(backoff()),
        FetchError::Status { .. }
        | FetchError::InvalidUrl { .. }
        | FetchError::Blocked { .. }
        | FetchError::Unreachable { .. }
        | FetchError::RedirectLoop(_)
        | FetchError::TooManyRedirects { .. }
        | FetchError::UnsupportedContentType { .. }
        | FetchError::TooLarge { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_classified_by_path() {
        let t = |s: &str| classify_target(&Url::parse(s).unwrap());
        assert_eq!(t("https://x.y/sitemap.xml"), CrawlType::Sitemap);
        assert_eq!(t("https://x.y/sitemaps/docs.xml.gz"), CrawlType::Sitemap);
        assert_eq!(t("https://x.y/llms.txt"), CrawlType::TxtFile);
        assert_eq!(t("https://x.y/README.md"), CrawlType::TxtFile);
        assert_eq!(t("https://x.y/docs/"), CrawlType::Webpage);
    }

    #[test]
    fn retries_only_what_can_succeed_later() {
        let status = |status, retry_after| FetchError::Status { url: "u".into(), status, retry_after };
        assert_eq!(retry_wait(&status(429, Some(Duration::from_secs(2))), 1), Some(Duration::from_secs(2)));
        assert_eq!(retry_wait(&status(503, Some(Duration::from_secs(600))), 1), Some(MAX_RETRY_WAIT));
        assert!(retry_wait(&status(500, None), 1).is_some());
        assert!(retry_wait(&status(404, None), 1).is_none());
        assert!(retry_wait(&FetchError::RedirectLoop("u".into()), 1).is_none());
    }
}
