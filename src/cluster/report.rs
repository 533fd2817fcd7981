//! A distributed crawl's report, from its ledger tally: the same shape a one-process crawl
//! returns, so clients cannot tell where it ran.

use std::collections::BTreeSet;

use url::Url;

use crate::crawl::site::{CrawlReport, CrawlRequest, PageFailure, classify_target};
use crate::domain::{SourceId, target};
use crate::error::{Error, Result};
use crate::ports::LedgerTally;

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn listed(pairs: &[(String, String)]) -> Vec<PageFailure> {
    pairs.iter().map(|(url, error)| PageFailure { url: url.clone(), error: error.clone() }).collect()
}

/// # Errors
/// `BadInput` when the request's URL no longer parses (it did when the crawl started).
pub(super) fn crawl_report(request: &CrawlRequest, tally: &LedgerTally) -> Result<CrawlReport> {
    let start = target::parse_target(&request.url).map_err(Error::BadInput)?;
    let mut report = CrawlReport::new(start.to_string(), classify_target(&start));
    report.pages_crawled = count(tally.stored + tally.unchanged);
    report.pages_unchanged = count(tally.unchanged);
    report.pages_pruned = count(tally.pruned);
    report.chunks_stored = count(tally.chunks);
    report.code_examples_stored = count(tally.code_examples);
    report.entities_stored = count(tally.entities);
    report.relations_stored = count(tally.relations);
    report.words_stored = count(tally.words);
    report.graph_millis = tally.graph_millis;
    report.urls_crawled.clone_from(&tally.urls);
    report.sources_updated = tally
        .urls
        .iter()
        .filter_map(|url| Url::parse(url).ok())
        .filter_map(|url| SourceId::from_url(&url).map(|id| id.to_string()))
        .collect::<BTreeSet<_>>();
    report.failed = listed(&tally.failures);
    report.pages_failed = count(tally.failed + tally.gone);
    report.skipped = listed(&tally.skips);
    report.pages_skipped = count(tally.skipped + tally.over_budget);
    if tally.over_budget > 0 {
        report.skipped.push(PageFailure {
            url: request.url.clone(),
            error: format!(
                "page budget reached: {} more pages were queued (max_pages = {})",
                tally.over_budget, request.max_pages
            ),
        });
    }
    Ok(report)
}

/// The error of a crawl that stored nothing and failed somewhere (as a one-process crawl answers).
pub(super) fn nothing_crawled(report: &CrawlReport) -> Option<String> {
    if report.pages_crawled > 0 || report.pages_failed == 0 {
        return None;
    }
    let first = report.failed.first()?;
    Some(format!("nothing could be crawled from {}: {}", first.url, first.error))
}
