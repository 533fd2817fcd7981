//! robots.txt for a distributed crawl: fetched by the first worker that needs an origin's rules,
//! kept in the ledger (first writer wins), and read from there by every other worker, so all of a
//! crawl's workers follow one copy.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::warn;
use url::Url;

use crate::crawl::Crawler;
use crate::crawl::robots::Robots;
use crate::crawl::site::RobotsBook;
use crate::ports::CrawlLedger;

#[derive(Debug)]
pub(super) struct LedgerRobots {
    job_id: String,
    ledger: Arc<dyn CrawlLedger>,
    by_origin: tokio::sync::Mutex<HashMap<String, Arc<Robots>>>,
}

impl LedgerRobots {
    pub(super) fn new(job_id: &str, ledger: Arc<dyn CrawlLedger>) -> Self {
        Self { job_id: job_id.to_owned(), ledger, by_origin: tokio::sync::Mutex::default() }
    }

    async fn text(&self, crawler: &Crawler, origin: &str) -> String {
        match self.ledger.robots(&self.job_id, origin).await {
            Ok(Some(kept)) => return kept,
            Ok(None) => {}
            Err(e) => warn!(origin, error = %e, "could not read the crawl's robots.txt; fetching it"),
        }
        let fetched = crawler.robots_text(origin).await;
        match self.ledger.keep_robots(&self.job_id, origin, &fetched).await {
            Ok(kept) => kept,
            Err(e) => {
                warn!(origin, error = %e, "could not keep robots.txt for the crawl");
                fetched
            }
        }
    }
}

#[async_trait::async_trait]
impl RobotsBook for LedgerRobots {
    async fn rules_for(&self, crawler: &Crawler, url: &Url) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        // Held across the fetch so one process fetches an origin once.
        let mut by_origin = self.by_origin.lock().await;
        if let Some(rules) = by_origin.get(&origin) {
            return Arc::clone(rules);
        }
        let rules = Arc::new(crawler.robots_rules(&self.text(crawler, &origin).await));
        by_origin.insert(origin, Arc::clone(&rules));
        rules
    }
}
